"""The figure of claim (l) (claims_pool.py): how many OS threads N tasks took, per runtime and mode — threads
(one thread per worker: the control, the threads the sampler saw do work), pool and async (the threads the
tasks reported) — beside the N that one thread per task would take."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from .claims_pool import CONTROL, MODES, task_runs
from .drawn import Drawn, NoData, NotShown
from .load import ResultsSet, ordered
from .plots import RANGE, _wide_enough, compact, themed


def _one_per_task(data: pd.DataFrame, **_):
    """Dashed: N threads for N tasks, what the article says every task takes."""
    plt.gca().axhline(float(data["workers"].iloc[0]), linestyle="--", color="0.25", linewidth=1.3, zorder=1)


@themed
def threads_per_task(runs: pd.DataFrame):
    """OS threads (bars, median and range) per runtime (x) and mode (hue), a panel per workload and task count,
    the task count dashed."""
    data = compact(runs)
    several = data["workers"].nunique() > 1
    grid = sns.catplot(data=data, kind="bar", x="language", y="os_threads", hue="mode", col="workload",
                       row="workers" if several else None, estimator="median", errorbar=RANGE, height=3.2,
                       aspect=_wide_enough(data, 3.2, 1.3), sharey=False)
    grid.map_dataframe(_one_per_task)
    tasks = "{row_name}" if several else str(int(data["workers"].iloc[0]))
    grid.set_titles("{col_name} · " + tasks + " tasks")
    grid.set_axis_labels("", "OS threads")
    return grid.figure


def task_threads(results: ResultsSet) -> Drawn:
    if not results.runs["mode"].isin(["pool", "async"]).any():
        raise NotShown("no pool or async runs")
    runs = task_runs(results)
    if not runs["mode"].isin(["pool", "async"]).any():
        raise NoData("no measured pool or async run reported its tasks' thread ids")
    runs["os_threads"] = runs["threads_used"].where(runs["mode"] != CONTROL, runs["busy_threads"])
    runs["mode"] = ordered(runs["mode"].astype(str), list(MODES))
    tasks = ", ".join(str(int(count)) for count in sorted(runs["workers"].unique()))
    return Drawn(threads_per_task(runs), (
        f"How many OS threads the tasks took ({tasks} tasks; dashed: one thread per task, what the article says "
        "every parallel task takes); median and min–max over repetitions. pool: the language's standard pool at its "
        "default size; async: its event loop or virtual threads — for both, the distinct kernel threads the "
        "tasks reported starting and ending on. threads: one OS thread per worker (the control) — the threads the "
        "sampler saw do work in the run's work window (none drawn where it saw none)."))


POOL_FIGURES = [("task-threads", "Tasks vs OS threads: threads, pool and async", task_threads)]
