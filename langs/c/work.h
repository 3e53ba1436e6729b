/* What the parent (workload.c) and the workers (work.c) share: the parsed arguments, one worker's outcome, and
 * what workers of one run share with each other: the pingpong ring and the contended counter. */
#ifndef POLYLAB_WORK_H
#define POLYLAB_WORK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { SUM, SUM_PRINT, PINGPONG, CONTENDED, IO, NATIVE, CRASH, WORKLOAD_COUNT } Workload;
extern const char *const WORKLOAD_NAMES[WORKLOAD_COUNT];

typedef enum { THREADS, PROCESSES, POOL, MODE_COUNT } Mode;
extern const char *const MODE_NAMES[MODE_COUNT];

typedef struct {
    Workload workload;
    Mode mode;
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
    bool failed;           /* it could not write stdout or pass the token; said on stderr */
    bool finished;         /* crash: false for the worker that failed (the parent's verdict) */
    bool holds_token;      /* pingpong: this worker saw the token's final value */
    int64_t token;
    char digest[65];       /* native: the last SHA-256, lowercase hex ("" after no iteration) */
    long tids[2];          /* pool: the kernel thread ids the task ran on, at its start and end (distinct) */
    int tid_count;
} Worker;

/* A pingpong mailbox between threads: the slot is full while a token waits in it. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t filled;
    bool full;
    int64_t value;
} Slot;

/* The contended workload's one shared counter and its one mutex. */
typedef struct {
    pthread_mutex_t lock;
    int64_t value;
} Counter;

/* What one worker needs: its index and, by workload, its end of the ring or the shared counter. */
typedef struct {
    const Args *args;
    long index;
    Slot *slots;           /* pingpong, threads: every worker's mailbox, indexed by worker */
    int receive_fd;        /* pingpong, processes: this worker's pipe, and the next worker's */
    int pass_fd;
    Counter *counter;      /* contended */
} Context;

/* Runs one worker in the calling thread or child. The crash workload's worker 0 never returns: it aborts. */
void work(const Context *context, Worker *out);

#endif
