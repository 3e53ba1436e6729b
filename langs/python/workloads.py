"""The worker side of every workload of the contract (langs/README.md): one loop per workload, run by
workload.py in a thread, in a child process or in a pool's thread (sum and io also as a coroutine,
work_async). Each loop returns (iterations, s, extra keys for the worker's entry); `s` is the universal
checksum, s += i for i = 0, 1, 2, ...

What the workers share is built here too: a mailbox per worker for the pingpong ring (a semaphore
between threads, a pipe between processes) and the contended counter with its lock (threads only).
"""

import asyncio
import hashlib
import multiprocessing
import os
import struct
import threading
import time

BLOCK = 4096  # sum and contended read the clock once per this many iterations
PINGPONG_CLOCK_EVERY = 1024  # worker 0 reads the clock once per this many of its hand-offs
STOP = -1  # the pingpong token that tells the ring to stop (real tokens are >= 0)
NATIVE_BUFFER_BYTES = 64 * 1024
TOKEN = struct.Struct("<q")  # the pingpong token on a pipe: 8 bytes, a little-endian int64

THREADS_ONLY = ("contended",)  # processes share no heap, so there is no counter to contend for
TASK_MODES = ("pool", "async")  # --workers N means N tasks handed to a pool or an event loop
TASK_WORKLOADS = ("sum", "io")  # the only workloads the task modes run


def to_int64(s):
    # Python ints never overflow, but the contract's s is a wrapping signed
    # 64-bit integer: reduce modulo 2**64 into [-2**63, 2**63). Addition commutes
    # with the reduction, so wrapping once at the end equals wrapping every step.
    return ((s + 2**63) % 2**64) - 2**63


def add_range(s, lo, hi, write):
    """The loop body for i in [lo, hi): s += i, printing each partial sum if
    write is given. The two plain loops keep the hot path free of branches."""
    if write is None:
        for i in range(lo, hi):
            s += i
    else:
        for i in range(lo, hi):
            s += i
            # One write call per line, not print(s): print writes the value and
            # then end="\n" as two calls, and another thread's write landing
            # between them would tear lines. (Partial sums are printed
            # unwrapped; they only differ from int64 after ~4.3e9 iterations,
            # far beyond any sum-print run.)
            write(f"{s}\n")
    return s


def summing(n, seconds, start, write):
    """The contract's summing loop for n iterations or for `seconds` from start: (iterations, s)."""
    if n is not None:
        return n, add_range(0, 0, n, write)
    # Blocks of BLOCK iterations, with i continuing across blocks; the clock
    # is read only between blocks so it does not dominate the loop.
    s = iterations = 0
    while True:
        s = add_range(s, iterations, iterations + BLOCK, write)
        iterations += BLOCK
        if time.monotonic() - start >= seconds:
            return iterations, s


def repeat(args, start, step):
    """Call step() once per iteration, then s += i; the clock is read every iteration, which costs
    nothing beside a step of microseconds (a 1 ms sleep, a 64 KiB hash). (iterations, s)."""
    s = i = 0
    if args.n is not None:
        for i in range(args.n):
            step()
            s += i
        return args.n, s
    while time.monotonic() - start < args.seconds:
        step()
        s += i
        i += 1
    return i, s


# ---------------------------------------------------------------------------------------------------
# The loops: (index, args, shared, start) -> (iterations, s, extra keys)


def sum_loop(index, args, shared, start):
    write = shared.write
    return summing(args.n, args.seconds, start, write) + ({},)


def pingpong_loop(index, args, shared, start):
    """One place in the ring: take the token from my mailbox, add 1, put it in the next one's.
    `token` in the extra keys is the last token this worker held; the parent reports the largest."""
    inbox, outbox = shared.inbox, shared.outbox
    s = held = 0
    if args.n is not None:
        share = max(0, -(-(args.n - index) // args.workers))  # my hand-offs of n in all
        for i in range(share):
            held = inbox.get() + 1
            outbox.put(held)
            s += i
        return share, s, {"token": held}
    i = 0
    while True:
        token = inbox.get()
        if token == STOP:
            if index + 1 < args.workers:  # pass it on, but not back round to worker 0, who stopped
                outbox.put(STOP)
            return i, s, {"token": held}
        held = token
        if index == 0 and i % PINGPONG_CLOCK_EVERY == 0 and time.monotonic() - start >= args.seconds:
            outbox.put(STOP)
            return i, s, {"token": held}
        held = token + 1
        outbox.put(held)
        s += i
        i += 1


def contended_loop(index, args, shared, start):
    counter = shared.counter
    lock = counter.lock
    s = 0
    if args.n is not None:
        for i in range(args.n):
            with lock:
                counter.value += 1
            s += i
        return args.n, s, {}
    i = 0
    while i % BLOCK or time.monotonic() - start < args.seconds:  # the clock every BLOCK iterations
        with lock:
            counter.value += 1
        s += i
        i += 1
    return i, s, {}


def io_loop(index, args, shared, start):
    return repeat(args, start, lambda: time.sleep(0.001)) + ({},)


def native_loop(index, args, shared, start):
    """SHA-256 chained through a 64 KiB buffer. hashlib releases the GIL while it hashes a buffer this
    large (over 2 KiB), so threads hash on several cores at once even with the GIL."""
    buffer = bytearray(NATIVE_BUFFER_BYTES)
    digest = b""

    def step():
        nonlocal digest
        digest = hashlib.sha256(buffer).digest()
        buffer[: len(digest)] = digest

    iterations, s = repeat(args, start, step)
    return iterations, s, {"digest": digest.hex()}


def crash_loop(index, args, shared, start):
    """The summing loop; worker 0 fails halfway through, unhandled: in a thread the exception ends only
    that thread (threading.excepthook prints it), in a child it ends the child with exit code 1."""
    if index != 0:
        return summing(args.n, args.seconds, start, None) + ({"finished": True},)
    half_n = None if args.n is None else args.n // 2
    half_seconds = None if args.seconds is None else args.seconds / 2
    iterations, _ = summing(half_n, half_seconds, start, None)
    raise RuntimeError(f"worker 0 fails on purpose after {iterations} iterations (the crash workload)")


LOOPS = {
    "sum": sum_loop,
    "sum-print": sum_loop,
    "pingpong": pingpong_loop,
    "contended": contended_loop,
    "io": io_loop,
    "native": native_loop,
    "crash": crash_loop,
}


def work(index, args, shared, record_tids=False):
    """Run one worker's loop and return its entry for the result file; with record_tids (a pool's task),
    the entry also says which kernel threads ran it."""
    first_tid = threading.get_native_id() if record_tids else None
    start = time.monotonic()
    iterations, s, extra = LOOPS[args.workload](index, args, shared, start)
    return entry(index, iterations, s, start, extra, first_tid)


async def work_async(index, args):
    """One async task: sum or io as a coroutine on the event loop. sum never awaits, so the loop runs
    the tasks one after another; io awaits a 1 ms asyncio.sleep, which lets the others run meanwhile."""
    first_tid = threading.get_native_id()
    start = time.monotonic()
    if args.workload == "io":
        iterations, s = await repeat_async(args, start, lambda: asyncio.sleep(0.001))
    else:
        iterations, s = summing(args.n, args.seconds, start, None)
    return entry(index, iterations, s, start, {}, first_tid)


async def repeat_async(args, start, step):
    """repeat() with an awaited step: step() returns the awaitable of one iteration."""
    s = i = 0
    if args.n is not None:
        for i in range(args.n):
            await step()
            s += i
        return args.n, s
    while time.monotonic() - start < args.seconds:
        await step()
        s += i
        i += 1
    return i, s


def entry(index, iterations, s, start, extra, first_tid=None):
    """A worker's entry for the result file, at the end of its loop. first_tid: the kernel thread id the
    task started on, given only in the task modes, which add "tids" (its start and end thread, distinct)."""
    record = {
        "index": index,
        "pid": os.getpid(),
        "iterations": iterations,
        "sum": to_int64(s),
        "elapsed_s": time.monotonic() - start,
    }
    record.update(extra)
    if first_tid is not None:
        last_tid = threading.get_native_id()
        record["tids"] = [first_tid] if last_tid == first_tid else [first_tid, last_tid]
    return record


def unfinished(index, pid):
    """The entry of a worker that failed (crash): its counts died with it."""
    return {"index": index, "pid": pid, "iterations": 0, "sum": 0, "elapsed_s": 0.0, "finished": False}


def unsupported(workload, mode, workers, n):
    """Why the program will not run these settings (the lab never asks for them), or None."""
    if mode in TASK_MODES and workload not in TASK_WORKLOADS:
        return f"{mode} mode runs the sum and io workloads only, not {workload}"
    if workload in THREADS_ONLY and mode != "threads":
        return f"{workload} runs in threads mode only: processes share no counter"
    if workload == "pingpong" and workers < 2:
        return "pingpong passes a token round a ring: it needs --workers 2 or more"
    if workload == "crash" and n is not None and n < 2:
        return "crash fails worker 0 after n/2 iterations: it needs --n 2 or more"
    return None


# ---------------------------------------------------------------------------------------------------
# What the workers share


class Shared:
    """One worker's view of what it shares: stdout's write (sum-print), its pingpong mailboxes, the
    contended counter. Only what the workload uses is set."""

    def __init__(self, write=None, inbox=None, outbox=None, counter=None):
        self.write, self.inbox, self.outbox, self.counter = write, inbox, outbox, counter


class SemaphoreMailbox:
    """A one-slot mailbox between threads. One token goes round the ring, so a mailbox never holds
    two values: put stores it and releases the semaphore, get waits on it (blocking, GIL released)."""

    def __init__(self):
        self._ready = threading.Semaphore(0)
        self._value = None

    def put(self, value):
        self._value = value
        self._ready.release()

    def get(self):
        self._ready.acquire()
        return self._value


class PipeMailbox:
    """One end of a multiprocessing pipe (os.pipe underneath): the 8-byte token travels through it."""

    def __init__(self, connection):
        self._connection = connection

    def put(self, value):
        self._connection.send_bytes(TOKEN.pack(value))

    def get(self):
        return TOKEN.unpack(self._connection.recv_bytes())[0]


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0


def ring(mailboxes, readers=None):
    """Each worker's (inbox, outbox): its own mailbox and the next one's. The token starts in worker
    0's mailbox, at 0. `readers`: for pipes, the ends to read from (mailboxes are then the write ends)."""
    readers = readers or mailboxes
    mailboxes[0].put(0)
    count = len(mailboxes)
    return [(readers[k], mailboxes[(k + 1) % count]) for k in range(count)]


def threads_shared(args, write):
    """Shared for each of args.workers threads, and the counter (or None)."""
    counter = Counter() if args.workload == "contended" else None
    if args.workload != "pingpong":
        return [Shared(write=write, counter=counter) for _ in range(args.workers)], counter
    rings = ring([SemaphoreMailbox() for _ in range(args.workers)])
    return [Shared(inbox=inbox, outbox=outbox) for inbox, outbox in rings], None


def processes_shared(args):
    """Shared for each of args.workers children (picklable: no write, no counter). The parent keeps
    every pipe end open until the children are reaped, so the last token put into a finished worker's
    mailbox never meets a closed pipe."""
    if args.workload != "pingpong":
        return [Shared() for _ in range(args.workers)]
    ends = [multiprocessing.Pipe(duplex=False) for _ in range(args.workers)]  # (read end, write end)
    rings = ring([PipeMailbox(w) for _, w in ends], [PipeMailbox(r) for r, _ in ends])
    return [Shared(inbox=inbox, outbox=outbox) for inbox, outbox in rings]


def top_level(workload, workers, counter):
    """The keys a workload adds to the result beside the workers (after taking what it needs from them)."""
    if workload == "pingpong":
        return {"token": max(worker.pop("token") for worker in workers)}
    if workload == "contended":
        return {"counter": counter.value}
    if workload == "crash":
        return {"crash": {"worker": 0, "survived": True}}
    return {}
