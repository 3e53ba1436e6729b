"""The Task Manager views of runs: a per-core busy-% grid over time (expected, this run, the rest of the machine)
and the per-core graphs of the same runs. Big grids (a row per runtime and mode): built without seaborn's layout
passes and shared axes, which cost most of their drawing time."""

from __future__ import annotations

import contextlib

import matplotlib.lines
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .plots import _label_rows, compact, themed

HEAT_MAP = "Blues"
VIEW_COLOURS = {"expected (article)": "0.55", "measured: this run": "#1f77b4", "measured: rest of machine": "#ff7f0e"}
VIEW_DASHES = {"expected (article)": (4, 2), "measured: this run": "", "measured: rest of machine": (1, 1)}


def _draw_cells(data: pd.DataFrame, core_ids: list[int], **_):
    """One Task Manager grid: a row of cells per core, one column per sample interval; beside it, the mean
    number of cores busy over the work window."""
    cores = len(core_ids)
    grid = data.pivot_table(index="core", columns="t_s", values="pct", aggfunc="mean").reindex(core_ids)
    starts = data.drop_duplicates("t_s").sort_values("t_s")["t_start"].to_numpy()
    edges = np.append(starts[:1], grid.columns.to_numpy())
    axes = plt.gca()
    axes.pcolormesh(edges, np.arange(cores + 1) - 0.5, grid.to_numpy(), cmap=HEAT_MAP, vmin=0, vmax=100)
    axes.set_ylim(cores - 0.5, -0.5)  # core 0 on top, as Task Manager lists them
    step = max(1, cores // 8)
    axes.set_yticks(range(0, cores, step), [f"core {c}" for c in core_ids[::step]])
    axes.grid(False)
    window = data[data["in_window"]]
    if not window.empty:  # how many cores' worth, on average, while the workers ran
        cores_used = window.groupby("t_s")["pct"].sum().mean() / 100
        axes.text(1.01, 0.5, f"{cores_used:.2f}\ncores", transform=axes.transAxes, va="center", fontsize="small")


def _same_limits_outer_labels(grid) -> None:
    """What sharex gives a grid of equal panels, set once: every panel's x axis spans them all, and only the
    outer panels are labelled. matplotlib's shared axes update every sibling at each change, which cost a grid
    of 60 panels seconds."""
    limits = np.array([axes.get_xlim() for axes in grid.axes.flat])
    for axes in grid.axes.flat:
        axes.set_xlim(limits[:, 0].min(), limits[:, 1].max())
    for axes in grid.axes[:-1, :].flat:
        axes.tick_params(labelbottom=False)
    for axes in grid.axes[:, 1:].flat:
        axes.tick_params(labelleft=False)


@contextlib.contextmanager
def _without_seaborn_layout():
    """Builds a FacetGrid without the tight layout seaborn tries at each step (at its creation and after each map):
    for a grid of short panels matplotlib computes it, then declines it ('Tight layout not applied'), and a grid
    of 60 panels spent seconds there. The caller sets the layout (subplots_adjust)."""
    real = sns.axisgrid.Grid.tight_layout
    sns.axisgrid.Grid.tight_layout = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        sns.axisgrid.Grid.tight_layout = real


@themed
def task_manager_heatmap(timeline: pd.DataFrame):
    """Per-core busy % over time: a row of panels per language · mode, columns expected / this run / rest."""
    data = compact(timeline)
    core_ids = sorted(data["core"].unique())
    with _without_seaborn_layout():
        grid = sns.FacetGrid(data, row="panel", col="view", height=0.45 + 0.25 * min(len(core_ids), 16),
                             aspect=3.4, sharex=False, sharey=False, despine=False, margin_titles=True)
        grid.map_dataframe(_draw_cells, core_ids=core_ids)
        _same_limits_outer_labels(grid)
        grid.set_titles(col_template="{col_name}", row_template="")
    grid.set_xlabels("seconds since the run started")
    _label_rows(grid, "", horizontal=True)
    grid.figure.subplots_adjust(left=0.14, right=0.86, hspace=0.3, wspace=0.2)
    colour_bar = grid.figure.add_axes([0.93, 0.25, 0.015, 0.5], label="colour bar")
    grid.figure.colorbar(grid.axes.flat[0].collections[0], cax=colour_bar, label="core busy, %")
    return grid.figure


@themed
def core_lines(timeline: pd.DataFrame):
    """Task Manager's per-core graphs: busy % over time, a small panel per core and language · mode."""
    data = compact(timeline)
    with _without_seaborn_layout():
        # legend=False: seaborn draws the whole figure twice to size a legend; this one is drawn by hand, on top
        grid = sns.relplot(data=data, kind="line", x="t_s", y="pct", hue="view", style="view", row="panel",
                           col="core", palette=VIEW_COLOURS, dashes=VIEW_DASHES, height=1.05, aspect=3.0,
                           drawstyle="steps-pre", legend=False, facet_kws={"margin_titles": True, "despine": False,
                                                                           "sharex": False, "sharey": False})
    _same_limits_outer_labels(grid)
    grid.set(ylim=(0, 105), yticks=[0, 50, 100])
    grid.set_titles(col_template="core {col_name}", row_template="")
    grid.set_xlabels("seconds since the run started")
    _label_rows(grid, "", horizontal=True)
    grid.set(yticks=[0, 50, 100], yticklabels=["0", "50%", "100%"])
    figure = grid.figure
    figure.subplots_adjust(top=1 - 0.6 / figure.get_figheight())
    views = list(data["view"].cat.categories)
    keys = [matplotlib.lines.Line2D([], [], color=VIEW_COLOURS[view], dashes=VIEW_DASHES[view] or (None, None))
            for view in views]
    middle = (figure.subplotpars.left + figure.subplotpars.right) / 2
    figure.legend(keys, views, loc="upper center", bbox_to_anchor=(middle, 1.0), ncol=3, frameon=False)
    return figure
