"""Long-form transforms: headline choice, representative run, Task Manager grid, windows, threads, scaling."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analysis import tidy
from analysis.load import ResultsSet, ordered


def test_headline_is_the_first_sum_experiment_at_its_largest_worker_count(default_results):
    assert tidy.headline(default_results) == tidy.Headline("cpu", 8)


def test_a_sum_experiment_in_duration_mode_is_the_headline_before_a_count_one(default_results):
    """The smoke profile runs `cpu-count` before `cpu-duration`: a fast language's count run ends within a sample."""
    runs = default_results.runs
    count = runs.assign(duration_mode=False, seconds=None)
    timed = runs[runs["workload"] == "sum"].assign(
        experiment=lambda frame: frame["experiment"].cat.rename_categories({"cpu": "cpu-duration"}),
        run_id=lambda frame: "timed." + frame["run_id"], duration_mode=True)
    both = pd.concat([count, timed], ignore_index=True)
    both["experiment"] = ordered(both["experiment"].astype(str), list(dict.fromkeys(["cpu", "cpu-duration",
                                                                                     *both["experiment"].astype(str)])))
    assert tidy.headline(dataclasses.replace(default_results, runs=both)) == tidy.Headline("cpu-duration", 8)
    assert tidy.headline(dataclasses.replace(default_results, runs=count)) == tidy.Headline("cpu", 8)


def test_without_sum_runs_the_headline_is_the_first_experiment(default_results):
    """The seed profile has only the article's sum-print experiment: its runs still get the figures."""
    printing_only = dataclasses.replace(
        default_results, runs=default_results.runs[default_results.runs["workload"] == "sum-print"])
    head = tidy.headline(printing_only)
    assert head is not None and head.experiment == printing_only.runs["experiment"].iloc[0]


def test_representative_run_is_nearest_the_median_speed_among_the_preferred():
    runs = pd.DataFrame({"run_id": ["r1", "r2", "r3"], "wall_s": [1.0, 3.0, 1.2], "throughput": [5.0, 1.0, 4.0],
                         "lang": ordered(["go"] * 3, ["go"]), "language": ordered(["Go"] * 3, ["Go"]),
                         "mode": ordered(["threads"] * 3, ["threads"])})
    assert tidy.representative(runs)["run_id"].tolist() == ["r3"]
    assert tidy.representative(runs, {"r1", "r2"})["run_id"].tolist() == ["r1"]  # sampled runs preferred
    assert tidy.representative(runs, {"r1", "r2"}, {"r2", "r3"})["run_id"].tolist() == ["r2"]  # then quiet ones
    assert tidy.representative(runs, {"r1", "r2"}, {"r3"})["run_id"].tolist() == ["r1"]  # a preference left none
    assert tidy.representative(runs.assign(throughput=None))["run_id"].tolist() == ["r3"]  # by wall time


def test_article_expectation():
    """From the thread model a variant declares, never from its language's name."""
    assert tidy.article_expectation("one-core", "threads", 8, 2) == [1.0, 0.0]
    assert tidy.article_expectation("all-cores", "threads", 8, 2) == [1.0, 1.0]
    assert tidy.article_expectation("one-core", "processes", 1, 4) == [0.25] * 4   # processes spread either way


def _grid(results: ResultsSet) -> pd.DataFrame:
    head = tidy.headline(results)
    chosen = tidy.representative(tidy.headline_runs(results, head), set(results.samples["run_id"]))
    return tidy.core_timeline(results, chosen)


def test_core_timeline_has_every_view_and_the_expected_shape(default_results):
    grid = _grid(default_results)
    assert list(grid["view"].cat.categories) == tidy.VIEWS
    assert grid["panel"].cat.categories[0] == "C# · threads"  # display names, in the set's language order
    mean = grid.groupby(["panel", "view", "core"], observed=True)["pct"].mean()
    python, go = "Python · threads", "Go · threads"
    # Python threads: the article expected one core; measured, both cores carry about half of one core each.
    assert mean[python, tidy.VIEWS[0], 0] > 60 and mean[python, tidy.VIEWS[0], 1] == 0
    assert 25 < mean[python, tidy.VIEWS[1], 0] < 65 and 25 < mean[python, tidy.VIEWS[1], 1] < 65
    assert mean[go, tidy.VIEWS[1], 0] > 80 and mean[go, tidy.VIEWS[1], 1] > 80
    assert (grid["pct"].between(0, 100)).all() and (grid["t_start"] < grid["t_s"]).all()


def test_window_stats_measure_cores_in_use_during_the_work(default_results):
    stats = tidy.window_stats(default_results).set_index("run_id")
    assert stats.loc["cpu.python.threads.w8.r1", "sampled_parallelism"] == pytest.approx(0.97, abs=0.05)
    assert stats.loc["cpu.go.threads.w8.r1", "sampled_parallelism"] == pytest.approx(1.9, abs=0.1)
    assert stats.loc["cpu.go.threads.w1.r1", "sampled_parallelism"] == pytest.approx(0.97, abs=0.05)
    assert (stats["other_load_cores"] < 0.2).all() and (stats["window_samples"] >= 6).all()  # the interior: 2 fewer
    assert stats.loc["cpu.python.threads.w8.r1", "core_unsteadiness_pct"] > \
        2 * stats.loc["cpu.csharp.threads.w8.r1", "core_unsteadiness_pct"]


def test_run_queue_wait_is_the_threads_wait_over_the_judged_samples_span():
    """Two threads, one ready but not running half the time from 1 s on; a third born at 1.5 s, waiting from its
    start; read at 0.5 s steps. The judged samples span 1.0-2.0 s."""
    rows = [(t, tid, wait) for t, tid, wait in [
        (0.5, 1, 0.0), (1.0, 1, 0.1), (1.5, 1, 0.35), (2.0, 1, 0.6), (2.5, 1, 0.9),
        (0.5, 2, 0.0), (1.0, 2, 0.0), (1.5, 2, 0.0), (2.0, 2, 0.0),
        (1.5, 3, 0.2), (2.0, 3, 0.7)]]
    threads = pd.DataFrame([("r", 7, tid, t, wait) for t, tid, wait in rows],
                           columns=["run_id", "pid", "tid", "t_s", "wait_s"])
    judged = pd.DataFrame({"run_id": ["r", "r"], "t_start": [1.0, 1.5], "t_s": [1.5, 2.0]})
    assert tidy.run_queue_wait(threads, judged)["r"] == pytest.approx((0.6 - 0.1) + 0.0 + 0.7)
    older = threads.assign(wait_s=float("nan"))     # a set before schema 9: no wait, not no waiting
    assert tidy.run_queue_wait(older, judged).isna().all()


def test_other_programs_are_counted_per_process_where_the_sampler_counted_them(default_results):
    runs = default_results.runs
    wall_s = runs.set_index("run_id")["wall_s"]
    busy, calm, edge = "cpu.go.threads.w8.r1", "cpu.python.threads.w8.r1", tidy.QUIET_OTHER_LOAD
    counted = dataclasses.replace(default_results, runs=runs.assign(
        other_programs_cpu_s=runs["run_id"].map({busy: (edge + 0.01) * wall_s[busy], calm: edge * wall_s[calm]}),
        kernel_threads_cpu_s=runs["run_id"].map({busy: 0.1 * wall_s[busy], calm: 0.6 * wall_s[calm]})))
    before = tidy.window_stats(default_results).set_index("run_id")
    stats = tidy.window_stats(counted).set_index("run_id")
    assert stats.loc[busy, "other_load_cores"] == pytest.approx(edge + 0.01)
    assert stats.loc[calm, "other_load_cores"] == edge
    assert stats.loc[busy, "kernel_threads_cores"] == pytest.approx(0.1)
    # the kernel's threads do not make a run noisy; other programs over QUIET_OTHER_LOAD cores do, at it do not
    assert calm in tidy.quiet_runs(counted) and busy not in tidy.quiet_runs(counted)
    rest = before.index.difference([busy, calm])   # not counted per process (a set before schema 6): the cores' totals
    pd.testing.assert_series_equal(stats.loc[rest, "other_load_cores"], before.loc[rest, "other_load_cores"])


@pytest.mark.parametrize("intervals", [tidy.INTERIOR_MIN_INTERVALS - 1, tidy.INTERIOR_MIN_INTERVALS, 10])
def test_window_statistics_leave_out_the_edge_intervals_of_a_long_enough_window(default_results, intervals):
    """Both cores busy throughout, but in the last interval of the window one is idle (the runtime's tear-down):
    a window long enough is measured without it; a shorter one keeps every interval."""
    run_id = "cpu.go.threads.w8.r1"
    runs = default_results.runs.assign(wall_s=lambda r: r["wall_s"].where(r["run_id"] != run_id, intervals / 10),
                                       inner_s=lambda r: r["inner_s"].where(r["run_id"] != run_id, intervals / 10))
    times = [round(0.1 * (k + 1), 6) for k in range(intervals)]
    idle_at_end = [0.0 if (t == times[-1] and core == 0) else 100.0 for t in times for core in (0, 1)]
    samples = pd.DataFrame({"run_id": run_id, "t_s": [t for t in times for _ in (0, 1)], "core": [0, 1] * intervals,
                            "system_pct": 100.0, "workload_pct": idle_at_end})
    synthetic = dataclasses.replace(default_results, runs=runs, samples=samples)
    stats = tidy.window_stats(synthetic).set_index("run_id").loc[run_id]
    if intervals >= tidy.INTERIOR_MIN_INTERVALS:
        assert stats["sampled_parallelism"] == 2.0 and stats["core_unsteadiness_pct"] == 0.0
        assert stats["window_samples"] == intervals - 2
    else:
        assert stats["sampled_parallelism"] == pytest.approx(2 - 1 / intervals) and stats["core_unsteadiness_pct"] > 20
        assert stats["window_samples"] == intervals


def test_sample_cells_start_where_the_previous_sample_ended():
    times = [0.1, 0.2, 0.3, 0.32]  # the last sample is taken at exit, a sliver after the one before
    samples = pd.DataFrame({"run_id": ["a"] * 8, "t_s": [t for t in times for _ in (0, 1)], "core": [0, 1] * 4,
                            "system_pct": [50.0] * 8, "workload_pct": [20.0] * 8})
    cells = tidy.sample_cells(samples)
    assert cells[cells["core"] == 0]["t_start"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert (cells["rest_pct"] == 30).all()


@pytest.mark.parametrize("system, workload, rest", [
    ([50.0, 50.0], [100.0, 0.0], [0.0, 0.0]),     # one thread's core, split by the kernel over two: no one else
    ([100.0, 100.0], [100.0, 0.0], [0.0, 100.0]),  # another program filled core 1
    ([80.0, 60.0], [100.0, 0.0], [0.0, 40.0]),    # 40 points beyond the run, seen on core 1
    ([100.0, 70.0], [60.0, 60.0], [40.0, 10.0]),  # both over: as they were
])
def test_the_rest_of_the_machine_adds_up_to_the_machines_difference(system, workload, rest):
    """A thread's CPU lands on the core it last ran on; /proc/stat splits it over the cores it ran on. Clipped
    core by core, the first case would show half a core of load that no other program made."""
    samples = pd.DataFrame({"run_id": "a", "t_s": 0.1, "core": [0, 1], "system_pct": system,
                            "workload_pct": workload})
    assert tidy.sample_cells(samples).sort_values("core")["rest_pct"].tolist() == pytest.approx(rest)


def test_thread_stats_count_core_changes_and_busy_threads(default_results):
    runs = default_results.runs[default_results.runs["run_id"] == "cpu.python.threads.w8.r1"]
    threads = tidy.thread_stats(default_results, runs)
    workers = threads["tid"].between(1001, 1008)
    assert threads.loc[workers, "busy"].all() and len(threads[workers]) == 8
    java = tidy.thread_stats(default_results, default_results.runs[default_results.runs["run_id"] ==
                                                                    "cpu.java.threads.w8.r1"])
    assert len(java) == 8 + 9 and java["busy"].sum() in (8, 9)  # the workers (and maybe main), not the helpers
    assert (threads.loc[threads["busy"], "cores_seen"] >= 1).all()

    handmade = ResultsSet(default_results.directory, default_results.meta, default_results.runs,
                          default_results.samples, pd.DataFrame({
                              "run_id": ["cpu.python.threads.w8.r1"] * 4, "t_s": [0.1, 0.2, 0.3, 0.4],
                              "pid": [1] * 4, "tid": [7] * 4, "name": ["x"] * 4, "core": [0, 1, 1, 0],
                              "cpu_s": [0.1, 0.2, 0.3, 0.4], "ctx_voluntary": [1.0] * 4,
                              "ctx_involuntary": [1.0] * 4, "migrations": [0.0, 2.0, 2.0, 5.0]}))
    one = tidy.thread_stats(handmade, runs).iloc[0]
    assert (one["core_changes"], one["migrations"], one["cores_seen"], one["busy"]) == (2, 5.0, 2, True)


def test_scaling_against_the_one_worker_median(default_results):
    scaling = tidy.scaling(tidy.headline_runs(default_results, tidy.headline(default_results), all_workers=True))
    median = scaling.groupby(["lang", "mode", "measure", "workers"], observed=True)["value"].median()
    assert median["go", "threads", "speedup", 1] == pytest.approx(1, abs=0.03)
    assert median["go", "threads", "speedup", 8] == pytest.approx(2, abs=0.1)
    assert median["python", "threads", "speedup", 8] == pytest.approx(1, abs=0.1)
    assert median["python", "threads", "efficiency", 8] == pytest.approx(0.5, abs=0.05)
    assert list(tidy.ideal_scaling("speedup", [1, 2, 4, 8], 2)) == [1, 2, 2, 2]


def test_print_pairs_match_sum_runs_of_the_same_configuration(default_results):
    pairs = tidy.print_pairs(default_results)
    assert set(pairs["workload"]) == {"sum", "sum-print"}
    assert set(pairs["workers"]) == {8} and set(pairs["experiment"]) == {"cpu", "print"}


def test_spread_of_repetitions():
    stats = tidy.spread([3.0, 1.0, 2.0, None])
    assert (stats["n"], stats["median"], stats["min"], stats["max"]) == (3, 2.0, 1.0, 3.0)
    assert tidy.spread([])["n"] == 0


def test_the_task_manager_averages_the_samples_the_claims_judge(default_results):
    """The cores' worth beside each Task Manager panel is the work-phase parallelism of claims (a)-(c): the same
    whole intervals of the work window, less the first and the last."""
    grid = _grid(default_results)
    measured = grid[grid["in_window"] & (grid["view"] == tidy.VIEWS[1])]
    beside = measured.groupby(["run_id", "t_s"])["pct"].sum().groupby("run_id").mean() / 100
    judged = tidy.window_stats(default_results).set_index("run_id")["sampled_parallelism"]
    assert len(beside) == default_results.runs["lang"].nunique() * 2   # a run per language and mode
    assert beside.to_dict() == pytest.approx(judged[beside.index].to_dict(), abs=1e-9)
    edges = grid[(grid["view"] == tidy.VIEWS[1])].groupby("run_id")["in_window"].sum()
    assert (edges < grid[grid["view"] == tidy.VIEWS[1]].groupby("run_id").size()).all()
