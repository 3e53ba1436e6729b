"""Long-form tables of contract 2's workloads (polylab/workloads/), shared by their claims and their figures.

As everywhere in analysis/, `language` names one runtime variant (on one host: analysis/load.py), so a
runtime's numbers are never pooled with another's. Only measured runs (ok, not warm-ups) count; for `crash` an
ok run is one that behaved as the contract says, whether or not its process survived.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import tidy
from .load import ResultsSet, host_keys

PER_THOUSAND = 1000


def measured_of(results: ResultsSet, *workloads: str) -> pd.DataFrame:
    runs = tidy.measured(results)
    return runs[runs["workload"].isin(workloads)]


def handoffs(results: ResultsSet) -> pd.DataFrame:
    """Measured pingpong runs that report their hand-offs: ns per hand-off and hand-offs per second."""
    runs = measured_of(results, "pingpong")
    return runs.dropna(subset=["ns_per_handoff"])


def crash_outcomes(results: ResultsSet) -> pd.DataFrame:
    """One row per runtime and mode of the measured crash runs: how many runs, how many the process survived,
    and the workers finished (median) of the workers started."""
    columns = ["language", "mode", "runs", "survived", "workers_finished", "workers_started"]
    runs = measured_of(results, "crash").dropna(subset=["workers_started"])
    if runs.empty:
        return pd.DataFrame(columns=columns)
    runs["survived"] = runs["process_survived"].astype(bool)
    table = runs.groupby(["language", "mode"], observed=True).agg(
        runs=("run_id", "size"), survived=("survived", "sum"), workers_finished=("workers_finished", "median"),
        workers_started=("workers_started", "max")).reset_index()
    return table[columns]


def crash_label(row) -> str:
    """How a runtime and mode came through its crash runs, in words."""
    if row.survived == 0:
        return f"process died ({row.runs} of {row.runs} runs)"
    finished = f"{row.workers_finished:g} of {row.workers_started:g} workers finished"
    if row.survived == row.runs:
        return f"process survived, {finished} ({row.runs} of {row.runs} runs)"
    return f"mixed: the process survived {row.survived} of {row.runs} runs"


def speedups(results: ResultsSet, workloads=("sum", "io", "native")) -> pd.DataFrame:
    """Each measured run's speedup over the median 1-worker run of its experiment, runtime, mode and workload
    (tidy.scaling), with `base_runs`, the number of 1-worker runs that median is taken over."""
    runs = measured_of(results, *workloads)
    if runs.empty:
        return pd.DataFrame(columns=["run_id", "experiment", "lang", "variant", "language", "threads", "mode",
                                     "workload", "workers", "cores", "value", "base_runs"])
    group = ["experiment", "lang", "variant", "mode", "workload", *host_keys(runs)]
    base_runs = runs[runs["workers"] == 1].groupby(group, observed=True)["run_id"].size().rename("base_runs")
    speedup = tidy.scaling(runs)
    speedup = speedup[speedup["measure"] == "speedup"].join(base_runs, on=group)
    return speedup.assign(threads=speedup["run_id"].map(runs.set_index("run_id")["threads"]))


def contention(results: ResultsSet) -> pd.DataFrame:
    """Threads-mode runs of `contended` and of `sum` for the runtimes that ran `contended`, at the worker
    counts both ran, with throughput per worker and voluntary context switches per 1000 operations."""
    runs = measured_of(results, "contended", "sum")
    runs = runs[(runs["mode"] == "threads") & runs["throughput"].notna()]
    keys = ["language", "workers"]
    both = [runs.loc[runs["workload"] == workload, keys].drop_duplicates() for workload in ("contended", "sum")]
    pairs = runs.merge(both[0].merge(both[1], on=keys), on=keys)
    pairs["per_worker"] = pairs["throughput"] / pairs["workers"].astype(float)
    operations = pairs["iterations"].where(pairs["iterations"] > 0)
    pairs["voluntary_per_k"] = PER_THOUSAND * pairs["ctx_voluntary"] / operations
    pairs["workload"] = pairs["workload"].cat.remove_unused_categories()
    return pairs


def contention_cost(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per contended run at N ≥ 2 workers: its per-worker throughput against the median contended run at 1
    worker, divided by the same ratio of the median sum runs (N against 1). 1: sharing the counter cost
    nothing beyond what N workers cost the plain loop; below 1: the lock's contention cost the rest."""
    medians = pairs.groupby(["language", "workload", "workers"], observed=True)["per_worker"].median()
    rows = []
    for run in pairs[(pairs["workload"] == "contended") & (pairs["workers"] >= 2)].itertuples():
        try:
            contended_one = medians[(run.language, "contended", 1)]
            sum_ratio = medians[(run.language, "sum", run.workers)] / medians[(run.language, "sum", 1)]
        except KeyError:       # no 1-worker runs to compare with
            continue
        rows.append({"language": run.language, "workers": run.workers,
                     "relative": run.per_worker / contended_one / sum_ratio})
    table = pd.DataFrame(rows, columns=["language", "workers", "relative"])
    table["relative"] = table["relative"].astype(float).replace([np.inf, -np.inf], np.nan)
    return table
