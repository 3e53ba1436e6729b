"""The exact scheduler traces of a set (`trace: sched`): loading raw/<run_id>.sched.parquet, per-core busy time
from its switch events, and the exact Task Manager view.

A traced run's events (polylab/sample/schedparse.py) say when each of its threads went onto a core (`in`) and
off it (`out`). Busy time of a core is the union of those intervals, cut into bins (10 ms by default): unlike
the sampler's 10 Hz view, nothing between samples is lost and nothing is attributed to the wrong core. An
`out` without its `in` (a thread's first slice, when it began before perf's record of its fork) counts nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from polylab.results.schema import RAW, TRACE_COLUMNS, TRACE_SUFFIX

from .drawn import Drawn, NotShown
from .load import ResultsSet

BIN_S = 0.01


def trace_path(directory: Path, run_id: str) -> Path:
    return directory / RAW / f"{run_id}{TRACE_SUFFIX}"


def load_trace(directory: Path, run_id: str) -> pd.DataFrame:
    """One run's events (TRACE_COLUMNS), in time order; empty (with the columns) when the run was not traced."""
    path = trace_path(directory, run_id)
    if not path.exists():
        return pd.DataFrame(columns=list(TRACE_COLUMNS))
    return pd.read_parquet(path).sort_values("t_s", kind="stable").reset_index(drop=True)


def traced_runs(results: ResultsSet) -> pd.DataFrame:
    """The set's measured runs that have a trace file, with their trace totals."""
    runs = results.runs
    if "trace_events" not in runs:
        return runs.iloc[0:0]
    traced = runs[runs["trace_events"].notna() & ~runs["warmup"] & (runs["status"] == "ok")]
    return traced[[trace_path(results.directory, run_id).exists() for run_id in traced["run_id"]]]


def on_cpu_intervals(events: pd.DataFrame) -> pd.DataFrame:
    """(tid, cpu, start_s, end_s) of every slice a thread of the run spent on a core: each `out` paired with the
    same thread's `in` before it on that core."""
    switches = events[events["kind"].isin(["in", "out"])]
    slices, running = [], {}
    for t_s, cpu, kind, tid in zip(switches["t_s"], switches["cpu"], switches["kind"], switches["tid"]):
        if kind == "in":
            running[tid] = (cpu, t_s)
        elif tid in running:
            started_cpu, started = running.pop(tid)
            if started_cpu == cpu:
                slices.append((tid, cpu, started, t_s))
    return pd.DataFrame(slices, columns=["tid", "cpu", "start_s", "end_s"])


def busy_bins(events: pd.DataFrame, cores: list[int], bin_s: float = BIN_S) -> pd.DataFrame:
    """Long form (t_s, core, busy_pct): the share of each bin each core ran a thread of the run. Slices on one
    core never overlap (one thread at a time), so their lengths add up."""
    slices = on_cpu_intervals(events)
    end = float(events["t_s"].max()) if len(events) else 0.0
    edges = np.arange(0.0, end + bin_s, bin_s)
    rows = []
    for core in cores:
        on_core = slices[slices["cpu"] == core]
        covered = np.zeros(len(edges) - 1)
        for start, stop in zip(on_core["start_s"], on_core["end_s"]):
            low, high = np.maximum(edges[:-1], start), np.minimum(edges[1:], stop)
            covered += np.clip(high - low, 0.0, None)
        rows.append(pd.DataFrame({"t_s": edges[:-1], "core": core, "busy_pct": 100 * covered / bin_s}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["t_s", "core", "busy_pct"])


def _shown_runs(traced: pd.DataFrame) -> pd.DataFrame:
    """One run per runtime and mode: the first repetition at the most workers traced."""
    most = traced.groupby(["language", "mode"], observed=True)["workers"].transform("max")
    chosen = traced[traced["workers"] == most].sort_values(["language", "mode", "rep"])
    return chosen.drop_duplicates(["language", "mode"])


def exact_task_manager(results: ResultsSet) -> Drawn:
    """Per-core busy % in 10 ms bins from every switch, one row of panels per traced runtime and mode."""
    traced = traced_runs(results)
    if traced.empty:
        raise NotShown("no traced runs (trace: sched)")
    chosen = _shown_runs(traced)
    frames = []
    for run in chosen.itertuples():
        events = load_trace(results.directory, run.run_id)
        binned = busy_bins(events, results.core_ids or sorted(set(events["cpu"].astype(int))))
        binned["run"] = f"{run.language} · {run.mode} ×{run.workers}"
        frames.append(binned)
    timeline = pd.concat(frames, ignore_index=True)
    timeline["core"] = "core " + timeline["core"].astype(str)
    grid = sns.relplot(data=timeline, x="t_s", y="busy_pct", row="run", col="core", kind="line",
                       drawstyle="steps-post", height=1.6, aspect=3.0, linewidth=0.8,
                       facet_kws={"ylim": (0, 105)})
    grid.set_axis_labels("time since spawn (s)", "busy %")
    grid.set_titles("{row_name} — {col_name}", size=9)
    grid.figure.suptitle(f"Exact Task Manager view: per-core busy % in {BIN_S * 1000:g} ms bins, from every "
                         f"context switch", y=1.01)
    lost = int(chosen["trace_lost"].fillna(0).sum())
    return Drawn(grid.figure, (
        f"Each core's share of every {BIN_S * 1000:g} ms that a thread of the run was on it, from the kernel's "
        f"sched_switch events (trace: sched): exact, where the sampler's 10 Hz view places a thread's CPU on the "
        f"core it ran on last. One run per runtime and mode (the first repetition at the most workers traced): "
        + ", ".join(chosen["run_id"]) + "." + (f" perf lost {lost} events in these recordings: their counts are "
                                               f"lower bounds." if lost else " perf lost no events.")))
