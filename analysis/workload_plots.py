"""The plots of contract 2's workloads, in the manner of plots.py: each takes tidy long-form data
(workload_tidy.py), makes one figure-level seaborn call and returns the figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .plots import RANGE, _apart, _wide_enough, _worker_axis, compact, themed
from .load import ordered
from .tidy import cores_label, workers_label

SURVIVAL_COLOURS = "RdYlGn"    # red: the process died, green: it survived


@themed
def handoff_latency(runs: pd.DataFrame):
    """ns per pingpong hand-off per runtime (x), threads against processes (hue), log scale."""
    data = compact(runs)
    def panel(workers, cores) -> str:
        return f"{workers_label(workers)} {cores_label(cores)}"
    order = data[["workers", "cores"]].drop_duplicates().sort_values(["workers", "cores"])
    data["panel"] = ordered([panel(w, c) for w, c in zip(data["workers"], data["cores"])],
                            [panel(w, c) for w, c in zip(order["workers"], order["cores"])])
    several = data["panel"].nunique() > 1
    # points, not bars: a bar's length on a log axis depends on where the axis happens to start
    grid = sns.catplot(data=data, kind="point", x="language", y="ns_per_handoff", hue="mode",
                       col="panel" if several else None, col_wrap=1 if several else None, estimator="median",
                       errorbar=RANGE, linestyle="none", dodge=_apart(data), markersize=6, height=3.2,
                       aspect=_wide_enough(data, 3.2, 1.5), sharey=True)
    grid.set(yscale="log")
    grid.set_titles("{col_name}" if several else "")
    grid.set_axis_labels("", "ns per hand-off (median, log)")
    return grid.figure


def _workload_ideal(data: pd.DataFrame, cores: int, **_):
    """Dashed: all workers at once for io (waiting needs no core), min(workers, cores) for CPU-bound work."""
    workers = np.sort(data["workers"].astype(float).unique())
    ideal = workers if str(data["workload"].iloc[0]) == "io" else np.minimum(workers, cores)
    plt.gca().plot(workers, ideal, linestyle="--", color="0.25", linewidth=1.3, zorder=1)


@themed
def speedups_by_workload(speedups: pd.DataFrame, cores: int, palette: dict):
    """Speedup against workers, a panel per workload (sum, io, native), hue the runtime, style the mode."""
    data = compact(speedups)
    grid = sns.relplot(data=data, kind="line", x="workers", y="value", hue="language", style="mode", markers=True,
                       col="workload", estimator="median", errorbar=RANGE, height=3.0, aspect=1.1,
                       palette=palette)
    grid.map_dataframe(_workload_ideal, cores=cores)
    grid.set_titles("{col_name}")
    grid.set_ylabels("speedup over 1 worker")
    _worker_axis(grid, data["workers"])
    return grid.figure


def _crash_cells(data: pd.DataFrame, **_):
    share = data.pivot_table(index="language", columns="mode", values="survived_share", observed=True)
    labels = data.pivot_table(index="language", columns="mode", values="label", aggfunc="first", observed=True)
    sns.heatmap(share, annot=labels.reindex_like(share), fmt="", cmap=SURVIVAL_COLOURS, vmin=0, vmax=1, cbar=False,
                linewidths=2, linecolor="white", ax=plt.gca(), annot_kws={"fontsize": "small"})
    plt.gca().set(xlabel="", ylabel="")
    plt.gca().tick_params(axis="y", rotation=0)   # runtime names read across


@themed
def crash_matrix(table: pd.DataFrame):
    """Runtime × mode: did the process survive its failing worker, and how many workers finished."""
    data = compact(table)
    grid = sns.FacetGrid(data, height=0.9 + 0.55 * data["language"].nunique(), aspect=1.4)
    grid.map_dataframe(_crash_cells)
    return grid.figure


@themed
def contention_cost(long: pd.DataFrame, palette: dict):
    """contended against sum (style) per runtime (hue), threads mode: throughput per worker and voluntary
    switches per 1000 operations (rows), against workers; log scale."""
    data = compact(long)
    several = data["workers"].nunique() > 1
    if several:
        grid = sns.relplot(data=data, kind="line", x="workers", y="value", hue="language", style="workload",
                           markers=True, row="measure", estimator="median", errorbar=RANGE, height=2.6, aspect=1.8,
                           palette=palette, facet_kws={"sharey": False})
    else:   # one worker count (the quick profile): a line needs two, so each runtime is a place on x
        grid = sns.catplot(data=data, kind="point", x="language", y="value", hue="workload", row="measure",
                           dodge=0.3, linestyle="none", estimator="median", errorbar=RANGE, height=2.6,
                           aspect=_wide_enough(data, 2.6, 1.8), sharey=False)
        grid.set_xlabels(workers_label(data["workers"].iloc[0]))
    for measure, axes in grid.axes_dict.items():   # a switch count may be 0: linear near zero there
        if "switches" in str(measure):
            axes.set_yscale("symlog", linthresh=0.01)
            highest = data.loc[data["measure"] == measure, "value"].max()
            axes.set_ylim(0, max(highest, 0.01) * 3)   # room above the highest mark, whose bar may reach it
        else:
            axes.set_yscale("log")
    grid.set_titles("{row_name}")
    grid.set_ylabels("")
    if several:
        _worker_axis(grid, data["workers"])
    return grid.figure
