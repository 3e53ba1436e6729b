"""Every workload's lab side, one entry each (see the package docstring; the programs' side is langs/README.md).

The checks here see a result that passed the universal ones (polylab/run/checks.py): the right contract,
arguments and number of workers, and every worker's `iterations`, `sum` and `pid` integers with
`sum == c(c-1)/2` for its count c. Each returns the first problem found, or None.
"""

from __future__ import annotations

from polylab.results.schema import CrashOutcome, Mode, Workload
from polylab.workloads.sha_chain import digests_at
from polylab.workloads.spec import DEFAULT_MODES, TASK_MODES, WorkloadSpec


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _iterations(data: dict) -> list[int]:
    return [worker["iterations"] for worker in data["workers"]]


def _total_matches(key: str, what: str):
    """A check that the top-level integer `key` equals the workers' iterations added up."""
    def check(data: dict) -> str | None:
        value, total = data.get(key), sum(_iterations(data))
        if not _is_int(value):
            return f"result has no integer '{key}' ({what})"
        return None if value == total else f"{key} is {value}, expected {total} (the workers' iterations added up)"
    return check


def ring_share(n: int, workers: int, index: int) -> int:
    """Hand-offs worker `index` makes when n hand-offs go round a ring of `workers`: ceil((n − index) / workers)."""
    return max(0, -(-(n - index) // workers))


def check_digests(data: dict) -> str | None:
    workers = data["workers"]
    for position, worker in enumerate(workers):
        if not isinstance(worker.get("digest"), str):
            return f"worker #{position} has no digest (a string: the last SHA-256 as lowercase hex)"
    expected = digests_at(_iterations(data))
    for position, worker in enumerate(workers):
        want = expected[worker["iterations"]]
        if worker["digest"] != want:
            return (f"worker #{position} digest {worker['digest'][:16]!r}… is not the SHA-256 chain's after "
                    f"{worker['iterations']} iterations, {want[:16]!r}…")
    return None


def check_crash(data: dict) -> str | None:
    """A surviving process: exactly worker 0 unfinished (the one told to fail), the crash reported."""
    crash = data.get("crash")
    if not isinstance(crash, dict) or crash.get("worker") != 0 or crash.get("survived") is not True:
        return f"crash is {crash!r}, expected {{'worker': 0, 'survived': True}} from a process that survived"
    for position, worker in enumerate(data["workers"]):
        if not isinstance(worker.get("finished"), bool):
            return f"worker #{position} has no finished (true or false)"
        if worker["finished"] != (position != 0):
            return (f"worker #{position} finished is {worker['finished']}, expected "
                    f"{'false: worker 0 is the one that fails' if position == 0 else 'true: only worker 0 fails'}")
    n = data["args"].get("n")
    failed_at = data["workers"][0]["iterations"]
    if n is not None and failed_at >= n:
        return f"worker #0 did {failed_at} iterations, expected fewer than {n}: it fails midway"
    return None


def crash_outcome(data: dict | None, workers: int) -> CrashOutcome:
    if data is None:
        return CrashOutcome(workers_started=workers, workers_finished=0, process_survived=False)
    finished = sum(1 for worker in data["workers"] if worker["finished"])
    return CrashOutcome(workers_started=workers, workers_finished=finished, process_survived=True)


WORKLOADS: dict[Workload, WorkloadSpec] = {spec.name: spec for spec in [
    WorkloadSpec(Workload.SUM, "CPU-bound: each worker adds 0, 1, 2, … into a 64-bit sum", contracts=(1, 2),
                 modes=(*DEFAULT_MODES, *TASK_MODES)),
    WorkloadSpec(Workload.SUM_PRINT, "the same, printing every partial sum (the seed article's program)",
                 contracts=(1, 2), prints=True),
    WorkloadSpec(Workload.PINGPONG, "hand-off cost: a token passed around a ring of workers",
                 min_workers=2, min_workers_reason="passes a token around a ring of workers",
                 count_iterations=ring_share, check=_total_matches("token", "the token's final value"),
                 recorded=("token",)),
    WorkloadSpec(Workload.CONTENDED, "shared writes: every worker adds to one counter under one mutex",
                 modes=(Mode.THREADS,),
                 modes_reason="processes share no memory, so there is no counter to contend for",
                 check=_total_matches("counter", "the shared counter's final value"), recorded=("counter",)),
    WorkloadSpec(Workload.IO, "blocking waits: each iteration sleeps 1 ms in a system call",
                 modes=(*DEFAULT_MODES, *TASK_MODES)),
    WorkloadSpec(Workload.NATIVE, "library code: each iteration hashes a 64 KiB buffer with SHA-256, chained",
                 check=check_digests),
    WorkloadSpec(Workload.CRASH, "a failing worker: worker 0 fails midway, unhandled; who survives",
                 min_n=2, min_n_reason="fails worker 0 after n/2 of its iterations",
                 count_iterations=lambda n, workers, index: None if index == 0 else n,
                 check=check_crash, outcome=crash_outcome),
]}


def workload_spec(name: str | Workload) -> WorkloadSpec:
    return WORKLOADS[Workload(name)]
