/* polylab workload in C (contract 1, see langs/README.md). C11 + POSIX, no libraries beyond libc/pthreads.
 *
 *   workload --workload {sum,sum-print} --mode {threads,processes} --workers N
 *            (--n COUNT | --seconds S) --result PATH
 *
 * threads:   N pthreads in this process.
 * processes: N children made with fork(). Other compiled languages re-execute themselves because their
 *            runtimes cannot fork safely; in C fork() is the native way to start a worker process: the
 *            child begins with the parsed arguments already in memory, shares nothing with its siblings
 *            once it runs (copy-on-write), and ends with _exit. Each child hands its worker entry back over
 *            its own pipe, since stdout (inherited) is reserved for the sums.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    bool print;            /* sum-print */
    bool threads;          /* threads mode (else processes) */
    long workers;
    bool by_count;         /* --n given (else --seconds) */
    int64_t n;
    double seconds;
    const char *result;
} Args;

/* One worker's outcome: a row of the result file's workers[]. Children send it raw through their pipe. */
typedef struct {
    long index;
    long pid;
    int64_t iterations;
    int64_t sum;
    double elapsed_s;
    int failed;            /* stdout could not be written */
} Worker;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    fputs("workload: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---------------------------------------------------------------------------------------------------------
 * The work loop */

/* One iteration: s += i, and the partial sum printed in sum-print. Returns false when stdout failed. */
static inline bool step(uint64_t *s, uint64_t i, bool print) {
    *s += i;
    /* An empty asm that claims to change s: the compiler must keep s as a real value each iteration, so it
     * can neither fold the loop into n(n-1)/2 nor vectorise it. It emits no instruction. */
    __asm__ volatile("" : "+r"(*s));
    /* The idiomatic printf. stdout is line-buffered (set in main), so each line leaves in one write(2) when
     * its '\n' is reached, and the stdio lock serialises threads: lines never tear. */
    return !print || printf("%" PRId64 "\n", (int64_t)*s) >= 0;
}

static void work(const Args *args, long index, Worker *out) {
    /* uint64_t arithmetic wraps by definition (signed overflow would be undefined behaviour); the value is
     * converted to int64_t two's complement at the end, as the contract asks. */
    uint64_t s = 0, i = 0;
    bool ok = true;
    const bool print = args->print;
    const double start = now_s();
    if (args->by_count) {
        for (const uint64_t n = (uint64_t)args->n; i < n; i++)
            if (!step(&s, i, print)) { ok = false; i++; break; }
    } else {
        for (const double seconds = args->seconds;; i++) {
            /* the clock is read only every 4096 iterations so that it does not dominate the loop */
            if ((i & 4095) == 0 && now_s() - start >= seconds) break;
            if (!step(&s, i, print)) { ok = false; i++; break; }
        }
    }
    *out = (Worker){.index = index, .pid = (long)getpid(), .iterations = (int64_t)i, .sum = (int64_t)s,
                    .elapsed_s = now_s() - start, .failed = !ok};
}

/* ---------------------------------------------------------------------------------------------------------
 * threads */

typedef struct {
    const Args *args;
    long index;
    Worker result;
} Job;

static void *thread_main(void *arg) {
    Job *job = arg;
    work(job->args, job->index, &job->result);
    return NULL;
}

static void run_threads(const Args *args, Worker *workers) {
    Job *jobs = calloc((size_t)args->workers, sizeof *jobs);
    pthread_t *ids = calloc((size_t)args->workers, sizeof *ids);
    if (!jobs || !ids) die("out of memory");
    for (long k = 0; k < args->workers; k++) {
        jobs[k] = (Job){.args = args, .index = k};
        int err = pthread_create(&ids[k], NULL, thread_main, &jobs[k]);
        if (err) die("starting worker %ld: %s", k, strerror(err)); /* exit ends the started threads too */
    }
    for (long k = 0; k < args->workers; k++) {
        pthread_join(ids[k], NULL);
        workers[k] = jobs[k].result;
    }
    free(jobs);
    free(ids);
}

/* ---------------------------------------------------------------------------------------------------------
 * processes */

static int write_all(int fd, const void *data, size_t size) {
    for (const char *p = data; size > 0;) {
        ssize_t done = write(fd, p, size);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return -1;
        p += done;
        size -= (size_t)done;
    }
    return 0;
}

/* Reads exactly size bytes; 0 on success, -1 on error or early end of file (the child died). */
static int read_all(int fd, void *data, size_t size) {
    for (char *p = data; size > 0;) {
        ssize_t done = read(fd, p, size);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return -1;
        p += done;
        size -= (size_t)done;
    }
    return 0;
}

static void run_processes(const Args *args, Worker *workers) {
    pid_t *pids = calloc((size_t)args->workers, sizeof *pids);
    int *pipes = calloc((size_t)args->workers, sizeof *pipes);
    if (!pids || !pipes) die("out of memory");
    fflush(NULL); /* nothing is buffered yet, but a child must never flush a copy of the parent's buffers */
    for (long k = 0; k < args->workers; k++) {
        int fds[2];
        pid_t pid = -1;
        int err = 0;
        if (pipe(fds) != 0) {
            err = errno;
        } else if ((pid = fork()) < 0) {
            err = errno;
            close(fds[0]);
            close(fds[1]);
        }
        if (pid < 0) {
            for (long j = 0; j < k; j++) kill(pids[j], SIGKILL); /* leave no started child behind */
            for (long j = 0; j < k; j++) waitpid(pids[j], NULL, 0);
            die("starting worker %ld: %s", k, strerror(err));
        }
        if (pid == 0) {
            close(fds[0]);
            Worker w;
            work(args, k, &w);
            int status = w.failed ? 1 : 0;
            if (write_all(fds[1], &w, sizeof w) != 0) status = 1;
            if (fflush(stdout) != 0) status = 1;
            _exit(status); /* _exit: the parent's atexit handlers and stdio state are not the child's */
        }
        /* Closed before the next fork, so that later children do not hold this pipe open: the parent
         * then sees end of file on it when child k exits. */
        close(fds[1]);
        pids[k] = pid;
        pipes[k] = fds[0];
    }
    /* Wait for every child before judging, so that none outlives us. */
    int failed = 0;
    for (long k = 0; k < args->workers; k++) {
        bool received = read_all(pipes[k], &workers[k], sizeof workers[k]) == 0;
        close(pipes[k]);
        int status;
        while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR) {}
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) || !received) {
            fprintf(stderr, "workload: worker %ld (pid %ld) failed (wait status %d)\n", k, (long)pids[k], status);
            failed++;
        }
    }
    free(pids);
    free(pipes);
    if (failed) die("%d worker(s) failed", failed);
}

/* ---------------------------------------------------------------------------------------------------------
 * The result file */

/* The shortest %g text that reads back as the same double, so 0.3 is written "0.3", not 0.29999999999999999. */
static void format_double(char *text, size_t size, double value) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, size, "%.*g", digits, value);
        if (strtod(text, NULL) == value) return;
    }
}

static void write_result(const Args *args, const Worker *workers, double elapsed) {
    /* Written to a temporary file in the same directory and renamed, so readers never see half a file. */
    char *dir_copy = strdup(args->result);
    size_t size = strlen(args->result) + 32;
    char *tmp = malloc(size);
    if (!dir_copy || !tmp) die("out of memory");
    snprintf(tmp, size, "%s/.result-XXXXXX", dirname(dir_copy));
    int fd = mkstemp(tmp);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) die("writing %s: %s", args->result, strerror(errno));

    char n[32] = "null", seconds[32] = "null", elapsed_text[32];
    if (args->by_count) snprintf(n, sizeof n, "%" PRId64, args->n);
    else format_double(seconds, sizeof seconds, args->seconds);
    format_double(elapsed_text, sizeof elapsed_text, elapsed);
    fprintf(f, "{\n  \"contract\": 1,\n  \"lang\": \"c\",\n");
    fprintf(f, "  \"runtime\": {\"name\": \"gcc\", \"version\": \"%s\"},\n", __VERSION__);
    fprintf(f, "  \"args\": {\"workload\": \"%s\", \"mode\": \"%s\", \"workers\": %ld, \"n\": %s, \"seconds\": %s},\n",
            args->print ? "sum-print" : "sum", args->threads ? "threads" : "processes", args->workers, n, seconds);
    fprintf(f, "  \"workers\": [\n");
    for (long k = 0; k < args->workers; k++) {
        char worker_elapsed[32];
        format_double(worker_elapsed, sizeof worker_elapsed, workers[k].elapsed_s);
        fprintf(f, "    {\"index\": %ld, \"pid\": %ld, \"iterations\": %" PRId64 ", \"sum\": %" PRId64
                   ", \"elapsed_s\": %s}%s\n",
                workers[k].index, workers[k].pid, workers[k].iterations, workers[k].sum, worker_elapsed,
                k + 1 < args->workers ? "," : "");
    }
    fprintf(f, "  ],\n  \"elapsed_s\": %s\n}\n", elapsed_text);
    if (fclose(f) != 0 || rename(tmp, args->result) != 0) {
        int err = errno;
        unlink(tmp);
        die("writing %s: %s", args->result, strerror(err));
    }
    free(tmp);
    free(dir_copy);
}

/* ---------------------------------------------------------------------------------------------------------
 * Command line, parsed by hand: "--flag value" pairs in any order */

static void usage_error(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    fputs("workload: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static long long integer(const char *flag, const char *text, long long min, long long max) {
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || end == text || *end || value < min || value > max)
        usage_error("%s must be an integer from %lld to %lld, not %s", flag, min, max, text);
    return value;
}

static Args parse(int argc, char **argv) {
    static const char *const flags[] = {"--workload", "--mode", "--workers", "--n", "--seconds", "--result"};
    enum { WORKLOAD, MODE, WORKERS, N, SECONDS, RESULT, FLAG_COUNT };
    const char *values[FLAG_COUNT] = {0};
    for (int i = 1; i < argc; i += 2) {
        int slot = 0;
        while (slot < FLAG_COUNT && strcmp(argv[i], flags[slot]) != 0) slot++;
        if (slot == FLAG_COUNT) usage_error("unknown argument %s", argv[i]);
        if (i + 1 >= argc) usage_error("%s needs a value", argv[i]);
        if (values[slot]) usage_error("%s given twice", argv[i]);
        values[slot] = argv[i + 1];
    }
    for (int slot = 0; slot < FLAG_COUNT; slot++)
        if (!values[slot] && slot != N && slot != SECONDS) usage_error("%s is required", flags[slot]);

    Args args = {0};
    if (strcmp(values[WORKLOAD], "sum") && strcmp(values[WORKLOAD], "sum-print"))
        usage_error("--workload must be sum or sum-print, not %s", values[WORKLOAD]);
    args.print = strcmp(values[WORKLOAD], "sum-print") == 0;
    if (strcmp(values[MODE], "threads") && strcmp(values[MODE], "processes"))
        usage_error("--mode must be threads or processes, not %s", values[MODE]);
    args.threads = strcmp(values[MODE], "threads") == 0;
    args.workers = (long)integer("--workers", values[WORKERS], 1, 100000);
    if (!values[N] == !values[SECONDS]) usage_error("exactly one of --n and --seconds is required");
    args.by_count = values[N] != NULL;
    if (args.by_count) {
        args.n = (int64_t)integer("--n", values[N], 0, INT64_MAX);
    } else {
        char *end;
        args.seconds = strtod(values[SECONDS], &end);
        if (end == values[SECONDS] || *end || !isfinite(args.seconds) || args.seconds < 0)
            usage_error("--seconds must be a finite number >= 0, not %s", values[SECONDS]);
    }
    if (!*values[RESULT]) usage_error("--result must not be empty");
    args.result = values[RESULT];
    return args;
}

int main(int argc, char **argv) {
    Args args = parse(argc, argv);
    /* Line-buffered even on a pipe or file (where stdio would otherwise write 4 KiB blocks that split lines
     * across writes): one write(2) per line, the naive print the lab measures. */
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);

    Worker *workers = calloc((size_t)args.workers, sizeof *workers);
    if (!workers) die("out of memory");
    const double start = now_s();
    if (args.threads) run_threads(&args, workers);
    else run_processes(&args, workers);
    const double elapsed = now_s() - start;

    if (fflush(stdout) != 0 || ferror(stdout)) die("error writing to stdout");
    for (long k = 0; k < args.workers; k++)
        if (workers[k].failed) die("worker %ld could not write to stdout", k);
    write_result(&args, workers, elapsed);
    free(workers);
    return 0;
}
