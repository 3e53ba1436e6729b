/* pool mode (langs/README.md section 10): the N tasks on a fixed pool of threads, see pool.c. */
#ifndef POLYLAB_POOL_H
#define POLYLAB_POOL_H

#include "work.h"

/* The pool's thread count: one per CPU this process may run on. */
long pool_size(void);

/* Runs task k into workers[k] for every k < args->workers, with its tids; 0, or the error number of a thread
 * that could not be started. */
int run_pool(const Args *args, Worker *workers, long size);

#endif
