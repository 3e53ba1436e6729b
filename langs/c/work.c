/* The workers' loops, one per workload (langs/README.md). Each worker keeps the universal checksum s += i over
 * its own iterations i = 0, 1, 2, ... in uint64_t, which wraps by definition (signed overflow would be undefined
 * behaviour), and reports it as int64_t two's complement, as the contract asks. */
#define _GNU_SOURCE
#include "work.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

const char *const WORKLOAD_NAMES[WORKLOAD_COUNT] = {"sum", "sum-print", "pingpong", "contended", "io", "native",
                                                    "crash"};
const char *const MODE_NAMES[MODE_COUNT] = {"threads", "processes", "pool"};

enum {
    CLOCK_EVERY = 4096,            /* sum, contended, crash: the clock is read once per this many iterations */
    PINGPONG_CLOCK_EVERY = 1024,   /* worker 0 reads it once per this many of its hand-offs */
    NATIVE_BUFFER_BYTES = 64 * 1024,
};
static const int64_t STOP = -1;    /* the pingpong token that stops the ring (real tokens are >= 0) */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* s += i behind an empty asm that claims to change s: the compiler must keep s a real value every iteration,
 * so it can neither fold the sum loop into n(n-1)/2 nor vectorise it. It emits no instruction. */
static inline void add(uint64_t *s, uint64_t i) {
    *s += i;
    __asm__ volatile("" : "+r"(*s));
}

static void finish(Worker *out, const Context *c, uint64_t iterations, uint64_t s, double start, bool ok) {
    *out = (Worker){.index = c->index, .pid = (long)getpid(), .iterations = (int64_t)iterations,
                    .sum = (int64_t)s, .elapsed_s = now_s() - start, .failed = !ok, .finished = true};
}

/* One sum-print iteration: s += i and the partial sum printed. The idiomatic printf: stdout is line-buffered
 * (set in main), so each line leaves in one write(2) when its '\n' is reached, and the stdio lock serialises
 * threads: lines never tear. Returns false when stdout failed. */
static inline bool step(uint64_t *s, uint64_t i, bool print) {
    add(s, i);
    return !print || printf("%" PRId64 "\n", (int64_t)*s) >= 0;
}

/* sum and sum-print: the tight loop the lab times, with nothing else in it. */
static void summing(const Context *c, Worker *out) {
    const Args *args = c->args;
    const bool print = args->workload == SUM_PRINT;
    uint64_t s = 0, i = 0;
    bool ok = true;
    const double start = now_s();
    if (args->by_count) {
        for (const uint64_t n = (uint64_t)args->n; i < n; i++)
            if (!step(&s, i, print)) { ok = false; i++; break; }
    } else {
        for (const double seconds = args->seconds;; i++) {
            if ((i & (CLOCK_EVERY - 1)) == 0 && now_s() - start >= seconds) break;
            if (!step(&s, i, print)) { ok = false; i++; break; }
        }
    }
    finish(out, c, i, s, start, ok);
}

static void sleep_1ms(void) {
    struct timespec left = {0, 1000000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {}
}

/* io, native, contended and crash: one step per iteration (a 1 ms sleep, a 64 KiB hash, a locked increment or
 * nothing), then s += i. The clock is read every iteration when a step takes a millisecond or a hash's tens of
 * microseconds, every CLOCK_EVERY otherwise. */
static void stepping(const Context *c, Worker *out) {
    const Args *args = c->args;
    const Workload workload = args->workload;
    const uint64_t clock_every = workload == IO || workload == NATIVE ? 1 : CLOCK_EVERY;
    const bool fails = workload == CRASH && c->index == 0;
    uint8_t *buffer = NULL;
    if (workload == NATIVE && !(buffer = calloc(NATIVE_BUFFER_BYTES, 1))) {
        fprintf(stderr, "workload: worker %ld: out of memory\n", c->index);
        exit(1);
    }
    uint64_t s = 0, i = 0;
    const double start = now_s();
    for (;; i++) {
        const bool read_clock = (i & (clock_every - 1)) == 0;   /* clock_every is a power of two */
        const double elapsed = read_clock && !args->by_count ? now_s() - start : 0;
        if (args->by_count ? i == (uint64_t)args->n : read_clock && elapsed >= args->seconds) break;
        /* The crash, unhandled as C has it: SIGABRT ends the whole process, every thread of it. */
        if (fails && (args->by_count ? i == (uint64_t)args->n / 2 : read_clock && elapsed >= args->seconds / 2))
            abort();
        if (workload == IO) {
            sleep_1ms();
        } else if (workload == NATIVE) {
            sha256(buffer, NATIVE_BUFFER_BYTES, buffer);   /* the digest lands on the buffer's first 32 bytes */
        } else if (workload == CONTENDED) {
            pthread_mutex_lock(&c->counter->lock);
            c->counter->value++;
            pthread_mutex_unlock(&c->counter->lock);
        }
        add(&s, i);
    }
    finish(out, c, i, s, start, true);
    if (buffer && i > 0)
        for (int j = 0; j < SHA256_BYTES; j++) snprintf(out->digest + 2 * j, 3, "%02x", buffer[j]);
    free(buffer);
}

/* ---------------------------------------------------------------------------------------------------------
 * pingpong: hand-offs around a ring. Between threads a mailbox per worker (mutex + condition variable), between
 * processes a pipe per worker carrying the 8-byte token. */

static bool transfer(int fd, int64_t *token, bool sending) {
    char *p = (char *)token;
    for (size_t left = sizeof *token; left > 0;) {
        ssize_t done = sending ? write(fd, p, left) : read(fd, p, left);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return false;   /* a neighbour died: its pipe end is closed */
        p += done;
        left -= (size_t)done;
    }
    return true;
}

static bool pass(const Context *c, int64_t token) {
    if (!c->slots) return transfer(c->pass_fd, &token, true);
    Slot *next = &c->slots[(c->index + 1) % c->args->workers];
    pthread_mutex_lock(&next->lock);
    next->value = token;
    next->full = true;
    pthread_cond_signal(&next->filled);
    pthread_mutex_unlock(&next->lock);
    return true;
}

static bool receive(const Context *c, int64_t *token) {
    if (!c->slots) return transfer(c->receive_fd, token, false);
    Slot *mine = &c->slots[c->index];
    pthread_mutex_lock(&mine->lock);
    while (!mine->full) pthread_cond_wait(&mine->filled, &mine->lock);
    *token = mine->value;
    mine->full = false;
    pthread_mutex_unlock(&mine->lock);
    return true;
}

/* The holder of token t passes t + 1, so worker k receives exactly the tokens k, k + N, k + 2N, ... In count
 * mode the tokens stop at n: worker k's last is the largest of them <= n, and the one that receives n itself
 * holds the final value. In duration mode worker 0 stops the ring with STOP, which goes round once and back. */
static void pingpong(const Context *c, Worker *out) {
    const Args *args = c->args;
    const int64_t workers = args->workers, me = c->index;
    uint64_t s = 0, handoffs = 0;
    bool ok = true, holds_token = false;
    int64_t token = 0;   /* worker 0 holds 0 at the start */
    const double start = now_s();
    if (!(args->by_count && me > args->n) && (me == 0 || (ok = receive(c, &token)))) {
        for (;;) {
            if (token == STOP) {
                ok = pass(c, STOP);   /* worker 0 never gets here: it takes STOP back below */
                break;
            }
            if (args->by_count ? token == args->n
                               : me == 0 && handoffs % PINGPONG_CLOCK_EVERY == 0 && now_s() - start >= args->seconds) {
                holds_token = true;
                if (!args->by_count) ok = pass(c, STOP) && receive(c, &(int64_t){0});
                break;
            }
            if (!(ok = pass(c, token + 1))) break;
            add(&s, handoffs++);
            if (args->by_count && token + workers > args->n) break;   /* this worker's share is done */
            if (!(ok = receive(c, &token))) break;
        }
    }
    finish(out, c, handoffs, s, start, ok);
    out->holds_token = holds_token;
    out->token = token;
    if (!ok) fprintf(stderr, "workload: worker %ld: the ring broke (a neighbour is gone)\n", c->index);
}

void work(const Context *context, Worker *out) {
    switch (context->args->workload) {
        case SUM: case SUM_PRINT: summing(context, out); break;
        case PINGPONG: pingpong(context, out); break;
        default: stepping(context, out); break;
    }
}
