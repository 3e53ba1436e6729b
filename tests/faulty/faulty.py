"""A workload that misbehaves on purpose, for polylab's reliability tests (tests/reliability/).

It speaks the workload contract of langs/README.md, and its fault is the experiment's name: polylab passes
`--result <dir>/<run_id>.result.json` and a run id begins with `<experiment>.`, so every run of an
experiment called `hang` hangs. An unknown name is a usage error (exit 2), so that a change in the run id's
format shows at once instead of quietly turning every fault into a good run.

Every process it starts announces itself on stderr (`faulty: <fault> pid=… pgid=…`, then
`faulty: child pid=… pgid=…` for each child), so a test can read the run's pids from the row's stderr tail
and check that none of them survives the run. `--echo TEXT` (repeatable) prints its values back as one
JSON list: a test can see exactly what argv the program received.
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

LINGER_S = 60      # how long a hang or a child lasts: far past any test timeout, but not forever if one leaks


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
    fault = experiment
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
