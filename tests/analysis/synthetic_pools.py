"""A small results set of pool and async runs (langs/README.md section 10) for claim (l), written through the
typed run record (polylab/results/schema.py) as the lab writes one: each run records how many OS threads its
tasks used (`threads_used`) and the pool size its runtime reported.

`threads_used` maps (variant key, mode) to the threads each repetition used; a run's `workers` is its task
count. Threads mode uses one thread per worker unless the map says otherwise.
"""

from __future__ import annotations

from pathlib import Path

from polylab.results import store
from polylab.results.schema import (CpuSource, Measured, Mode, Planned, ProgramResult, RunRecord, Sink, Status,
                                    Totals, Verdict, Workload, split_key)

CORES = 4
POOL_SIZE = {"java:25": 4, "python:cpython": 8}      # what each runtime reports for its default pool


def _record(key: str, workload: str, mode: str, tasks: int, rep: int, used: int | None) -> RunRecord:
    lang, variant = split_key(key)
    planned = Planned(run_id=f"{workload}.{key}.{mode}.w{tasks}.r{rep}", experiment=workload, lang=lang,
                      variant=variant, toolchain=variant, toolchain_version="1", backend="local",
                      workload=Workload(workload), mode=Mode(mode), workers=tasks, n=1000, seconds=None, rep=rep,
                      warmup=False, sink=Sink.DEVNULL, sample_hz=0.0, cpus=None)
    measured = Measured(exit_code=0, stderr_tail="", started_at="2026-01-01T00:00:00", wall_s=0.6,
                        totals=Totals(0.5, 0.01, 2**24, 10, 10, CpuSource.WAIT4))
    pool_size = POOL_SIZE.get(key) if mode == "pool" else None
    result = ProgramResult(inner_s=0.5, runtime={"name": lang, "version": "1"}, iterations=1000 * tasks,
                           worker_elapsed_s=[0.5] * tasks, threads_used=used, pool_size=pool_size)
    return RunRecord(planned, measured, Verdict(Status.OK, None, True, result))


def write_pool_set(folder: Path, threads_used: dict[tuple[str, str], list[int | None]], tasks: int = 8,
                   workload: str = "sum") -> Path:
    """A set with one run per listed repetition of each (variant, mode), and threads-mode controls with one
    thread per worker (as many repetitions as the variant's first listed mode) unless listed."""
    keys = list(dict.fromkeys(key for key, _ in threads_used))
    plan = dict(threads_used)
    for key in keys:
        reps = len(next(used for (k, _), used in threads_used.items() if k == key))
        plan.setdefault((key, "threads"), [tasks] * reps)
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
    for (key, mode), used in sorted(plan.items(), key=lambda item: (keys.index(item[0][0]), item[0][1])):
        for rep, count in enumerate(used, 1):
            store.append_run(folder, _record(key, workload, mode, tasks, rep, count))
    return folder
