"""What a correct run looks like: the result file's schema, its checksums and the exact stdout it implies.

The checks every workload shares live here; each workload's own (a pingpong token, a SHA-256 digest, the
workers a crash leaves) are declared with it in polylab/workloads/catalog.py and run after these."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from polylab.run.printed import PrintedDigest, printed_problem
from polylab.workloads import WorkloadSpec, workload_spec

INT64 = 2 ** 64
TASK_MODES = ("pool", "async")     # --workers counts tasks: each reports the threads it ran on (langs/README.md §10)


def wrap_int64(value: int) -> int:
    return (value + 2 ** 63) % INT64 - 2 ** 63


def expected_sum(iterations: int) -> int:
    """s = 0 + 1 + ... + (c-1), as a wrapping signed 64-bit integer."""
    return wrap_int64(iterations * (iterations - 1) // 2)


def _first_index_reaching(limit: int, iterations: int) -> int:
    """Smallest i in [0, iterations] with i(i+1)/2 >= limit (the printed partial sums grow with i)."""
    low, high = 0, iterations
    while low < high:
        middle = (low + high) // 2
        if middle * (middle + 1) // 2 >= limit:
            high = middle
        else:
            low = middle + 1
    return low


def expected_print_bytes(iterations: int) -> int | None:
    """Bytes that `sum-print` writes for one worker: every partial sum i(i+1)/2 for i < c, plus newlines.

    Counted by digit length with a binary search per length, so it is exact and instant even for 10^7 lines.
    None when the sums would wrap past 2^63 (then the printed digits are not worth predicting).
    """
    if iterations and (iterations - 1) * iterations // 2 >= 2 ** 63:
        return None
    total, below = iterations, 0   # one newline per line
    digits = 1
    while below < iterations:
        reached = _first_index_reaching(10 ** digits, iterations)
        total += digits * (reached - below)
        below, digits = reached, digits + 1
    return total


@dataclass(frozen=True)
class ResultCheck:
    ok: bool
    problem: str | None
    data: dict | None

    @property
    def iterations(self) -> list[int]:
        return [w["iterations"] for w in self.data["workers"]] if self.data else []


def _problem(data, lang: str, spec: WorkloadSpec, mode: str, workers: int, n: int | None) -> str | None:
    """The first way the result breaks the universal checks, then the workload's own; None when it passes."""
    if not isinstance(data, dict):
        return "result is not a JSON object"
    if not spec.accepts_contract(data.get("contract")):
        return f"contract version {data.get('contract')!r}, expected {spec.contract_expected()}"
    for key in ("lang", "runtime", "args", "workers", "elapsed_s"):
        if key not in data:
            return f"result has no '{key}'"
    if data["lang"] != lang:
        return f"result says lang {data['lang']!r}, expected {lang!r}"
    args = data["args"] if isinstance(data["args"], dict) else {}
    for key, want in (("workload", spec.name.value), ("mode", mode), ("workers", workers), ("n", n)):
        if args.get(key) != want:
            return f"result args.{key} is {args.get(key)!r}, expected {want!r}"
    if not isinstance(data["elapsed_s"], (int, float)) or data["elapsed_s"] < 0:
        return "elapsed_s is not a non-negative number"
    entries = data["workers"]
    if not isinstance(entries, list) or len(entries) != workers:
        return f"result lists {len(entries) if isinstance(entries, list) else 'no'} workers, expected {workers}"
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), int) for k in ("iterations", "sum", "pid")):
            return f"worker #{position} lacks integer iterations/sum/pid"
        if not isinstance(entry.get("elapsed_s"), (int, float)):
            return f"worker #{position} lacks elapsed_s"
        owed = spec.count_iterations(n, workers, position) if n is not None else None
        if owed is not None and entry["iterations"] != owed:
            return f"worker #{position} did {entry['iterations']} iterations, expected {owed}"
        if entry["sum"] != expected_sum(entry["iterations"]):
            return (f"worker #{position} checksum {entry['sum']} != c(c-1)/2 = "
                    f"{expected_sum(entry['iterations'])} for c = {entry['iterations']}")
    return _task_threads_problem(data, mode) or spec.check(data)


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _tids_problem(tids) -> str | None:
    if not isinstance(tids, list) or not 1 <= len(tids) <= 2 or not all(map(_is_positive_int, tids)):
        return f"tids is {tids!r}, expected 1 or 2 positive thread ids (at the task's start and end)"
    return None if len(set(tids)) == len(tids) else f"tids {tids!r} repeats a thread id: list a thread once"


def _task_threads_problem(data: dict, mode: str) -> str | None:
    """In pool and async modes every task lists `tids` and the result has `pool_size` (an int or null); in the
    other modes `tids` is optional, and checked where present."""
    tasks = mode in TASK_MODES
    for position, entry in enumerate(data["workers"]):
        if "tids" not in entry:
            if tasks:
                return f"worker #{position} has no tids (the kernel thread ids it ran on; required in {mode} mode)"
            continue
        problem = _tids_problem(entry["tids"])
        if problem:
            return f"worker #{position} {problem}"
    if not tasks:
        return None
    if "pool_size" not in data:
        return (f"result has no 'pool_size' (the pool's size, or null where the runtime has none; required in "
                f"{mode} mode)")
    size = data["pool_size"]
    return None if size is None or _is_positive_int(size) else \
        f"pool_size is {size!r}, expected the pool's size (a positive int) or null where the runtime has none"


def task_threads(data: dict, mode: str) -> dict:
    """What a verified result says of its threads: `threads_used`, the distinct thread ids over every task (None
    unless every task listed them), and, in pool and async modes, the `pool_size` the runtime reported."""
    tids = [entry.get("tids") for entry in data["workers"]]
    used = len({tid for task in tids for tid in task}) if tids and None not in tids else None
    return {"threads_used": used, "pool_size": data.get("pool_size") if mode in TASK_MODES else None}


def check_result(path: Path, lang: str, workload: str, mode: str, workers: int, n: int | None) -> ResultCheck:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return ResultCheck(False, "no result file written", None)
    except (OSError, ValueError) as exc:
        return ResultCheck(False, f"result file is not valid JSON: {exc}", None)
    problem = _problem(data, lang, workload_spec(workload), mode, workers, n)
    return ResultCheck(problem is None, problem, data if problem is None else None)


def check_stdout(workload: str, iterations: list[int], printed: PrintedDigest) -> str | None:
    """stdout must hold exactly the printed partial sums (nothing at all but for `sum-print`), checked by content."""
    if not workload_spec(workload).prints:
        return None if printed.size == 0 else \
            f"`{workload}` must print nothing, got {printed.lines} lines / {printed.size} bytes"
    per_worker = [expected_print_bytes(c) for c in iterations]
    return printed_problem(printed, iterations, None if None in per_worker else sum(per_worker))
