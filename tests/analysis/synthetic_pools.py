"""A small results set of pool and async runs (langs/README.md section 10) for claim (l), written through the
typed run record (polylab/results/schema.py) as the lab writes one: each run records how many OS threads its
tasks used (`threads_used`) and the pool size its runtime reported, and the sampler's per-thread readings
(threads.parquet) from which the analysis counts the threads that did work (`busy_threads`).

`threads_used` maps (variant key, mode) to the threads each repetition used; a run's `workers` is its task
count. Threads mode reports no tids, as real programs do. `busy` maps (variant key, mode) to the threads that
did work in each repetition (None: the sampler saw none); threads mode has one per worker unless listed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from polylab.results import store
from polylab.results.schema import (THREAD_COLUMNS, THREADS, CpuSource, Measured, Mode, Planned, ProgramResult,
                                    RunRecord, Sink, Status, Totals, Verdict, Workload, split_key)

CORES = 4
POOL_SIZE = {"java:25": 4, "python:cpython": 8}      # what each runtime reports for its default pool
WALL_S, INNER_S = 0.6, 0.5                            # the work window: [0.1, 0.6]
BEFORE_WORK_S, IN_WORK_S = 0.05, 0.55                 # the sampler's two readings of every thread
TASK_CPU_S, STARTUP_CPU_S = 0.05, 0.2


def _run_id(key: str, workload: str, mode: str, tasks: int, rep: int) -> str:
    return f"{workload}.{key}.{mode}.w{tasks}.r{rep}"


def _thread_rows(run_id: str, busy: int, helper_cpu_s: float = 0.0) -> list[dict]:
    """The main thread (start-up CPU before the work, none in it), a helper that gains helper_cpu_s in the work
    window (none: idle), and `busy` threads started in the work window that each gained a task's CPU there."""
    rows = []
    for tid, before, after in [(1, STARTUP_CPU_S, STARTUP_CPU_S), (2, 0.0, helper_cpu_s),
                               *((10 + index, None, TASK_CPU_S) for index in range(busy))]:
        for t_s, cpu in ((BEFORE_WORK_S, before), (IN_WORK_S, after)):
            if cpu is not None:
                rows.append({"run_id": run_id, "t_s": t_s, "pid": 1, "tid": tid, "name": "synthetic", "core": 0,
                             "cpu_s": cpu, "ctx_voluntary": 0.0, "ctx_involuntary": 0.0, "migrations": 0.0})
    return rows


def _record(key: str, workload: str, mode: str, tasks: int, rep: int, used: int | None, sample_hz: float) -> RunRecord:
    lang, variant = split_key(key)
    planned = Planned(run_id=_run_id(key, workload, mode, tasks, rep), experiment=workload, lang=lang,
                      variant=variant, toolchain=variant, toolchain_version="1", backend="local",
                      workload=Workload(workload), mode=Mode(mode), workers=tasks, n=1000, seconds=None, rep=rep,
                      warmup=False, sink=Sink.DEVNULL, sample_hz=sample_hz, cpus=None)
    measured = Measured(exit_code=0, stderr_tail="", started_at="2026-01-01T00:00:00", wall_s=WALL_S,
                        totals=Totals(0.5, 0.01, 2**24, 10, 10, CpuSource.WAIT4))
    pool_size = POOL_SIZE.get(key) if mode == "pool" else None
    result = ProgramResult(inner_s=INNER_S, runtime={"name": lang, "version": "1"}, iterations=1000 * tasks,
                           worker_elapsed_s=[0.5] * tasks, threads_used=used, pool_size=pool_size)
    return RunRecord(planned, measured, Verdict(Status.OK, None, True, result))


def write_pool_set(folder: Path, threads_used: dict[tuple[str, str], list[int | None]], tasks: int = 8,
                   workload: str = "sum", busy: dict[tuple[str, str], list[int | None]] | None = None,
                   sample_hz: float = 10.0, helper_cpu_s: float = 0.0) -> Path:
    """A set with one run per listed repetition of each (variant, mode), and threads-mode controls (no tids
    reported; one busy thread per worker unless `busy` lists them) with as many repetitions as the variant's
    first listed mode. With sample_hz 0 the sampler was off: no thread readings at all. Every run's helper
    thread gains helper_cpu_s in the work window."""
    keys = list(dict.fromkeys(key for key, _ in threads_used))
    plan, busy = dict(threads_used), dict(busy or {})
    for key in keys:
        reps = len(next(used for (k, _), used in threads_used.items() if k == key))
        plan.setdefault((key, "threads"), [None] * reps)
        busy.setdefault((key, "threads"), [tasks] * len(plan[(key, "threads")]))
    toolchains = {key: {"lang": split_key(key)[0], "variant": split_key(key)[1], "display": split_key(key)[0].title(),
                        "label": key, "threads": "all-cores", "backend": "local", "toolchain": "t", "version": "1"}
                  for key in keys}
    store.prepare(folder)
    store.write_meta(folder, {
        "polylab_version": "0.1.0", "profile": "claims", "config_file": "experiments.yaml",
        "config": {"description": "synthetic pools", "experiments": []}, "planned_runs": 0,
        "machine": {"hostname": "synthetic", "logical_cores": CORES, "cpu_affinity": list(range(CORES)),
                    "clock_ticks_per_s": 100},
        "toolchains": toolchains, "skipped": {}})
    threads = []
    for (key, mode), used in sorted(plan.items(), key=lambda item: (keys.index(item[0][0]), item[0][1])):
        seen = busy.get((key, mode), [None] * len(used))
        for rep, (count, busy_count) in enumerate(zip(used, seen), 1):
            store.append_run(folder, _record(key, workload, mode, tasks, rep, count, sample_hz))
            if busy_count is not None and sample_hz:
                threads += _thread_rows(_run_id(key, workload, mode, tasks, rep), busy_count, helper_cpu_s)
    pd.DataFrame(threads, columns=["run_id", *THREAD_COLUMNS]).to_parquet(folder / THREADS, index=False)
    return folder
