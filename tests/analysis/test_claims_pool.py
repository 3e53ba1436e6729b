"""Claim (l) (analysis/claims_pool.py) on small sets of pool and async runs (synthetic_pools.py): supported,
contradicted and inconclusive, its edge at one thread short of one per task, the threads-mode control judged
on the threads the sampler saw do work (busy_threads), and its figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis import claims
from analysis.claims import CONTRADICTED, INCONCLUSIVE, SUPPORTED
from analysis.load import load_results
from analysis.claims_pool import task_runs
from analysis.pool_figures import task_threads
from labpaths import load_by_path

pools = load_by_path("polylab_tests_analysis_synthetic_pools", Path(__file__).parent / "synthetic_pools.py")


def judged(tmp_path, threads_used: dict, **options) -> claims.Claim:
    results = load_results(pools.write_pool_set(tmp_path / "set", threads_used, **options))
    return {claim.key: claim for claim in claims.evaluate(results)}["l"]


def test_a_thread_per_task_everywhere_supports_it(tmp_path):
    claim = judged(tmp_path, {("java:25", "pool"): [8, 8, 8], ("java:25", "async"): [8, 8, 8],
                              ("python:cpython", "pool"): [8, 8]})
    assert claim.verdict == SUPPORTED
    assert claim.reason == ("every conclusive group ran each task on a thread of its own — supported: "
                            "java:25 · sum · pool · 8 tasks, java:25 · sum · async · 8 tasks, "
                            "python:cpython · sum · pool · 8 tasks")
    assert claim.by_variant == {"java:25": SUPPORTED, "python:cpython": SUPPORTED}
    evidence = claim.evidence.set_index(["group", "measure"])
    pool = evidence.loc[("java:25 · sum · pool · 8 tasks", "OS threads used by 8 tasks (program)")]
    assert (pool["median"], pool["n"], pool["outcome"]) == (8, 3, "supported; pool size 4")
    beside = evidence.loc[("java:25 · sum · pool · 8 tasks", "busy OS threads (sampler)")]
    assert (beside["n"], beside["outcome"]) == (0, "the kernel's count beside threads_used, which decides")
    control = evidence.loc[("java:25 · sum · threads · 8 tasks", "busy OS threads of 8 workers (sampler)")]
    assert (control["median"], control["n"], control["outcome"]) == (
        8, 3, "control: supported; at least one thread per worker expected")
    assert evidence.loc[("java:25 · sum · async · 8 tasks", "OS threads used by 8 tasks (program)"),
                        "outcome"] == "supported; no pool size reported"


def test_tasks_sharing_threads_contradict_it(tmp_path):
    claim = judged(tmp_path, {("java:25", "pool"): [8, 8, 8], ("python:cpython", "async"): [1, 1, 1],
                              ("python:cpython", "pool"): [8, 8, 8]})
    assert claim.verdict == CONTRADICTED
    assert claim.reason.startswith("some runtime ran several tasks on one thread — supported: java:25 · sum · pool")
    assert claim.reason.endswith("contradicted: python:cpython · sum · async · 8 tasks")
    assert claim.by_variant == {"java:25": SUPPORTED, "python:cpython": CONTRADICTED}
    row = claim.evidence.set_index(["group", "measure"]).loc[
        ("python:cpython · sum · async · 8 tasks", "OS threads used by 8 tasks (program)")]
    assert (row["median"], row["spread"], row["outcome"]) == (1, "1–1", "contradicted; no pool size reported")


@pytest.mark.parametrize("threads_used, verdict, reason", [
    ({("java:25", "pool"): [8]}, INCONCLUSIVE, "only 0 of 1 groups conclusive — inconclusive: "),   # one run
    ({("java:25", "pool"): [8, 5, 8]}, INCONCLUSIVE, "only 0 of 1 groups conclusive"),        # runs disagree
    ({("java:25", "pool"): [8, 9]}, INCONCLUSIVE, "only 0 of 1 groups conclusive"),           # a task moved
    ({("java:25", "pool"): [8, 8], ("java:25", "async"): [3, 9], ("python:cpython", "pool"): [8]}, INCONCLUSIVE,
     "only 1 of 3 groups conclusive"),
], ids=["one run", "runs disagree", "more threads than tasks", "fewer than half conclusive"])
def test_too_few_or_split_runs_leave_it_open(tmp_path, threads_used, verdict, reason):
    claim = judged(tmp_path, threads_used)
    assert claim.verdict == verdict and claim.reason.startswith(reason)


@pytest.mark.parametrize("used, verdict", [(7, CONTRADICTED), (8, SUPPORTED)], ids=["N - 1", "N"])
def test_the_edge_is_one_thread_per_task(tmp_path, used, verdict):
    claim = judged(tmp_path, {("java:25", "pool"): [used, used]})
    assert claim.verdict == verdict


def _control(claim: claims.Claim, group: str) -> str:
    return claim.evidence.set_index(["group", "measure"]).loc[(group, "busy OS threads of 8 workers (sampler)"),
                                                              "outcome"]


def test_a_control_with_too_few_busy_threads_sets_the_variant_aside(tmp_path):
    claim = judged(tmp_path, {("java:25", "pool"): [2, 2]}, busy={("java:25", "threads"): [3, 3]})
    assert claim.verdict == INCONCLUSIVE and claim.by_variant == {"java:25": INCONCLUSIVE}
    assert _control(claim, "java:25 · sum · threads · 8 tasks").startswith("control: contradicted")
    row = claim.evidence.set_index(["group", "measure"]).loc[
        ("java:25 · sum · pool · 8 tasks", "OS threads used by 8 tasks (program)")]
    assert row["outcome"] == ("inconclusive (set aside: in its threads-mode control fewer threads did work than "
                              "there were workers); pool size 4")


@pytest.mark.parametrize("busy, control, verdict", [
    ([7, 7], "control: contradicted", INCONCLUSIVE), ([8, 8], "control: supported", CONTRADICTED),
    ([12, 12], "control: supported", CONTRADICTED), ([7, 8], "control: inconclusive", CONTRADICTED),
], ids=["N - 1", "N", "helpers too", "runs on both sides"])
def test_the_control_s_edge_is_one_busy_thread_per_worker(tmp_path, busy, control, verdict):
    claim = judged(tmp_path, {("java:25", "pool"): [2, 2]}, busy={("java:25", "threads"): busy})
    assert _control(claim, "java:25 · sum · threads · 8 tasks").startswith(control)
    assert claim.verdict == verdict


def test_a_control_the_sampler_did_not_see_is_inconclusive_and_sets_nothing_aside(tmp_path):
    claim = judged(tmp_path, {("java:25", "pool"): [2, 2]}, sample_hz=0.0)
    assert _control(claim, "java:25 · sum · threads · 8 tasks") == \
        "control: inconclusive (the sampler was off: sample_hz 0)"
    assert claim.verdict == CONTRADICTED
    unseen = judged(tmp_path / "unseen", {("java:25", "pool"): [2, 2]}, busy={("java:25", "threads"): [None, 8]})
    assert _control(unseen, "java:25 · sum · threads · 8 tasks").startswith(
        "control: inconclusive (busy threads seen in 1 of 2 runs")


def test_go_s_threads_mode_is_no_control(tmp_path):
    claim = judged(tmp_path, {("go", "pool"): [2, 2]}, busy={("go", "threads"): [2, 2]})
    assert _control(claim, "go · sum · threads · 8 tasks").startswith(
        "no control: Go's threads mode runs goroutines")
    assert claim.verdict == CONTRADICTED


def test_busy_threads_count_the_threads_that_worked_in_the_window(tmp_path):
    results = load_results(pools.write_pool_set(tmp_path / "set", {("java:25", "pool"): [2, 2]},
                                                busy={("java:25", "pool"): [5, None]}))
    runs = task_runs(results).set_index(["mode", "rep"])["busy_threads"]
    assert runs[("threads", 1)] == 8            # the main thread's start-up CPU falls before the window
    assert runs[("pool", 1)] == 5
    assert pd.isna(runs[("pool", 2)])           # no reading: not zero but unknown


@pytest.mark.parametrize("share, busy", [(0.24, 8), (0.25, 9), (0.26, 9)])
def test_a_thread_did_work_from_a_quarter_of_a_task_s_cpu(tmp_path, share, busy):
    """A helper that gained a quarter of the median task thread's CPU in the window did work, as a JIT compiler
    or GC thread that works as hard does; just under a quarter, it did not (DID_WORK_SHARE's edge)."""
    results = load_results(pools.write_pool_set(tmp_path / "set", {("java:25", "pool"): [2, 2]},
                                                helper_cpu_s=share * pools.TASK_CPU_S))
    runs = task_runs(results).set_index(["mode", "rep"])["busy_threads"]
    assert runs[("threads", 1)] == busy and runs[("threads", 2)] == busy   # 8 workers, + the helper if it worked


def test_a_set_without_pool_or_async_runs_says_so(default_results):
    claim = {claim.key: claim for claim in claims.evaluate(default_results)}["l"]
    assert (claim.verdict, claim.reason) == (
        INCONCLUSIVE, "no pool or async runs that report their tasks' threads in this results set")


def test_the_figure_draws_tasks_against_threads(tmp_path):
    results = load_results(pools.write_pool_set(tmp_path / "set", {
        ("java:25", "pool"): [4, 4, 4], ("java:25", "async"): [8, 8, 8], ("python:cpython", "pool"): [8, 8, 8],
        ("python:cpython", "async"): [1, 1, 1]}, workload="io"))
    drawn = task_threads(results)
    axes = drawn.figure.axes[0]
    heights = sorted(round(bar.get_height()) for bar in axes.patches if bar.get_height() > 0)
    assert heights == [1, 4, 8, 8, 8, 8]     # per runtime: threads (8 busy), pool, async
    assert [line.get_ydata()[0] for line in axes.lines if line.get_linestyle() == "--"] == [8.0]
    assert drawn.caption.startswith("How many OS threads the tasks took (8 tasks;")
    drawn.figure.savefig(tmp_path / "task-threads.png", dpi=80)
    plt.close(drawn.figure)
