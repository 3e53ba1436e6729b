"""Each figure: a matplotlib Figure with the expected facets, drawn from the right data, or NoData."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from analysis import figures
from analysis.load import load_results
from figure_marks import point_medians


def _panels(figure) -> list:
    """Facet axes: the ones with a title or a label (not the colour bar)."""
    return [axes for axes in figure.axes if axes.get_label() != "colour bar"]


@pytest.fixture(scope="module")
def drawn(default_results):
    made = {name: draw(default_results) for name, _, draw in figures.FIGURES if name in FACETS}   # contract 1's
    yield made
    for result in made.values():
        plt.close(result.figure)


# figure name → (rows, columns) of facets in the default synthetic set (4 languages × 2 modes on 2 cores)
FACETS = {"task-manager": (8, 3), "core-graphs": (8, 2), "speedup": (2, 2), "parallelism": (1, 2),
          "context-switches": (2, 2), "migrations": (1, 2), "memory": (2, 4), "startup": (1, 2), "printing": (3, 2),
          "noise": (1, 2)}


@pytest.mark.parametrize("name", list(FACETS))
def test_every_figure_returns_a_figure_with_its_facets(drawn, name):
    result = drawn[name]
    assert isinstance(result.figure, Figure) and result.caption
    rows, columns = FACETS[name]
    assert len(_panels(result.figure)) == rows * columns


def test_task_manager_shows_views_and_the_gil(drawn):
    figure = drawn["task-manager"].figure
    titles = [axes.get_title() for axes in figure.axes[:3]]
    assert titles == ["expected (article)", "measured: this run", "measured: rest of machine"]
    labels = [axes.get_ylabel() for axes in figure.axes[0:24:3]]
    assert labels[0] == "C#\nthreads" and labels[6] == "Python\nthreads"

    def cells(row: int, column: int) -> np.ndarray:  # the core × time grid drawn in one panel
        return np.asarray(figure.axes[row * 3 + column].collections[0].get_array()).reshape(2, -1)

    go_threads, python_threads = cells(2, 1), cells(6, 1)
    busy = lambda grid: grid[:, grid.sum(axis=0) > 50]  # noqa: E731 — the work phase's columns
    assert busy(go_threads).mean(axis=1) == pytest.approx([95, 95], abs=6)  # both cores full
    assert busy(python_threads).mean() == pytest.approx(50, abs=10)  # one core's worth over two
    assert busy(python_threads).std(axis=1).min() > 2 * busy(go_threads).std(axis=1).max()  # and unsteady
    assert cells(6, 0)[1].max() == 0  # the article expected Python threads on one core only
    assert figure.axes[-1].get_label() == "colour bar"


def test_speedup_has_an_ideal_line_per_panel(drawn):
    for axes in _panels(drawn["speedup"].figure):
        assert any(line.get_linestyle() == "--" for line in axes.get_lines())
    legend = drawn["speedup"].figure.legends[0]
    assert [text.get_text() for text in legend.get_texts()] == ["C#", "Go", "Java", "Python"]


def _texts(figure) -> set[str]:
    """Every piece of text drawn in a figure: titles, axis and tick labels, legends, annotations."""
    return {text.get_text() for text in figure.findobj(Text) if text.get_text()}


@pytest.mark.parametrize("name", list(FACETS))
def test_every_figure_names_languages_by_their_display_name(drawn, name):
    labels = {piece for text in _texts(drawn[name].figure) for piece in re.split(r"\n| · ", text)}
    assert {"C#", "Go", "Java", "Python"} <= labels
    assert not labels & {"csharp", "go", "java", "python"}, labels  # the folder names


def test_sets_without_display_names_show_the_folder_names(make_set):
    results = load_results(make_set(displays=False, samples=False, reps=2, workers=(1, 2)))
    figure = figures.speedup(results).figure
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    plt.close(figure)
    assert legend == ["csharp", "go", "java", "python"]


def test_figures_that_need_samples_say_so(make_set):
    results = load_results(make_set(samples=False, reps=2))
    for name in ("task-manager", "core-graphs", "migrations", "memory"):
        draw = dict((n, d) for n, _, d in figures.FIGURES)[name]
        with pytest.raises(figures.NoData, match="no samples|sampler"):
            draw(results)
    figures.speedup(results)  # needs no samples


def test_draw_all_saves_pngs_and_reasons(make_set, tmp_path):
    results = load_results(make_set(samples=False, reps=1, workers=(2,), langs=("go", "python")))
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "task-manager.png").write_bytes(b"stale")
    outcomes = {o.name: o for o in figures.draw_all(results, tmp_path / "figures")}
    assert outcomes["task-manager"].path is None and "no samples" in outcomes["task-manager"].caption
    assert not (tmp_path / "figures" / "task-manager.png").exists()  # no stale picture left behind
    assert outcomes["speedup"].path is None and "1-worker" in outcomes["speedup"].caption
    assert outcomes["parallelism"].path.read_bytes()[:4] == b"\x89PNG"


def test_one_worker_count_puts_runtimes_along_x_and_one_run_each_says_it_has_no_spread(make_set, default_results):
    """A line needs two worker counts: with one (the smoke and seed profiles), a point per runtime along x."""
    one = load_results(make_set(samples=False, reps=1, workers=(2,), langs=("go", "python")))
    drawn = figures.parallelism(one)
    assert [label.get_text() for label in drawn.figure.axes[0].get_xticklabels()] == ["Go", "Python"]
    assert drawn.figure.axes[0].get_xlabel() == "2 workers"
    assert "One run per configuration" in drawn.caption and "min–max" not in drawn.caption
    several = figures.parallelism(default_results)
    assert several.figure.axes[0].get_xlabel() == "workers" and "Median and min–max" in several.caption
    runs = default_results.runs
    reps = runs[runs["measured"] & (runs["experiment"] == "cpu")].groupby(
        ["language", "mode", "workers"], observed=True).size()
    assert f"({reps.min()} runs a mark)" in several.caption or f"({reps.min()}–{reps.max()} runs a mark)" in \
        several.caption


def test_the_memory_figure_counts_a_trees_shared_pages_once_and_says_where_that_came_from(default_results):
    """The synthetic set is of schema version 1, which read no PSS: its tree panel is the sum of peaks, and the
    caption says it overstates; with the tree memory of version 2 the panel draws it and names PSS."""
    import dataclasses

    def tallest_tree_mark(drawn) -> float:
        bottom_row = _panels(drawn.figure)[4:8]
        return max(median for axes in bottom_row for hue in point_medians(axes) for median in hue)

    old = figures.memory(default_results)
    assert "sum of every process's own peak" in old.caption and "predates the PSS reading" in old.caption
    runs = default_results.runs.copy()
    runs["tree_memory_mib"] = runs["tree_rss_mib"] / 4
    runs["tree_memory_source"] = runs["tree_rss_mib"].map(lambda mib: "pss" if mib == mib else None)
    new = figures.memory(dataclasses.replace(default_results, runs=runs))
    assert "PSS read at one sample" in new.caption and "overstates" not in new.caption
    assert tallest_tree_mark(new) == pytest.approx(tallest_tree_mark(old) / 4)
    plt.close(old.figure)
    plt.close(new.figure)


def test_the_memory_figure_finds_threads_and_processes_where_the_headline_ran_one_mode(default_results):
    """The claims profile's headline (`cpu`) runs threads only; memory is about what processes cost, so the figure
    draws the first sum experiment that ran both modes."""
    import dataclasses
    runs = default_results.runs
    headline_threads_only = runs.assign(measured=runs["measured"] & (runs["mode"] == "threads"))
    both = runs.assign(run_id="both." + runs["run_id"].astype(str), experiment="both")
    merged = pd.concat([headline_threads_only, both], ignore_index=True)
    merged["experiment"] = pd.Categorical(merged["experiment"].astype(str),
                                          [*runs["experiment"].cat.categories, "both"])
    drawn = figures.memory(dataclasses.replace(default_results, runs=merged))
    legend = [text.get_text() for text in drawn.figure.legends[0].get_texts()]
    plt.close(drawn.figure)
    assert "experiment 'both'" in drawn.caption and legend == ["threads", "processes"]
    only_threads = figures.memory(dataclasses.replace(default_results, runs=headline_threads_only))
    plt.close(only_threads.figure)
    assert [text.get_text() for text in only_threads.figure.legends[0].get_texts()] == ["threads"]

def test_printing_names_the_sink_each_sum_print_went_to(drawn):
    legend = drawn["printing"].figure.legends[0]
    assert [text.get_text() for text in legend.get_texts()] == ["sum", "sum-print → tty"]


def test_printing_keeps_the_sinks_apart_in_their_order():
    pairs = pd.DataFrame({"workload": ["sum-print", "sum", "sum-print", "sum-print"],
                          "sink": ["tty", "devnull", "devnull", "pipe"]})
    printed = figures._printed_to(pairs)
    assert list(printed) == ["sum-print → tty", "sum", "sum-print → devnull", "sum-print → pipe"]
    assert list(printed.categories[:4]) == ["sum", "sum-print → devnull", "sum-print → pipe", "sum-print → file"]


def test_min_max_marks_turn_from_bands_to_bars_with_many_languages():
    from analysis import plots
    few, many = pd.Series(list("abcde")), pd.Series(list("abcdef"))
    assert plots.spread_shown_as(few) == "bands" and plots.spread_shown_as(many) == "bars"
    assert plots._spread_style(few) == {"err_style": "band"}
    assert plots._spread_style(many)["err_style"] == "bars"


def test_long_runtime_names_on_an_x_axis_are_wrapped_and_short_ones_kept():
    from analysis.workload_plots import handoff_latency
    runs = pd.DataFrame({"language": pd.Categorical(["C", "CPython free-threaded", "PyPy"] * 2),
                         "mode": ["threads"] * 3 + ["processes"] * 3, "workers": 2, "cores": 2,
                         "ns_per_handoff": [1e4, 2e4, 3e4, 1.1e4, 2.2e4, 3.3e4]})
    figure = handoff_latency(runs)
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    plt.close(figure)
    assert labels == ["C", "CPython\nfree-threaded", "PyPy"]


def test_the_noise_figure_draws_each_run_claim_e_judges(default_results, drawn):
    from analysis.claims_noise import HANDOFFS, NOISE, SWITCHES, noise_runs
    runs, _ = noise_runs(default_results)
    figure = drawn["noise"].figure
    left, right = _panels(figure)
    assert [left.get_title(), right.get_title()] == ["context switches / s",
                                                     "GIL hand-offs / s (busy threads' voluntary switches)"]
    points = np.concatenate([dots.get_offsets() for dots in left.collections])
    assert sorted(map(tuple, points.round(6))) == sorted(zip(runs[SWITCHES].round(6), runs[NOISE].round(6)))
    handoffs = np.concatenate([dots.get_offsets() for dots in right.collections])[:, 0]
    assert sorted(handoffs.round(6)) == sorted(runs[HANDOFFS].dropna().round(6))
    assert left.get_xlim()[0] > -1 and left.get_xlim()[1] >= 2 * runs[SWITCHES].max()   # no negative decades
    assert f"({len(runs)} runs)" in drawn["noise"].caption


def test_claim_e_links_the_noise_figure():
    from analysis.claims_noise import NOISE_CLAIMS
    spec = next(spec for spec in NOISE_CLAIMS if spec.key == "e")
    assert spec.figure == "noise" and "noise" in {name for name, _, _ in figures.FIGURES}


def test_a_runtime_keeps_its_colour_and_its_variants_are_shades_of_one_hue():
    import colorsys
    from matplotlib.colors import to_rgb
    from analysis.plots import runtime_palette
    names = ["C", "Go", "CPython", "CPython free-threaded", "PyPy", "Java 17", "Java 25", "Rust", "Node.js",
             "C++", "C#"]
    folders = ["c", "go", "python", "python", "python", "java", "java", "rust", "node", "cpp", "csharp"]
    runs = pd.DataFrame({"language": pd.Categorical(names, names, ordered=True), "lang": folders})
    palette = runtime_palette(runs)
    assert list(palette) == names and len(set(palette.values())) == len(names)   # eleven runtimes, eleven colours
    hue = lambda name: round(colorsys.rgb_to_hls(*to_rgb(palette[name]))[0], 3)   # noqa: E731
    lightness = lambda name: colorsys.rgb_to_hls(*to_rgb(palette[name]))[1]   # noqa: E731
    assert hue("CPython") == hue("CPython free-threaded") == hue("PyPy") and hue("Java 17") == hue("Java 25")
    assert lightness("CPython") < lightness("CPython free-threaded") < lightness("PyPy")   # darkest first
    families = {hue(name) for name in ["C", "Go", "CPython", "Java 17", "Rust", "Node.js", "C++", "C#"]}
    assert len(families) == 8                                                    # a hue per language
    without_go = runtime_palette(runs[runs["lang"] != "go"])   # a category with no runs: no colour, no hue taken
    assert "Go" not in without_go
    assert round(colorsys.rgb_to_hls(*to_rgb(without_go["CPython"]))[0], 3) == hue("Go")   # Python moves up one


def test_the_speedup_caption_counts_the_medians_above_the_ideal(default_results):
    from analysis import tidy
    runs = tidy.headline_runs(default_results, tidy.headline(default_results), all_workers=True)
    one = runs[runs["workers"] == 1].groupby(["lang", "mode"], observed=True)["throughput"].median()
    ideal = runs.apply(lambda run: one[run["lang"], run["mode"]] * min(run["workers"], run["cores"]), axis=1)
    several = runs["workers"] > 1
    near = ideal * np.where(several, 1.049, 1.0)
    assert figures._above_ideal(tidy.scaling(runs.assign(throughput=near))) == ""   # within 5 % of it: nothing
    faster = ideal * np.where(several, np.where(runs["lang"] == "go", 1.2, 0.9), 1.0)   # Go's at N ≥ 2: 20 % above
    medians = runs.loc[runs["lang"] == "go"].groupby(["mode", "workers"], observed=True).size()
    said = figures._above_ideal(tidy.scaling(runs.assign(throughput=faster)))
    total = runs[runs["workers"] > 1].groupby(["lang", "mode", "workers"], observed=True).ngroups
    assert said.startswith(f" {int((medians.index.get_level_values('workers') > 1).sum())} of {total} medians at "
                           f"N ≥ 2 workers lie above the ideal (efficiency > 1.05, at most 1.20)")


def test_the_memory_caption_warns_of_runs_too_short_for_a_second_pss_reading(default_results):
    runs = default_results.runs.assign(tree_memory_source="pss", tree_memory_bytes=2**20)
    assert figures._single_pss_reading(runs.assign(wall_s=1.0)) == ""            # a second reading at 1 s
    shorter = runs.assign(wall_s=np.where(runs.index % 2 == 0, 0.5, 1.5))
    said = figures._single_pss_reading(shorter)
    assert said.startswith(f" {(shorter['wall_s'] < 1).sum()} of {len(runs)} of these runs lasted under 1 s: "
                           f"the sampler reads a tree's PSS at its first sample")
    cgroup = shorter.assign(tree_memory_source="cgroup")   # a cgroup's peak is kept by the kernel: no warning
    assert figures._single_pss_reading(cgroup) == ""


def test_captions_say_what_perf_adds_to_the_switches_and_name_only_the_sinks_printed_to(default_results):
    import dataclasses
    runs = default_results.runs
    wrapped = dataclasses.replace(default_results, runs=runs.assign(
        perf_context_switches=runs["ctx_voluntary"] + runs["ctx_involuntary"] - 7))
    caption = figures.context_switches(wrapped).caption
    assert "wait4's counts include perf's own process: 7 switches a run more than perf counted" in caption
    assert "perf" not in figures.context_switches(default_results).caption
    printing = figures.printing(default_results).caption
    printed = set(runs.loc[runs["workload"] == "sum-print", "sink"].astype(str))
    assert all(f"{sink}:" in printing for sink in printed)
    assert all(f"{sink}:" not in printing for sink in {"devnull", "pipe", "file", "tty"} - printed)
