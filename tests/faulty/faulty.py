"""A workload that misbehaves on purpose, for polylab's reliability tests (tests/reliability/).

It speaks the workload contract of langs/README.md, and its fault is the experiment's name: polylab passes
`--result <dir>/<run_id>.result.json` and a run id begins with `<experiment>.`, so every run of an
experiment called `hang` hangs. An unknown name is a usage error (exit 2), so that a change in the run id's
format shows at once instead of quietly turning every fault into a good run.

Every process it starts announces itself on stderr (`faulty: <fault> pid=… pgid=…`, then
`faulty: child pid=… pgid=…` for each child), so a test can read the run's pids from the row's stderr tail
and check that none of them survives the run. `--echo TEXT` (repeatable) prints its values back as one
JSON list: a test can see exactly what argv the program received.

Experiments named `v2…` answer as a contract-2 program (langs/README.md, "Contract version 2") for the
workload asked: `v2` is correct for every workload (a crash that its process survives), the others break
one rule each, so a test can see that the lab's check of that workload catches it. Whatever follows a `+`
in the experiment's name is left out of the fault (`v2+native`), so one fault can run in several experiments.
In pool and async modes (langs/README.md section 10) `v2` lists each task's `tids`, the one thread this
program runs every task on, and `pool_size` (1 for its "pool" of one thread, null in async); `v2-no-tids`
leaves the tids out.
"""

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

LINGER_S = 60      # how long a hang or a child lasts: far past any test timeout, but not forever if one leaks
ELAPSED_V2_S = 0.01   # the work time a contract-2 result claims, so rates derived from it are known


def to_int64(value):
    return (value + 2 ** 63) % 2 ** 64 - 2 ** 63


def say(text):
    sys.stderr.write(f"faulty: {text}\n")
    sys.stderr.flush()


def start_child(escape_group):
    """Fork a child that sleeps; return once it has announced itself. `escape_group`: it calls setsid()."""
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_read)
        if escape_group:
            os.setsid()
        say(f"child pid={os.getpid()} pgid={os.getpgid(0)}")
        os.close(ready_write)
        time.sleep(LINGER_S)
        os._exit(0)
    os.close(ready_write)
    os.read(ready_read, 1)     # end-of-file once the child has written its line
    os.close(ready_read)
    return pid


def result(args, checksum_offset=0):
    """A correct result (each worker did n iterations), except for the offset added to every sum."""
    worker = {"pid": os.getpid(), "iterations": args.n, "sum": to_int64(args.n * (args.n - 1) // 2 + checksum_offset),
              "elapsed_s": 0.0}
    return {"contract": 1, "lang": "faulty", "runtime": {"name": "faulty", "version": "1"},
            "args": {"workload": args.workload, "mode": args.mode, "workers": args.workers, "n": args.n,
                     "seconds": None},
            "workers": [{"index": index, **worker} for index in range(args.workers)], "elapsed_s": 0.0}


def write_result(args, **changes):
    Path(args.result).write_text(json.dumps(result(args, **changes)))


def hang(args):
    time.sleep(LINGER_S)


def exit_nonzero(args):
    say("giving up on purpose")
    sys.exit(3)


def crash_by_signal(args):
    say("crashing on purpose")
    os.kill(os.getpid(), signal.SIGSEGV)


def hang_in_children(args):
    for _ in range(args.workers):
        start_child(escape_group=False)
    hang(args)


def garbage_on_stdout(args):
    print("this is not a partial sum", flush=True)
    write_result(args)


def print_damaged(args, damage):
    """`sum-print` output of every worker (n partial sums each), damaged in one way, then a correct result."""
    lines = [str(i * (i + 1) // 2) for _ in range(args.workers) for i in range(args.n)]
    damage(lines)
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()
    write_result(args)


def wrong_digit(lines):
    lines[lines.index("15")] = "16"          # same width: only the content differs


def torn_halves(lines):
    """Worker A's "28" torn in two: "2" lands in front of B's "6", "8" stands alone."""
    a, b = lines.index("28"), lines.index("6")
    lines[a], lines[b] = "8", "2" + lines[b]


def child_outlives(args, escape_group=False):
    start_child(escape_group)
    write_result(args)


def v2_result(args, tweak=None):
    """A correct contract-2 result for args.workload (count mode), changed by tweak(result) if given."""
    workers = [{"index": index, "pid": os.getpid(), "iterations": args.n, "elapsed_s": 0.0}
               for index in range(args.workers)]
    extra = {}
    if args.workload == "pingpong":     # n hand-offs round the ring: worker i makes ceil((n - i) / N)
        for worker in workers:
            worker["iterations"] = max(0, -(-(args.n - worker["index"]) // args.workers))
        extra["token"] = args.n
    elif args.workload == "contended":
        extra["counter"] = args.n * args.workers
    elif args.workload == "native":
        for worker in workers:
            worker["digest"] = sha256_chain(worker["iterations"])
    elif args.workload == "crash":      # worker 0 failed halfway; the process lived on
        for worker in workers:
            worker["finished"] = worker["index"] != 0
        workers[0]["iterations"] = args.n // 2
        extra["crash"] = {"worker": 0, "survived": True}
    for worker in workers:
        worker["sum"] = to_int64(worker["iterations"] * (worker["iterations"] - 1) // 2)
    if args.mode in ("pool", "async"):   # every task runs on this one thread, as an event loop would run them
        for worker in workers:
            worker["tids"] = [threading.get_native_id()]
        extra["pool_size"] = 1 if args.mode == "pool" else None
    data = {**result(args), "contract": 2, "workers": workers, "elapsed_s": ELAPSED_V2_S, **extra}
    if tweak:
        tweak(data)
    return data


def sha256_chain(iterations):
    """The native workload as the contract states it: hash a 64 KiB buffer, write the digest over its start."""
    buffer, digest = bytearray(64 * 1024), b""
    for _ in range(iterations):
        digest = hashlib.sha256(buffer).digest()
        buffer[0:32] = digest
    return digest.hex()


def write_v2(args, tweak=None):
    Path(args.result).write_text(json.dumps(v2_result(args, tweak)))


def v2_tweak(tweak):
    return lambda args: write_v2(args, tweak)


def result_then_die(args):
    write_v2(args)
    sys.exit(1)


def crash_process(args):
    say("worker 0 fails: the whole process goes down")
    os.abort()


def wrong_ring_share(data):
    """The right token, but worker 0 made every hand-off."""
    for worker in data["workers"]:
        worker["iterations"], worker["sum"] = 0, 0
    data["workers"][0].update(iterations=data["token"], sum=to_int64(data["token"] * (data["token"] - 1) // 2))


def change_worker(index, **changes):
    return lambda data: data["workers"][index].update(changes)


FAULTS = {
    "well-behaved": write_result,
    "exit-nonzero": exit_nonzero,
    "crash-by-signal": crash_by_signal,
    "hang": hang,
    "hang-in-children": hang_in_children,                   # run it in processes mode
    "garbage-on-stdout": garbage_on_stdout,                 # run it with the `pipe` sink
    "wrong-checksum": lambda args: write_result(args, checksum_offset=1),
    "invalid-json": lambda args: Path(args.result).write_text('{"contract": 1, "workers": [tru'),
    "no-result": lambda args: say("exiting without a result file"),
    "child-outlives": child_outlives,                       # the child stays in the run's process group
    "child-escapes-group": lambda args: child_outlives(args, escape_group=True),
    # sum-print with n >= 8; the experiment's name may end in -on-<sink> to run one fault on several sinks
    "print-well": lambda args: print_damaged(args, lambda lines: None),
    "print-wrong-digit": lambda args: print_damaged(args, wrong_digit),
    "print-drop-line": lambda args: print_damaged(args, lambda lines: lines.pop()),
    "print-repeat-line": lambda args: print_damaged(args, lambda lines: lines.append(lines[-1])),
    "print-torn-halves": lambda args: print_damaged(args, torn_halves),
    # contract 2, count mode; each wrong one is meant for one workload
    "v2": write_v2,
    "v2-as-contract-1": v2_tweak(lambda data: data.update(contract=1)),
    "v2-wrong-token": v2_tweak(lambda data: data.update(token=data["token"] + 1)),
    "v2-wrong-ring-share": v2_tweak(wrong_ring_share),
    "v2-lost-update": v2_tweak(lambda data: data.update(counter=data["counter"] - 1)),
    "v2-wrong-digest": v2_tweak(change_worker(1, digest=sha256_chain(1))),
    "v2-crash-dies": crash_process,
    "v2-crash-result-then-dies": result_then_die,
    "v2-crash-all-finished": v2_tweak(change_worker(0, finished=True)),
    "v2-crash-wrong-sum": v2_tweak(change_worker(1, sum=1)),
    "v2-no-tids": v2_tweak(lambda data: data["workers"][-1].pop("tids", None)),   # pool or async mode
}
SINK_SUFFIXES = ("-on-pipe", "-on-file", "-on-tty")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--n", type=int, required=True, help="count mode only: the faults need no clock")
    parser.add_argument("--result", required=True)
    parser.add_argument("--echo", action="append", default=[])
    args = parser.parse_args()
    experiment = Path(args.result).name.split(".")[0]
    fault = experiment.split("+")[0]
    for suffix in SINK_SUFFIXES:
        fault = fault.removesuffix(suffix)
    if fault not in FAULTS:
        parser.error(f"unknown fault {fault!r} (the experiment's name); known: {', '.join(FAULTS)}")
    say(f"{experiment} pid={os.getpid()} pgid={os.getpgid(0)}")
    if args.echo:
        say("echo " + json.dumps(args.echo))
    FAULTS[fault](args)


if __name__ == "__main__":
    main()
