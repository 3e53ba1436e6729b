"""One function per figure: each takes tidy long-form data, makes one figure-level seaborn call and returns
the figure. Saving, captions and choosing the data are figures.py's business."""

from __future__ import annotations

import colorsys
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
# tab10's hues in the order languages get them: ten that read apart (colorblind's orange and vermillion, or
# its yellow shaded for three Python variants, did not); the 7th (Python's in the shipped order) is cyan, which
# keeps three shades apart from dark to light
FAMILY_HUES = [0, 1, 2, 3, 4, 5, 9, 6, 8, 7]
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
    distinct = sns.color_palette("tab10")
    hues = ([distinct[index] for index in FAMILY_HUES] if len(families) <= len(FAMILY_HUES)
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


def _against_workers(data: pd.DataFrame, y: str, palette: dict, height: float, aspect: float, **facets):
    """A line per runtime against workers, median and min–max over repetitions; with a single worker count, a
    point per runtime along x instead: a line needs two x values, and eleven runtimes on one x hide each other.
    facets: col and row, and margin_titles."""
    if data["workers"].nunique() > 1:
        grid = sns.relplot(data=data, kind="line", x="workers", y=y, hue="language", style="language", markers=True,
                           dashes=False, estimator="median", errorbar=RANGE, height=height, aspect=aspect,
                           palette=palette, facet_kws={"margin_titles": facets.pop("margin_titles", False)},
                           **_spread_style(data["language"]), **facets)
        _worker_axis(grid, data["workers"])
        return grid
    grid = sns.catplot(data=data, kind="point", x="language", y=y, hue="language", estimator="median",
                       errorbar=RANGE, linestyle="none", capsize=0.25, palette=palette, legend=False, height=height,
                       aspect=_wide_enough(data, height, aspect), **facets)
    grid.set_xlabels(workers_label(data["workers"].iloc[0]))
    return grid


@themed
def parallelism(runs: pd.DataFrame, cores: int, palette: dict):
    """Effective parallelism (CPU seconds per wall second) against workers; dashed: min(workers, cores)."""
    data = compact(runs)
    grid = _against_workers(data, "parallelism", palette, 3.0, 1.2, col="mode")
    if data["workers"].nunique() > 1:
        grid.map_dataframe(_ideal_line, cores=cores, measure="speedup")
    else:
        grid.refline(y=min(int(data["workers"].iloc[0]), cores), color="0.25", linestyle="--", linewidth=1.3)
    grid.refline(y=1, color="0.6", linestyle=":")
    grid.set_titles("{col_name}")
    grid.set_ylabels("effective parallelism\n(user + sys) / wall")
    return grid.figure


@themed
def context_switches(switches: pd.DataFrame, palette: dict):
    """Context switches per second of wall time, voluntary and involuntary (columns), per mode (rows)."""
    data = compact(switches)
    grid = _against_workers(data, "per_s", palette, 2.6, 1.3, col="kind", row="mode", margin_titles=True)
    grid.set(yscale="log")
    grid.set_titles(col_template="{col_name}", row_template="")
    _label_rows(grid, "switches / s")
    return grid.figure


@themed
def thread_migrations(threads: pd.DataFrame, moves_per_s: float):
    """Per busy thread: the kernel's migrations a second in the work window (first panel, with claim (d)'s line
    at moves_per_s) and the core changes seen between samples; hue: `runs`, the mode (with the worker count
    where there are several)."""
    data = compact(threads)
    grid = sns.catplot(data=data, kind="strip", x="language", y="value", hue="runs", col="measure", dodge=True,
                       sharey=False, height=3.0, aspect=_wide_enough(data, 3.0, 1.3), alpha=0.6, jitter=0.25)
    grid.axes.flat[0].axhline(moves_per_s, color="0.25", linestyle="--", linewidth=1.2, zorder=1)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("", "per thread")
    return grid.figure


def _apart(data: pd.DataFrame) -> float | bool:
    """How far a point plot sets the modes apart: seaborn divides by zero when asked to dodge a single mode."""
    return 0.4 if data["mode"].nunique() > 1 else False


@themed
def peak_memory(memory: pd.DataFrame):
    """Peak resident memory per runtime (x), threads vs processes (hue), a column per worker count, for the
    largest process and the whole tree (rows); log scale, as runtimes differ a hundredfold."""
    data = compact(memory)
    counts = sorted(data["workers"].unique())
    data["workers"] = pd.Categorical(data["workers"].map(workers_label), [workers_label(count) for count in counts])
    # points, not bars: a bar's length on a log axis depends on where the axis happens to start
    grid = sns.catplot(data=data, kind="point", x="language", y="mib", hue="mode", col="workers", row="measure",
                       estimator="median", errorbar=RANGE, linestyle="none", dodge=_apart(data), markersize=5,
                       height=2.4, aspect=_wide_enough(data, 2.4, 1.4), sharey="row", margin_titles=True)
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
    # a mode per row: side by side, two panels of eleven runtimes made a figure too wide to read on a page
    grid = sns.catplot(data=data, kind="bar", x="language", y="time_s", hue="part", row="mode", estimator="median",
                       errorbar=RANGE, height=2.6, aspect=_wide_enough(data, 2.6, 1.4), margin_titles=True)
    grid.set_titles(row_template="")
    _label_rows(grid, "seconds (median)")
    grid.set_xlabels("")
    return grid.figure


@themed
def printing_effect(effect: pd.DataFrame):
    """sum vs sum-print (per sink) per language: throughput, kernel share of CPU and parallelism (rows), per mode."""
    data = compact(effect)
    # points, as the throughput row is on a log axis, where a bar's length depends on where the axis starts
    several = data["printed"].nunique() > 1
    grid = sns.catplot(data=data, kind="point", x="language", y="value", hue="printed", row="measure", col="mode",
                       estimator="median", errorbar=RANGE, linestyle="none", dodge=0.5 if several else False,
                       markersize=5, height=2.3, aspect=_wide_enough(data, 2.3, 1.6), sharey="row",
                       margin_titles=True)
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
