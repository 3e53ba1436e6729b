"""Contract 2's workloads in the synthetic set (synthetic.py): their experiments, and how each run's row differs
from a `sum` run's (documented format, docs/results-format.md).

Each runtime behaves as the contract draft expects: a thread hand-off is cheaper than a process hand-off; a
failing thread takes Go's and C#'s process down but costs Java and Python only that thread, and a failing
process leaves its siblings running everywhere; Python's GIL holds `sum` to one core but neither 1 ms waits
(`io`) nor hashlib (`native`); a contended mutex costs every runtime per-worker throughput beyond what more
workers cost the plain loop, and makes its waiters sleep (voluntary switches), except Go's, which spins.
The numbers that decide each claim are parameters, so a test can move them across a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTRACT_2 = ("pingpong", "contended", "io", "native", "crash")
CRASH_N = 1000


@dataclass(frozen=True)
class Behaviour:
    # ns per hand-off, (threads, processes)
    handoff_ns: dict = field(default_factory=lambda: {"csharp": (4000.0, 9000.0), "go": (250.0, 7000.0),
                                                      "java": (5000.0, 9500.0), "python": (9000.0, 14000.0)})
    dies_in_threads: frozenset = frozenset({"csharp", "go"})
    dies_in_processes: frozenset = frozenset()
    io_per_s: float = 950.0            # per worker: a 1 ms sleep per iteration, and timer slack
    native_per_s: float = 30_000.0     # 64 KiB hashes per second on one core
    gil_releases: bool = True          # Python threads run hashlib and sleeps in parallel (False: one at a time)
    lock_cost: float = 0.05            # contended throughput at 1 worker / sum's: lock and unlock each iteration
    contention: float = 0.35           # per-worker throughput kept at N ≥ 2 workers, beyond sum's own loss


def experiments(workloads: tuple, common: dict) -> list[dict]:
    """The experiments of the workloads asked for; none is sampled (their rows need no timeline)."""
    unsampled = {**common, "sample_hz": 0.0}
    every = [
        {"name": "handoff", "workload": "pingpong", "workers": [2], **unsampled},
        {"name": "contention", "workload": "contended", "workers": [1, 2, 4], **unsampled, "modes": ["threads"]},
        {"name": "io", "workload": "io", "workers": [1, 2], **unsampled},
        {"name": "native", "workload": "native", "workers": [1, 2], **unsampled},
        {"name": "crash", "workload": "crash", "workers": [2], **unsampled, "n": CRASH_N, "seconds": None},
    ]
    return [experiment for experiment in every if experiment["workload"] in workloads]


def shape(row: dict, speed: float, cores: int, gil: bool, wobble: float, behaviour: Behaviour) -> None:
    """Turn the `sum`-like row of a run of a contract-2 workload into that workload's row, in place."""
    lang, mode, workers, inner = row["lang"], row["mode"], row["workers"], row["inner_s"]
    workload = row["workload"]
    if workload == "pingpong":
        ns = behaviour.handoff_ns[lang][0 if mode == "threads" else 1] * wobble
        token = int(inner * 1e9 / ns)
        row.update(iterations=token, token=token, handoffs_per_s=token / inner, ns_per_handoff=1e9 * inner / token,
                   ctx_voluntary=token // (50 if lang == "go" and mode == "threads" else 1))
    elif workload == "contended":
        capacity = 1.0 if gil else float(min(workers, cores))
        kept = 1.0 if workers == 1 else behaviour.contention
        iterations = int(speed * behaviour.lock_cost * capacity * kept * wobble * inner)
        row.update(iterations=iterations, counter=iterations,
                   ctx_voluntary=iterations // (2000 if lang == "go" else 100) if workers > 1 else 30)
    elif workload == "io":
        waiting_together = 1 if gil and not behaviour.gil_releases else workers   # a GIL held across the sleep
        iterations = int(behaviour.io_per_s * waiting_together * wobble * inner)
        row.update(iterations=iterations, ctx_voluntary=iterations, user_s=0.02 * workers, sys_s=0.03 * workers)
        row["parallelism"] = (row["user_s"] + row["sys_s"]) / row["wall_s"]
    elif workload == "native":
        held = gil and not behaviour.gil_releases
        capacity = 1.0 if held else min(workers, cores) * (0.9 if gil else 1.0)
        row.update(iterations=int(behaviour.native_per_s * capacity * wobble * inner))
    elif workload == "crash":
        _crash(row, lang, mode, workers, behaviour)


def _crash(row: dict, lang: str, mode: str, workers: int, behaviour: Behaviour) -> None:
    dies = lang in (behaviour.dies_in_threads if mode == "threads" else behaviour.dies_in_processes)
    row.update(workers_started=workers, workers_finished=0 if dies else workers - 1, process_survived=not dies)
    if dies:
        row.update(exit_code=2 if lang == "go" else 134, inner_s=None, startup_s=None, iterations=None,
                   worker_elapsed_s=None, checksum_ok=False, stderr_tail="panic: worker 0 fails on purpose")
    else:
        row.update(iterations=CRASH_N // 2 + CRASH_N * (workers - 1))
