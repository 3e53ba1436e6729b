/* polylab workload in C (contract 2, see langs/README.md). C11 + POSIX, no libraries beyond libc/pthreads.
 *
 *   workload --workload {sum,sum-print,pingpong,contended,io,native,crash} --mode {threads,processes,pool}
 *            --workers N (--n COUNT | --seconds S) --result PATH
 *
 * This file is the parent: arguments, starting and gathering the workers, the result file. The workers' loops
 * are in work.c, the SHA-256 of the native workload in sha256.c, pool mode's threads in pool.c.
 *
 * threads:   N pthreads in this process.
 * processes: N children made with fork(). Other compiled languages re-execute themselves because their
 *            runtimes cannot fork safely; in C fork() is the native way to start a worker process: the
 *            child begins with the parsed arguments already in memory, shares nothing with its siblings
 *            once it runs (copy-on-write), and ends with _exit. Each child hands its worker entry back over
 *            its own pipe, since stdout (inherited) is reserved for the sums. pingpong's ring is N more
 *            pipes, made before the first fork: child k reads pipe k and writes pipe k+1.
 * pool:      N tasks (sum and io only) on a fixed pool of one pthread per usable CPU (pool.c).
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

#include "pool.h"
#include "sha256.h"
#include "work.h"

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
 * threads */

typedef struct {
    Context context;
    Worker *out;
} Job;

static void *thread_main(void *job) {
    work(&((Job *)job)->context, ((Job *)job)->out);
    return NULL;
}

static void run_threads(const Args *args, Worker *workers, int64_t *counter) {
    Job *jobs = calloc((size_t)args->workers, sizeof *jobs);
    pthread_t *ids = calloc((size_t)args->workers, sizeof *ids);
    Slot *slots = calloc((size_t)args->workers, sizeof *slots);
    Counter shared = {.lock = PTHREAD_MUTEX_INITIALIZER};
    if (!jobs || !ids || !slots) die("out of memory");
    for (long k = 0; k < args->workers; k++)
        slots[k] = (Slot){.lock = PTHREAD_MUTEX_INITIALIZER, .filled = PTHREAD_COND_INITIALIZER};
    for (long k = 0; k < args->workers; k++) {
        /* Each thread writes only its own entry; pthread_join makes the write visible here. */
        jobs[k] = (Job){{.args = args, .index = k, .slots = slots, .counter = &shared}, &workers[k]};
        int err = pthread_create(&ids[k], NULL, thread_main, &jobs[k]);
        if (err) die("starting worker %ld: %s", k, strerror(err)); /* exit ends the started threads too */
    }
    for (long k = 0; k < args->workers; k++) pthread_join(ids[k], NULL);
    *counter = shared.value;
    free(jobs);
    free(ids);
    free(slots);
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

static void close_all(int (*fds)[2], long count) {
    for (long k = 0; k < count; k++) {
        close(fds[k][0]);
        close(fds[k][1]);
    }
}

/* The child of worker k: run it, send its entry, exit. */
static void child(const Args *args, long k, int (*ring)[2], long ring_size, int result_fd) {
    Context context = {.args = args, .index = k, .receive_fd = -1, .pass_fd = -1};
    if (ring_size) {
        context.receive_fd = dup(ring[k][0]);
        context.pass_fd = dup(ring[(k + 1) % ring_size][1]);
        /* Only its own two ends stay open, so a neighbour's death reads as end of file or a broken pipe. */
        close_all(ring, ring_size);
    }
    Worker w;
    work(&context, &w);
    int status = w.failed ? 1 : 0;
    if (write_all(result_fd, &w, sizeof w) != 0) status = 1;
    if (fflush(stdout) != 0) status = 1;
    _exit(status); /* _exit: the parent's atexit handlers and stdio state are not the child's */
}

static void run_processes(const Args *args, Worker *workers) {
    pid_t *pids = calloc((size_t)args->workers, sizeof *pids);
    int *pipes = calloc((size_t)args->workers, sizeof *pipes);
    const long ring_size = args->workload == PINGPONG ? args->workers : 0;
    int (*ring)[2] = calloc((size_t)args->workers, sizeof *ring);
    if (!pids || !pipes || !ring) die("out of memory");
    for (long k = 0; k < ring_size; k++)
        if (pipe(ring[k]) != 0) die("making the pingpong ring: %s", strerror(errno));
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
            child(args, k, ring, ring_size, fds[1]);
        }
        /* Closed before the next fork, so that later children do not hold this pipe open: the parent
         * then sees end of file on it when child k exits. */
        close(fds[1]);
        pids[k] = pid;
        pipes[k] = fds[0];
    }
    close_all(ring, ring_size);
    /* Wait for every child before judging, so that none outlives us. */
    int failed = 0;
    for (long k = 0; k < args->workers; k++) {
        bool received = read_all(pipes[k], &workers[k], sizeof workers[k]) == 0;
        close(pipes[k]);
        int status;
        while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR) {}
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && received) continue;
        if (WIFSIGNALED(status))
            fprintf(stderr, "workload: worker %ld (pid %ld) was killed by signal %d (%s)\n", k, (long)pids[k],
                    WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            fprintf(stderr, "workload: worker %ld (pid %ld) failed (wait status %d)\n", k, (long)pids[k], status);
        if (args->workload == CRASH && k == 0) {   /* the failure the crash workload asks for: a finding */
            workers[k] = (Worker){.index = k, .pid = (long)pids[k], .finished = false};
        } else {
            failed++;
        }
    }
    free(pids);
    free(pipes);
    free(ring);
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

/* The keys after workers[]: pool's size, pingpong's final token, the contended counter, crash's outcome. */
static void write_extras(FILE *f, const Args *args, const Worker *workers, int64_t counter, long pool_threads) {
    if (args->mode == POOL) fprintf(f, "  \"pool_size\": %ld,\n", pool_threads);
    if (args->workload == PINGPONG) {
        long holder = 0;
        while (holder < args->workers && !workers[holder].holds_token) holder++;
        if (holder == args->workers) die("no worker saw the token's final value");
        fprintf(f, "  \"token\": %" PRId64 ",\n", workers[holder].token);
    } else if (args->workload == CONTENDED) {
        fprintf(f, "  \"counter\": %" PRId64 ",\n", counter);
    } else if (args->workload == CRASH) {
        fprintf(f, "  \"crash\": {\"worker\": 0, \"survived\": true},\n");   /* this process is writing it */
    }
}

static void write_result(const Args *args, const Worker *workers, int64_t counter, long pool_threads,
                         double elapsed) {
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
    fprintf(f, "{\n  \"contract\": 2,\n  \"lang\": \"c\",\n");
    fprintf(f, "  \"runtime\": {\"name\": \"gcc\", \"version\": \"%s\"},\n", __VERSION__);
    fprintf(f, "  \"args\": {\"workload\": \"%s\", \"mode\": \"%s\", \"workers\": %ld, \"n\": %s, \"seconds\": %s},\n",
            WORKLOAD_NAMES[args->workload], MODE_NAMES[args->mode], args->workers, n, seconds);
    fprintf(f, "  \"workers\": [\n");
    for (long k = 0; k < args->workers; k++) {
        const Worker *w = &workers[k];
        char worker_elapsed[32];
        format_double(worker_elapsed, sizeof worker_elapsed, w->elapsed_s);
        fprintf(f, "    {\"index\": %ld, \"pid\": %ld, \"iterations\": %" PRId64 ", \"sum\": %" PRId64
                   ", \"elapsed_s\": %s", w->index, w->pid, w->iterations, w->sum, worker_elapsed);
        if (args->workload == NATIVE) fprintf(f, ", \"digest\": \"%s\"", w->digest);
        if (args->workload == CRASH) fprintf(f, ", \"finished\": %s", w->finished ? "true" : "false");
        if (args->mode == POOL) {
            fprintf(f, ", \"tids\": [%ld", w->tids[0]);
            if (w->tid_count == 2) fprintf(f, ", %ld", w->tids[1]);
            fputc(']', f);
        }
        fprintf(f, "}%s\n", k + 1 < args->workers ? "," : "");
    }
    fprintf(f, "  ],\n");
    write_extras(f, args, workers, counter, pool_threads);
    fprintf(f, "  \"elapsed_s\": %s\n}\n", elapsed_text);
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
    while (args.workload < WORKLOAD_COUNT && strcmp(values[WORKLOAD], WORKLOAD_NAMES[args.workload]) != 0)
        args.workload++;
    if (args.workload == WORKLOAD_COUNT)
        usage_error("--workload must be one of sum, sum-print, pingpong, contended, io, native, crash, not %s",
                    values[WORKLOAD]);
    while (args.mode < MODE_COUNT && strcmp(values[MODE], MODE_NAMES[args.mode]) != 0) args.mode++;
    if (args.mode == MODE_COUNT) usage_error("--mode must be threads, processes or pool, not %s", values[MODE]);
    if (args.mode == POOL && args.workload != SUM && args.workload != IO)
        usage_error("--mode pool runs the sum and io workloads only, not %s", values[WORKLOAD]);
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
    if (args.workload == PINGPONG && args.workers < 2)
        usage_error("pingpong passes a token around a ring: it needs --workers 2 or more, not %ld", args.workers);
    if (args.workload == CONTENDED && args.mode == PROCESSES)
        usage_error("contended runs in threads mode only: processes share no counter to contend for");
    if (args.workload == CRASH && args.by_count && args.n < 2)
        usage_error("crash fails worker 0 after n/2 iterations: it needs --n 2 or more, not %" PRId64, args.n);
    return args;
}

int main(int argc, char **argv) {
    Args args = parse(argc, argv);
    if (args.workload == NATIVE && !sha256_self_test()) return 1;
    /* Line-buffered even on a pipe or file (where stdio would otherwise write 4 KiB blocks that split lines
     * across writes): one write(2) per line, the naive print the lab measures. */
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);

    Worker *workers = calloc((size_t)args.workers, sizeof *workers);
    if (!workers) die("out of memory");
    int64_t counter = 0;
    const long pool_threads = args.mode == POOL ? pool_size() : 0;
    const double start = now_s();
    if (args.mode == THREADS) {
        run_threads(&args, workers, &counter);
    } else if (args.mode == PROCESSES) {
        run_processes(&args, workers);
    } else {
        int err = run_pool(&args, workers, pool_threads);
        if (err) die("starting the pool's threads: %s", strerror(err));
    }
    const double elapsed = now_s() - start;

    if (fflush(stdout) != 0 || ferror(stdout)) die("error writing to stdout");
    for (long k = 0; k < args.workers; k++)
        if (workers[k].failed) die("worker %ld failed", k);
    write_result(&args, workers, counter, pool_threads, elapsed);
    free(workers);
    return 0;
}
