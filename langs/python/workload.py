"""polylab's Python program: N workers each run the same workload, as
threading.Thread objects ("threads" mode) or as multiprocessing children
("processes" mode), or N tasks handed to a ThreadPoolExecutor of its default
size ("pool") or gathered on one asyncio loop ("async"). See langs/README.md
for the contract. This file is the parent: arguments, workers, the result
file; workloads.py holds each workload's loop and what its workers share.

In threads mode the GIL lets only one thread run Python bytecode at a time, so
N threads use about one core; in processes mode each child has its own
interpreter and GIL, so N children can use N cores. That difference is what
polylab measures. A free-threaded CPython (3.13t, built with --disable-gil)
has no GIL, so its threads can use N cores too; the result's runtime says
which build ran. Standard library only; runs unchanged on CPython 3.9+
(with or without the GIL) and PyPy 3.9+.
"""

import argparse
import asyncio
import concurrent.futures
import json
import math
import multiprocessing
import os
import platform
import queue
import sys
import tempfile
import threading
import time

import workloads


def line_buffer_stdout():
    # sum-print needs whole lines at the OS level, so flush every line: one
    # sys.stdout.write becomes one write(2), as in the other languages. With
    # the default block buffering (stdout a pipe or file, PYTHONUNBUFFERED
    # unset) both modes garble lines, seen on CPython 3.9-3.12:
    # - processes: each child flushes ~8 KiB chunks that need not end on a line
    #   and the pipe does not keep writes over PIPE_BUF (4 KiB) whole, so
    #   children's chunks interleave mid-line;
    # - threads: TextIOWrapper's pending buffer is not safe across threads once
    #   writes accumulate while a flush waits (CPython gh-118138): lines are
    #   lost and uninitialized bytes written. Flushing each write before the
    #   next can start keeps that buffer at one line.
    sys.stdout.reconfigure(line_buffering=True)


def run_threads(args):
    """(worker entries, the contended counter or None, indexes of workers whose thread raised)."""
    write = None
    if args.workload == "sum-print":
        line_buffer_stdout()
        write = sys.stdout.write
    shared, counter = workloads.threads_shared(args, write)
    results = [None] * args.workers

    def target(k):
        results[k] = workloads.work(k, args, shared[k])

    threads = [
        threading.Thread(target=target, args=(k,), name=f"worker-{k}")
        for k in range(args.workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A thread that raised has already had its traceback printed (threading's
    # excepthook) and left its slot empty; the process goes on.
    failed = [k for k, r in enumerate(results) if r is None]
    for k in failed:
        results[k] = workloads.unfinished(k, os.getpid())
    return results, counter, failed


def child_main(k, args, shared, out):
    """Entry point of a processes-mode child. It inherits our stdout and sends
    its entry back through the queue; an exception makes it exit with code 1,
    after multiprocessing prints the traceback to stderr."""
    if args.workload == "sum-print":
        line_buffer_stdout()  # a spawned child builds a fresh sys.stdout
        shared.write = sys.stdout.write
    record = workloads.work(k, args, shared)
    # multiprocessing flushes stdout when the child exits, but flush before
    # reporting so all of this worker's output is out once the parent has it.
    sys.stdout.flush()
    out.put(record)


def run_processes(args):
    """(worker entries, None, indexes of the workers whose child exited non-zero where the workload
    expects it). Any other failure ends the program."""
    # The platform's default start method: fork on Linux up to Python 3.13,
    # forkserver from 3.14, spawn on macOS and Windows.
    out = multiprocessing.Queue()
    shared = workloads.processes_shared(args)
    procs = [
        multiprocessing.Process(
            target=child_main, args=(k, args, shared[k], out), name=f"worker-{k}"
        )
        for k in range(args.workers)
    ]
    for p in procs:
        p.start()
    may_fail = {0} if args.workload == "crash" else set()

    # Read the results before joining (joining a child that still has queued
    # data can deadlock). A child that dies never sends, so poll for that.
    results = [None] * args.workers
    pending = set(range(args.workers))
    failed = []
    error = None
    while pending and error is None:
        exited = {k: procs[k].exitcode for k in pending if procs[k].exitcode is not None}
        try:
            record = out.get(timeout=0.05)
        except queue.Empty:
            # These children had exited before the queue went quiet: whatever
            # they sent has arrived.
            for k, code in sorted(exited.items()):
                if code != 0 and k in may_fail:
                    failed.append(k)
                    results[k] = workloads.unfinished(k, procs[k].pid)
                    pending.discard(k)
                elif error is None:
                    error = f"worker-{k} exited with code {code}" if code else f"worker-{k} exited without a result"
            continue
        results[record["index"]] = record
        pending.discard(record["index"])

    if error is not None:
        for p in procs:  # leave no child behind
            if p.exitcode is None:
                p.terminate()
    for p in procs:
        p.join()
    if error is None:
        bad = [p for k, p in enumerate(procs) if p.exitcode != 0 and k not in failed]
        if bad:
            error = f"{bad[0].name} exited with code {bad[0].exitcode}"
    if error is not None:
        sys.exit(f"workload: {error}")
    return results, None, failed


def run_pool(args):
    """(task entries, the pool's size): N tasks submitted to a ThreadPoolExecutor at its default size,
    which decides how many threads run them: min(32, CPUs + 4) since Python 3.8."""
    shared = workloads.Shared()  # sum and io share nothing
    with concurrent.futures.ThreadPoolExecutor() as pool:
        futures = [pool.submit(workloads.work, k, args, shared, True) for k in range(args.workers)]
        results = [future.result() for future in futures]  # a task that raised raises here
    return results, pool._max_workers


def run_async(args):
    """(task entries, None): N coroutines gathered on one asyncio loop, in this thread; a loop has no
    pool size to report."""

    async def gather():
        return await asyncio.gather(*(workloads.work_async(k, args) for k in range(args.workers)))

    return list(asyncio.run(gather())), None


def write_json_atomic(path, obj):
    """Write obj to path via a temporary file in the same directory renamed
    over it, so a reader never sees a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        # argparse's message, but on one line: no usage text (the contract
        # wants a one-line message on stderr and exit status 2).
        self.exit(2, f"{self.prog}: error: {message}\n")


def count(text):
    value = int(text)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2^63 - 1 (an int64): {text}")
    return value


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def duration(text):
    value = float(text)
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text}")
    return value


def parse_args(argv=None):
    parser = ArgumentParser(prog="workload", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", required=True, choices=list(workloads.LOOPS))
    parser.add_argument("--mode", required=True, choices=["threads", "processes", *workloads.TASK_MODES])
    parser.add_argument("--workers", required=True, type=positive)
    limit = parser.add_mutually_exclusive_group(required=True)
    limit.add_argument("--n", type=count, help="iterations per worker")
    limit.add_argument("--seconds", type=duration, help="seconds per worker")
    parser.add_argument("--result", required=True, help="result JSON path")
    args = parser.parse_args(argv)
    problem = workloads.unsupported(args.workload, args.mode, args.workers, args.n)
    if problem:
        parser.error(problem)
    return args


def describe_runtime():
    """Which build of Python runs this: the implementation, its version, and
    whether the GIL is on (builds before 3.13 have no switch: always on)."""
    runtime = {
        "name": platform.python_implementation().lower(),  # "cpython", "pypy"
        "version": platform.python_version(),  # the Python language version
        "implementation": sys.implementation.name,
        "gil_enabled": sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True,
        "start_method": None,
    }
    if hasattr(sys, "pypy_version_info"):
        runtime["pypy_version"] = "%d.%d.%d" % sys.pypy_version_info[:3]
    return runtime


def main():
    args = parse_args()
    runtime = describe_runtime()
    if args.mode == "processes":
        runtime["start_method"] = multiprocessing.get_start_method()
    start = time.monotonic()
    if args.mode in workloads.TASK_MODES:
        workers, pool_size = (run_pool if args.mode == "pool" else run_async)(args)
        counter, failed, mode_keys = None, [], {"pool_size": pool_size}
    else:
        workers, counter, failed = (run_threads if args.mode == "threads" else run_processes)(args)
        mode_keys = {}
    elapsed = time.monotonic() - start
    if failed != ([0] if args.workload == "crash" else []):  # crash: worker 0, on purpose
        sys.exit(f"workload: worker(s) {failed} failed")
    write_json_atomic(args.result, {
        "contract": 2,
        "lang": "python",
        "runtime": runtime,
        "args": {
            "workload": args.workload,
            "mode": args.mode,
            "workers": args.workers,
            "n": args.n,
            "seconds": args.seconds,
        },
        "workers": workers,
        "elapsed_s": elapsed,
        **workloads.top_level(args.workload, workers, counter),
        **mode_keys,
    })


# The guard matters: with the spawn and forkserver start methods each child
# imports this file again and must not rerun main().
if __name__ == "__main__":
    main()
