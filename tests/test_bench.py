"""The shipped benchmarks' reporting: a ratio that has no value (no denominator, nothing sampled) reads n/a; the
sampler bench stops once the median's interval is narrow enough; the interval of a median at its edges."""

import json
import random
from contextlib import nullcontext
from types import SimpleNamespace

import pytest

from polylab.cli import bench, benchstats, commands


def test_a_ratio_without_a_value_prints_n_a_and_null(monkeypatch, capsys):
    faulty = SimpleNamespace(language=SimpleNamespace(name="faulty"), key="faulty")
    row = {"user_s": 0.5, "sys_s": 0.0, "wall_s": 1.0, "workload_cpu_s": None, "samples": 0,  # nothing sampled
           "ctx_voluntary": 3, "ctx_involuntary": 4}

    def run_one(lab, spec, choice, out, sampler):
        return {**row, "lang": spec.lang, "mode": spec.mode}

    monkeypatch.setattr(bench, "load_lab", lambda: SimpleNamespace(languages={"faulty": None}))
    monkeypatch.setattr(bench, "_ready", lambda lab, names: [faulty])
    monkeypatch.setattr(bench, "Sampler", lambda hz: nullcontext())
    monkeypatch.setattr(bench.perfstat, "available", lambda: False)
    monkeypatch.setattr(bench, "run_one", run_one)
    monkeypatch.setattr(bench, "_checked", lambda ran: ran)
    commands.bench_accuracy(langs="faulty", seconds=0.1, repetitions=1)
    printed = capsys.readouterr()
    assert [line.split(",")[0] for line in printed.err.splitlines() if "sampled/wait4" in line] == [
        "faulty threads #1: sampled/wait4 n/a", "faulty processes #1: sampled/wait4 n/a"]
    result = json.loads(printed.out)
    assert [run["sampled_vs_wait4"] for run in result["runs"]] == [None, None]
    assert [run["wait4_switches"] for run in result["runs"]] == [7, 7]
    assert result["summary"] == {"sampled_vs_wait4": None, "within_5_percent": 0, "runs": 2}


def test_accuracy_rows_put_the_samplers_migrations_and_wait4s_switches_against_perfs():
    row = {"lang": "java", "mode": "threads", "wall_s": 1.2, "user_s": 1.5, "sys_s": 0.5, "workload_cpu_s": 1.9,
           "ctx_voluntary": 600, "ctx_involuntary": 560, "perf_task_clock_s": 1.96, "perf_duration_s": 1.19,
           "perf_cpu_migrations": 32, "perf_context_switches": 1100, "sampler_migrations": 8, "migrations": 32,
           "migrations_source": "perf", "samples": 12, "unplaced_cpu_s": 0.0}
    made = bench._accuracy_row(row, rep=2)
    assert made["migrations_vs_perf"] == 1.0 and made["sampled_migrations_vs_perf"] == 0.25
    assert made["wait4_switches_vs_perf"] == pytest.approx(1160 / 1100)
    kinds = bench._medians_by_run_kind([made, {**made, "sampled_migrations_vs_perf": 0.5},
                                        {**made, "sampled_migrations_vs_perf": 0.75}])
    assert kinds["java threads"]["sampled_migrations_vs_perf"] == 0.5


def test_spreads_leave_out_what_could_not_be_measured():
    assert benchstats.spread([1.0, None, 3.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 2}
    assert bench._median([None]) is None and not bench._at_most(None, 1.0)


def test_no_interval_of_the_median_reaches_95_percent_below_six_values():
    assert benchstats.median_interval([]) is None
    assert benchstats.median_interval([1.0, None, 2.0, 3.0, 4.0, 5.0]) is None   # five known values


def test_six_values_give_their_range_with_its_coverage():
    interval = benchstats.median_interval([6.0, 1.0, 4.0, 2.0, 5.0, 3.0])
    assert interval == {"low": 1.0, "high": 6.0, "coverage": pytest.approx(1 - 2 / 64), "ranks": [1, 6], "n": 6}


def test_one_hundred_values_give_the_textbook_ranks_40_and_61():
    values = list(range(100, 0, -1))
    interval = benchstats.median_interval(values)
    assert interval["ranks"] == [40, 61] and (interval["low"], interval["high"]) == (40, 61)
    assert interval["coverage"] == pytest.approx(0.9648, abs=1e-4)
    assert benchstats.median_interval(values, confidence=0.5)["ranks"] == [47, 54]


def test_the_interval_covers_the_true_median_about_as_often_as_it_says():
    rng = random.Random(7)
    trials = 2000
    covered = sum(interval["low"] <= 0.0 <= interval["high"] for interval in
                  (benchstats.median_interval([rng.gauss(0.0, 1.0) for _ in range(20)]) for _ in range(trials)))
    stated = benchstats.median_interval(list(range(20)))["coverage"]   # 0.9586 at n = 20
    assert abs(covered / trials - stated) < 0.02


def test_within_asks_both_ends_inside_the_band():
    assert benchstats.within({"low": 0.995, "high": 1.009}, 1.0, 0.01)
    assert not benchstats.within({"low": 0.989, "high": 1.0}, 1.0, 0.01)
    assert not benchstats.within(None, 1.0, 0.01)


def _fake_sampler_bench(monkeypatch, elapsed):
    """bench_sampler with the runs replaced by made-up elapsed times: elapsed(sampled, index) → seconds."""
    calls = []
    choice = SimpleNamespace(language=SimpleNamespace(name="go"))

    def run_one(lab, spec, choice, out, sampler):
        calls.append(spec.sample_hz > 0)
        if spec.run_id.startswith("calibrate"):
            return {"worker_elapsed_s": [0.3]}
        return {"inner_s": elapsed(spec.sample_hz > 0, len(calls)), "sampler_cpu_s": 0.001, "wall_s": 0.4}

    monkeypatch.setattr(bench, "load_lab", lambda: SimpleNamespace(languages={"go": None}))
    monkeypatch.setattr(bench, "select_langs", lambda lab, names, flag: names)
    monkeypatch.setattr(bench, "_ready", lambda lab, names: [choice])
    monkeypatch.setattr(bench, "Sampler", lambda hz: nullcontext())
    monkeypatch.setattr(bench, "run_one", run_one)
    monkeypatch.setattr(bench, "_checked", lambda ran: ran)
    monkeypatch.setattr(bench.store, "prepare", lambda out: None)
    return calls


def test_pairs_run_abba_and_stop_once_the_interval_is_within_one_percent(monkeypatch):
    rng = random.Random(3)
    calls = _fake_sampler_bench(monkeypatch, lambda sampled, i: 0.3 * (1.002 if sampled else 1.0)
                                * (1 + rng.uniform(-0.002, 0.002)))
    result = bench.bench_sampler(rates=(10.0,), max_pairs=100)
    assert calls[1:9] == [False, True, True, False] * 2   # after the calibration run
    ten = result["10hz"]
    assert ten["pairs"] == bench.MIN_PAIRS and ten["interval_target_met"] and ten["interval_note"] is None
    assert ten["overhead_ratio"] == pytest.approx(1.002, abs=0.003)
    assert ten["cpu_share_bound"]["ratio_at_most"] == pytest.approx(1.0025)
    assert "below 1% at 95 % confidence" in ten["cpu_share_bound"]["conclusion"] and result["targets_met"]


def test_a_noisy_machine_stops_at_the_maximum_and_says_the_target_was_not_met(monkeypatch):
    rng = random.Random(5)
    _fake_sampler_bench(monkeypatch, lambda sampled, i: 0.3 * (1 + rng.uniform(-0.2, 0.2)))
    result = bench.bench_sampler(rates=(10.0,), max_pairs=12)
    ten = result["10hz"]
    assert ten["pairs"] == 12 and not ten["interval_target_met"] and not result["targets_met"]
    assert ten["interval_note"].startswith("the interval is wider than ±1% after 12 pairs (at most 12)")
