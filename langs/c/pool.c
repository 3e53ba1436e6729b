/* pool mode (langs/README.md section 10): C has no standard thread pool, so this is the one its users write: a
 * fixed set of pthreads, one per CPU the process may use, each pulling the next task's index from a shared atomic
 * counter until none is left. A task is a worker of work.c, run to its end on the thread that took it. */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

long pool_size(void) {
    /* The affinity mask rather than the CPUs online: taskset or a container's cpuset may allow fewer. */
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) return CPU_COUNT(&cpus);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? online : 1;
}

typedef struct {
    const Args *args;
    Worker *workers;
    atomic_long next;   /* the next task not yet taken */
} Queue;

static long current_tid(void) {
    return (long)syscall(SYS_gettid);
}

static void *pool_thread(void *shared) {
    Queue *queue = shared;
    for (long k; (k = atomic_fetch_add(&queue->next, 1)) < queue->args->workers;) {
        const long first = current_tid();
        Context context = {.args = queue->args, .index = k, .receive_fd = -1, .pass_fd = -1};
        Worker *w = &queue->workers[k];
        work(&context, w);   /* fills the whole entry, so the tids go in after */
        w->tids[0] = first;
        w->tids[1] = current_tid();
        w->tid_count = w->tids[1] == first ? 1 : 2;   /* a pthread never hands its task on: always 1 here */
    }
    return NULL;
}

int run_pool(const Args *args, Worker *workers, long size) {
    Queue queue = {.args = args, .workers = workers};
    atomic_init(&queue.next, 0);
    pthread_t *ids = calloc((size_t)size, sizeof *ids);
    if (!ids) return ENOMEM;
    int err = 0;
    long started = 0;
    while (started < size && !(err = pthread_create(&ids[started], NULL, pool_thread, &queue))) started++;
    /* Each thread writes only the entries it took; pthread_join makes the writes visible here. */
    for (long k = 0; k < started; k++) pthread_join(ids[k], NULL);
    free(ids);
    return err;
}
