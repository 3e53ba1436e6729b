"""The figures of contract 2's workloads (analysis/workload_figures.py): drawn from the right data when the set
ran their workloads, left out of the report when it did not, and NoData when it ran them but none was measured."""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis import claims, figures, workload_figures, workload_tidy
from analysis.drawn import NoData, NotShown
from figure_marks import point_medians

NAMES = [name for name, _, _ in workload_figures.WORKLOAD_FIGURES]


@pytest.fixture(scope="module")
def drawn(workload_results):
    made = {name: draw(workload_results) for name, _, draw in workload_figures.WORKLOAD_FIGURES}
    yield made
    for result in made.values():
        plt.close(result.figure)


def test_every_workload_figure_is_registered_with_the_others():
    names = [name for name, _, _ in figures.FIGURES]
    assert names[names.index("handoffs"):][:len(NAMES)] == NAMES == ["handoffs", "gil-reach", "crash", "contention"]


def test_hand_offs_are_points_per_runtime_and_mode_on_a_log_scale(drawn):
    axes = drawn["handoffs"].figure.axes[0]
    assert axes.get_yscale() == "log" and [t.get_text() for t in axes.get_xticklabels()] == ["C#", "Go", "Java",
                                                                                             "Python"]
    assert not axes.patches, "bars on a log axis have lengths that depend on where the axis starts"
    threads, processes = point_medians(axes)
    assert threads[1] == pytest.approx(250, rel=0.1) and processes[1] == pytest.approx(7000, rel=0.1)


def test_hand_offs_pinned_to_one_core_are_judged_and_drawn_apart(workload_results):
    """claims' handoff-1core experiment (`cpus: 1`): each core count is a group of claim (h) and a panel."""
    runs = workload_results.runs
    pingpong = runs[runs["workload"] == "pingpong"]
    pinned = pingpong.assign(run_id="1core." + pingpong["run_id"].astype(str), cores=1)
    both = dataclasses.replace(workload_results, runs=pd.concat([runs, pinned], ignore_index=True))
    drawn = workload_figures.handoffs(both)
    titles = [axes.get_title() for axes in drawn.figure.axes]
    plt.close(drawn.figure)
    assert titles == ["2 workers on 1 core", "2 workers on 2 cores"] and "pinned to one core" in drawn.caption
    judged = next(claim for claim in claims.evaluate(both) if claim.key == "h")
    groups = set(judged.evidence["group"])
    assert {"Java · 2 workers · on 1 core · threads", "Java · 2 workers · on 2 cores · processes"} <= groups


def test_gil_reach_has_a_panel_per_workload(drawn):
    titles = [axes.get_title() for axes in drawn["gil-reach"].figure.axes]
    assert titles == ["sum", "io", "native"]
    assert "min(N, cores)" in drawn["gil-reach"].caption and "N for io" in drawn["gil-reach"].caption


def test_the_crash_matrix_says_what_each_runtime_did(drawn):
    axes = drawn["crash"].figure.axes[0]
    cells = [text.get_text() for text in axes.texts]
    assert cells[0] == "process died\n(3 of 3 runs)"                                         # C# threads
    assert cells[1] == "process survived\n1 of 2 workers finished\n(3 of 3 runs)"            # C# processes
    assert [t.get_text() for t in axes.get_yticklabels()] == ["C#", "Go", "Java", "Python"]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["threads", "processes"]


def test_contention_has_throughput_and_switches_against_workers(drawn):
    panels = drawn["contention"].figure.axes
    assert [axes.get_title() for axes in panels] == ["iterations / s per worker",
                                                      "voluntary switches per 1000 operations"]
    assert panels[0].get_yscale() == "log" and panels[1].get_yscale() == "symlog"


def test_contention_at_one_worker_count_puts_the_runtimes_along_x(workload_results):
    import dataclasses
    runs = workload_results.runs
    at_two = dataclasses.replace(workload_results, runs=runs[runs["workers"].isin([2])])
    figure = workload_figures.contention(at_two).figure
    assert figure.axes[-1].get_xlabel() == "2 workers"
    assert [label.get_text() for label in figure.axes[-1].get_xticklabels()] == ["C#", "Go", "Java", "Python"]
    assert figure.axes[1].get_yscale() == "symlog"


def test_a_set_without_the_workloads_leaves_their_figures_out(default_results, tmp_path):
    for _, _, draw in workload_figures.WORKLOAD_FIGURES:
        with pytest.raises(NotShown):
            draw(default_results)
    small = two_workers_only(default_results)
    outcomes = [outcome.name for outcome in figures.draw_all(small, tmp_path)]
    assert not set(NAMES) & set(outcomes) and "printing" in outcomes


def two_workers_only(results):
    """The set with only its 2-worker runs, so draw_all is quick."""
    return dataclasses.replace(results, runs=results.runs[results.runs["workers"] == 2],
                               samples=results.samples.iloc[:0], threads=results.threads.iloc[:0])


def test_workloads_run_but_never_measured_say_why(workload_results):
    nothing = dataclasses.replace(workload_results, runs=workload_results.runs.assign(measured=False))
    for name, _, draw in workload_figures.WORKLOAD_FIGURES:
        with pytest.raises(NoData) as raised:
            draw(nothing)
        assert not isinstance(raised.value, NotShown), name


def _plotted(axes) -> list[float]:
    return sorted(y for line in point_medians(axes) for y in line)


def test_gil_reach_plots_the_median_speedup_of_each_runtime_mode_and_worker_count(drawn, workload_results):
    speedups = workload_tidy.speedups(workload_results)
    for axes in drawn["gil-reach"].figure.axes:
        of_panel = speedups[speedups["workload"].astype(str) == axes.get_title()]
        medians = of_panel.groupby(["language", "mode", "workers"], observed=True)["value"].median()
        assert _plotted(axes) == pytest.approx(sorted(medians), rel=1e-6), axes.get_title()


def test_contention_plots_the_median_of_each_runtime_workload_and_worker_count(drawn, workload_results):
    pairs = workload_tidy.contention(workload_results)
    panels = dict(zip(["per_worker", "voluntary_per_k"], drawn["contention"].figure.axes))
    for measure, axes in panels.items():
        medians = pairs.groupby(["language", "workload", "workers"], observed=True)[measure].median().dropna()
        assert _plotted(axes) == pytest.approx(sorted(medians), rel=1e-6), measure
