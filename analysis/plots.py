"""One function per figure: each takes tidy long-form data, makes one figure-level seaborn call and returns
the figure. Saving, captions and choosing the data are figures.py's business."""

from __future__ import annotations

import colorsys
import contextlib
import functools
import textwrap
import warnings

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .tidy import ideal_scaling, workers_label  # noqa: E402

HEAT_MAP = "Blues"
VIEW_COLOURS = {"expected (article)": "0.55", "measured: this run": "#1f77b4", "measured: rest of machine": "#ff7f0e"}
VIEW_DASHES = {"expected (article)": (4, 2), "measured: this run": "", "measured: rest of machine": (1, 1)}
RANGE = ("pi", 100)  # error bars: min–max over the repetitions, around the median


def themed(function):
    """Every figure in the same style, without changing matplotlib's global state for the caller."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85), \
                warnings.catch_warnings():
            # FacetGrid tries tight_layout while building short panels; the final layout is set afterwards.
            warnings.filterwarnings("ignore", "Tight layout not applied")
            figure = function(*args, **kwargs)
        figure.set_layout_engine(None)
        _wrap_long_names(figure)
        return figure
    return wrapper


def _wrap_long_names(figure, width: int = 11) -> None:
    """Runtime names on a categorical x axis onto lines of `width` characters: 'CPython free-threaded' beside
    'PyPy' ran into it."""
    for axes in figure.axes:
        labels = [label.get_text() for label in axes.get_xticklabels()]
        if any(len(text) > width for text in labels):
            wrapped = [textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False) for text in labels]
            axes.set_xticks(axes.get_xticks(), wrapped)


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop unused categories, so facets and legends show only what the data holds (order is kept)."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].cat.remove_unused_categories()
    return frame


# colorblind's ten colours in an order that keeps neighbours apart: its pinks (4, 6) and blues (0, 9) would
# otherwise meet among the first eight languages. A set of more languages than that gets husl's evenly spaced hues.
FAMILY_HUES = [0, 1, 2, 3, 4, 5, 8, 7, 9, 6]
SHADE_LIGHTNESS = (0.28, 0.6)   # a language's variants, darkest first: all visible on white


def _shades(base, count: int) -> list:
    """`count` shades of one colour: the colour itself for one, else its hue at lightnesses spread evenly."""
    if count == 1:
        return [base]
    hue, _, saturation = colorsys.rgb_to_hls(*matplotlib.colors.to_rgb(base))
    return [colorsys.hls_to_rgb(hue, lightness, saturation) for lightness in np.linspace(*SHADE_LIGHTNESS, count)]


def runtime_palette(runs: pd.DataFrame, column: str = "language") -> dict:
    """A colour per runtime of the whole set, so that a runtime keeps its colour in every figure: each language
    (`lang`, the folder) its own hue in the set's language order, its variants (and hosts) shades of that hue in
    theirs. `runs` is the set's runs: a figure's own rows may lack a variant, which would shift the shades."""
    names = [str(name) for name in runs[column].cat.categories]
    folder_of = dict(zip(runs[column].astype(str), runs["lang"].astype(str)))
    families: dict[str, list[str]] = {}
    for name in [name for name in names if name in folder_of]:   # a name without runs is never drawn
        families.setdefault(folder_of[name], []).append(name)
    colourblind = sns.color_palette("colorblind")
    hues = ([colourblind[index] for index in FAMILY_HUES] if len(families) <= len(FAMILY_HUES)
            else sns.color_palette("husl", len(families)))
    return {name: shade for hue, members in zip(hues, families.values())
            for name, shade in zip(members, _shades(hue, len(members)))}


def _wide_enough(data: pd.DataFrame, height: float, aspect: float) -> float:
    """An aspect that gives each language on the x axis room for its name (0.75 in), and at least `aspect`."""
    return max(aspect, 0.75 * data["language"].nunique() / height)


def _label_rows(grid, unit: str, horizontal: bool = False) -> None:
    """Row names as the y labels of the first column (margin titles would be rotated and clipped)."""
    for row_name, axes in zip(grid.row_names, grid.axes[:, 0]):
        if horizontal:  # short panels: a label written across reads better than one written upwards
            axes.set_ylabel(str(row_name).replace(" · ", "\n"), rotation=0, ha="right", va="center",
                            fontweight="bold")
        else:
            axes.set_ylabel(f"{row_name}\n{unit}".strip())
    for axes in grid.axes[:, 1:].flat:
        axes.set_ylabel("")


def _worker_axis(grid, workers) -> None:
    ticks = sorted(set(int(w) for w in workers))
    for axes in grid.axes.flat:
        axes.set_xscale("log", base=2)
        axes.set_xticks(ticks, [str(t) for t in ticks])
        axes.minorticks_off()


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


def _ideal_line(data: pd.DataFrame, cores: int, measure: str | None = None, **_):
    workers = np.sort(data["workers"].astype(float).unique())
    which = measure or str(data["measure"].iloc[0])
    ideal = ideal_scaling(which, workers, cores)
    axes = plt.gca()
    axes.plot(workers, ideal, linestyle="--", color="0.25", linewidth=1.3, zorder=1)
    axes.annotate("ideal", (workers[-1], ideal[-1]), xytext=(4, 0), textcoords="offset points", va="center",
                  fontsize="small", color="0.25", annotation_clip=False)


MANY_LINES = 6  # from this many languages on, overlapping min–max bands turn a line plot to mud


def spread_shown_as(languages: pd.Series) -> str:
    """What a caption calls the min–max marks of a line plot drawn with _spread_style."""
    return "bands" if languages.nunique() < MANY_LINES else "bars"


def _spread_style(languages: pd.Series) -> dict:
    """Min–max as translucent bands for a few lines; as capped bars once there are MANY_LINES or more."""
    if spread_shown_as(languages) == "bands":
        return {"err_style": "band"}
    return {"err_style": "bars", "err_kws": {"capsize": 2.5, "elinewidth": 0.9}}


@themed
def speedup_efficiency(scaling: pd.DataFrame, cores: int, palette: dict):
    """Speedup and efficiency against workers, per language (hue) and mode (column); dashed: ideal."""
    data = compact(scaling)
    grid = sns.relplot(data=data, kind="line", x="workers", y="value", hue="language", style="language", markers=True,
                       dashes=False, row="measure", col="mode", estimator="median", errorbar=RANGE,
                       **_spread_style(data["language"]),
                       palette=palette, height=2.6, aspect=1.3,
                       facet_kws={"sharey": "row", "margin_titles": True})
    grid.map_dataframe(_ideal_line, cores=cores)
    grid.set_titles(col_template="{col_name}", row_template="")
    _label_rows(grid, "")
    _worker_axis(grid, data["workers"])
    return grid.figure


@themed
def parallelism(runs: pd.DataFrame, cores: int, palette: dict):
    """Effective parallelism (CPU seconds per wall second) against workers; dashed: min(workers, cores)."""
    data = compact(runs)
    grid = sns.relplot(data=data, kind="line", x="workers", y="parallelism", hue="language", style="language",
                       markers=True, dashes=False, col="mode", estimator="median", errorbar=RANGE, height=3.0,
                       aspect=1.2, palette=palette, **_spread_style(data["language"]))
    grid.map_dataframe(_ideal_line, cores=cores, measure="speedup")
    grid.refline(y=1, color="0.6", linestyle=":")
    grid.set_titles("{col_name}")
    grid.set_ylabels("effective parallelism\n(user + sys) / wall")
    _worker_axis(grid, data["workers"])
    return grid.figure


@themed
def context_switches(switches: pd.DataFrame, palette: dict):
    """Context switches per second of wall time, voluntary and involuntary (columns), per mode (rows)."""
    data = compact(switches)
    grid = sns.relplot(data=data, kind="line", x="workers", y="per_s", hue="language", style="language", markers=True,
                       dashes=False, col="kind", row="mode", estimator="median", errorbar=RANGE, height=2.6,
                       aspect=1.3, palette=palette, facet_kws={"margin_titles": True},
                       **_spread_style(data["language"]))
    grid.set(yscale="log")
    grid.set_titles(col_template="{col_name}", row_template="")
    _label_rows(grid, "switches / s")
    _worker_axis(grid, data["workers"])
    return grid.figure


@themed
def thread_migrations(threads: pd.DataFrame):
    """Per busy thread: the kernel's migration count and the core changes seen between samples; hue: `runs`, the
    mode (with the worker count where there are several)."""
    data = compact(threads)
    grid = sns.catplot(data=data, kind="strip", x="language", y="value", hue="runs", col="measure", dodge=True,
                       sharey=False, height=3.0, aspect=_wide_enough(data, 3.0, 1.3), alpha=0.6, jitter=0.25)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("", "per thread")
    return grid.figure


@themed
def peak_memory(memory: pd.DataFrame):
    """Peak resident memory per runtime (x), threads vs processes (hue), a column per worker count, for the
    largest process and the whole tree (rows); log scale, as runtimes differ a hundredfold."""
    data = compact(memory)
    counts = sorted(data["workers"].unique())
    data["workers"] = pd.Categorical(data["workers"].map(workers_label), [workers_label(count) for count in counts])
    grid = sns.catplot(data=data, kind="bar", x="language", y="mib", hue="mode", col="workers", row="measure",
                       estimator="median", errorbar=RANGE, height=2.4, aspect=_wide_enough(data, 2.4, 1.4),
                       sharey="row", margin_titles=True)
    grid.set(yscale="log")
    for axes in grid.axes.flat:   # 1, 2, 5, 10, ... rather than 10^0 and every minor tick's 2×10^1
        axes.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    grid.set_titles(col_template="{col_name}", row_template="")
    _label_rows(grid, "peak, MiB (log)")
    grid.set_xlabels("")
    grid.tight_layout()
    return grid.figure


@themed
def startup_vs_work(parts: pd.DataFrame):
    """Seconds of start-up (+ tear-down) next to seconds of work, per language and mode."""
    data = compact(parts)
    grid = sns.catplot(data=data, kind="bar", x="language", y="time_s", hue="part", col="mode", estimator="median",
                       errorbar=RANGE, height=3.0, aspect=_wide_enough(data, 3.0, 1.4))
    grid.set_titles("{col_name}")
    grid.set_axis_labels("", "seconds (median)")
    return grid.figure


@themed
def printing_effect(effect: pd.DataFrame):
    """sum vs sum-print (per sink) per language: throughput, kernel share of CPU and parallelism (rows), per mode."""
    data = compact(effect)
    grid = sns.catplot(data=data, kind="bar", x="language", y="value", hue="printed", row="measure", col="mode",
                       estimator="median", errorbar=RANGE, height=2.3, aspect=_wide_enough(data, 2.3, 1.6),
                       sharey="row", margin_titles=True)
    grid.set_titles(col_template="{col_name}", row_template="")
    _label_rows(grid, "")
    for row_name, row in zip(grid.row_names, grid.axes):
        if "iterations" in str(row_name):
            for axes in row:
                axes.set_yscale("log")
    grid.set_xlabels("")
    grid.tight_layout()
    return grid.figure


@themed
def noise_against_causes(runs: pd.DataFrame, palette: dict):
    """Each run's per-core noise (y) against a candidate cause (x, a column each), coloured by runtime and marked
    by its declared thread model; symlog x, as rates span 0 (no switches) to thousands a second."""
    data = compact(runs)
    grid = sns.relplot(data=data, kind="scatter", x="per_s", y="noise", hue="language", style="threads", col="cause",
                       palette=palette, height=3.4, aspect=1.25, s=50, alpha=0.8,
                       facet_kws={"sharex": False, "despine": False})
    for cause, axes in grid.axes_dict.items():   # rates are ≥ 0: no negative decades, room for the largest
        axes.set_xscale("symlog", linthresh=1)
        axes.set_xlim(-0.3, 2 * max(1.0, data.loc[data["cause"] == cause, "per_s"].max()))
    grid.set_titles("{col_name}")
    grid.set_axis_labels("per second (symlog)", "noise: per-core busy %\nstd over the work window")
    return grid.figure
