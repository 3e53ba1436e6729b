"""Claims: verdicts on synthetic data that supports, contradicts, or cannot tell; and the numbers behind them."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analysis import claims, claims_cpu_speed
from analysis.claims import CONTRADICTED, DEPENDS, INCONCLUSIVE, SUPPORTED
from analysis.load import load_results


def _by_key(results) -> dict:
    return {claim.key: claim for claim in claims.evaluate(results)}


@pytest.fixture(scope="module")
def judged(default_results):
    return _by_key(default_results)


def test_the_default_set_supports_every_claim_with_its_numbers(judged):
    verdicts = {key: claim.verdict for key, claim in judged.items()}
    assert {key: verdicts[key] for key in "abcdfg"} == dict.fromkeys("abcdfg", SUPPORTED)
    # (e)'s cause is a correlation over ≥ MIN_CORRELATION_RUNS quiet runs: the headline's 3 cannot show it
    assert verdicts["e"] == INCONCLUSIVE and judged["e"].by_variant == {"Python": INCONCLUSIVE}
    assert verdicts["a2"] == INCONCLUSIVE      # no free-threaded build in this set: nothing to judge
    gil = judged["a"].evidence
    assert gil["group"].tolist() == [f"Python · threads · {w} workers · cpu" for w in (2, 4, 8)]
    assert (gil["median"] < claims.ONE_CORE).all() and (gil["n"] == 3).all()
    assert gil["median"].tolist() == pytest.approx([0.95] * 3, abs=0.05)
    assert gil["outcome"].str.startswith("supported (threshold 1.15; sampled, work window").all()
    threads = judged["b"].evidence
    assert len(threads) == 9 and (threads["median"] >= 0.9 * 2).all()
    assert judged["a"].reason == "3 of 3 groups supported, none disagree"


def test_every_claim_shows_its_rule_and_the_article(judged):
    for claim in judged.values():
        assert claim.rule and claim.quote and claim.statement
        assert list(claim.evidence.columns) == claims.EVIDENCE_COLUMNS
    assert "≤ 1.15" in judged["a"].rule and "0.9 × min(workers, cores)" in judged["b"].rule
    assert "GIL" in judged["a"].quote


def test_parallel_python_threads_contradict_the_gil_claim(make_set):
    judged = _by_key(load_results(make_set(gil=False)))
    assert judged["a"].verdict == CONTRADICTED
    assert judged["a"].evidence["median"].tolist() == pytest.approx([1.9] * 3, abs=0.1)
    assert judged["b"].verdict == SUPPORTED and judged["e"].verdict != SUPPORTED


def test_printing_that_changes_nothing_contradicts_g(make_set):
    judged = _by_key(load_results(make_set(print_slows=False, seed=4)))
    assert judged["g"].verdict == CONTRADICTED
    ratios = judged["g"].evidence["outcome"].str.extract(r"sum-print / sum = ([\d.]+)")[0].dropna().astype(float)
    assert ratios.between(0.9, 1.1).all() and len(ratios) == 8


def test_one_repetition_is_never_enough(make_set):
    judged = _by_key(load_results(make_set(reps=1)))
    for key in "abcdeg":
        assert judged[key].verdict == INCONCLUSIVE, key
    assert (judged["a"].evidence["n"] == 1).all()


def test_without_samples_claims_fall_back_or_say_no_samples(make_set):
    judged = _by_key(load_results(make_set(samples=False)))
    for key in "de":
        assert judged[key].verdict == INCONCLUSIVE and "no samples" in judged[key].reason
    # wait4 bounds still tell for Python threads: (user+sys)/work time stays under 1.15
    assert judged["a"].verdict == SUPPORTED
    assert judged["a"].evidence["outcome"].str.contains("wait4 bounds").all()


def test_a_single_core_machine_cannot_show_parallelism(make_set):
    judged = _by_key(load_results(make_set(reps=2, machine={"logical_cores": 1, "cpu_affinity": [0]})))
    for key in "abce":
        assert judged[key].verdict == INCONCLUSIVE and "1 core" in judged[key].reason


def test_without_measured_runs_claims_on_the_headline_say_so(default_results):
    nothing_measured = dataclasses.replace(default_results, runs=default_results.runs.assign(measured=False))
    judged = _by_key(nothing_measured)
    assert {key for key, spec in judged.items() if "headline experiment" in spec.reason} == set("def")
    assert {claim.verdict for claim in judged.values()} == {INCONCLUSIVE}
    assert judged["a"].reason == judged["g"].reason == "no data for this claim in this results set"


def test_runs_on_a_busy_machine_are_set_aside(make_set):
    folder = make_set(reps=2, seed=5)
    samples = pd.read_parquet(folder / "samples.parquet")
    samples["system_pct"] = 100.0  # something else filled every core
    samples.to_parquet(folder / "samples.parquet", index=False)
    judged = _by_key(load_results(folder))
    assert judged["a"].verdict == INCONCLUSIVE
    assert judged["a"].evidence["outcome"].str.contains("noisy run").all()


def test_combine():
    assert claims.combine([]) == (INCONCLUSIVE, "no data for this claim in this results set")
    assert claims.combine([SUPPORTED, SUPPORTED, INCONCLUSIVE])[0] == SUPPORTED
    assert claims.combine([SUPPORTED, CONTRADICTED])[1] == "groups disagree: 1 support, 1 contradict"
    assert claims.combine([CONTRADICTED, CONTRADICTED, INCONCLUSIVE])[0] == CONTRADICTED
    assert claims.combine([CONTRADICTED, INCONCLUSIVE, INCONCLUSIVE])[1] == "only 1 of 3 groups conclusive"
    assert claims.combine([SUPPORTED, INCONCLUSIVE, INCONCLUSIVE, INCONCLUSIVE])[0] == INCONCLUSIVE


@pytest.mark.parametrize("low, high, at_most, expected", [
    ([0.98, 1.0], [0.98, 1.0], True, SUPPORTED),
    ([1.5, 1.9], [1.5, 1.9], True, CONTRADICTED),
    ([1.0, 1.3], [1.0, 1.3], True, INCONCLUSIVE),  # the spread straddles the threshold
    ([0.9, 0.95], [1.1, 1.3], True, INCONCLUSIVE),  # bounds straddle it
    ([1.85, 1.9], [1.85, 1.9], False, SUPPORTED),
    ([1.0], [1.0], True, INCONCLUSIVE),  # one run
])
def test_threshold_outcome(low, high, at_most, expected):
    runs = pd.DataFrame({"low": low, "high": high})
    assert claims.threshold_outcome(runs, 1.15 if at_most else 1.8, at_most) == expected


@pytest.mark.parametrize("full, at_most, expected", [
    ([False, False], False, CONTRADICTED),     # cores were left, and the runs did not use them
    ([True, True], False, INCONCLUSIVE),       # no core was left: short of 1.8 says nothing
    ([True, False], False, INCONCLUSIVE),      # one run with room is not every run
    ([True, True], True, CONTRADICTED),        # above 1.15 is above it, however full the machine was
])
def test_a_run_short_of_all_cores_on_a_full_machine_counts_against_nothing(full, at_most, expected):
    runs = pd.DataFrame({"low": [1.3, 1.4], "high": [1.3, 1.4], "machine_full": full})
    assert claims.threshold_outcome(runs, 1.15 if at_most else 1.8, at_most) == expected


@pytest.mark.parametrize("subject, other, expected", [
    ([3.0, 4.0], [1.0, 2.0], "higher"),                  # ranges apart: 2 runs a side are enough
    ([1.0, 2.0], [3.0, 4.0], "lower"),
    ([2.0, 4.0], [1.0, 2.0], "overlap"),                 # touching ranges are not apart
    ([5.0, 6.0, 7.0], [1.0, 2.0, 5.5], "overlap"),       # 3 a side: one-sided p is 0.1 at best with an overlap
    ([5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 5.5], "higher"),   # 4 a side, one run overlapping: p = 0.029
    ([1.0, 2.0, 3.0, 5.5], [5.0, 6.0, 7.0, 8.0], "lower"),
    ([5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 5.5, 5.8], "overlap"),  # two overlapping: p = 0.057, not below 0.05
    ([3.0], [1.0, 2.0], "too few runs"),
])
def test_separated_reads_ranges_then_a_one_sided_test(subject, other, expected):
    assert claims.separated(pd.Series(subject), pd.Series(other)) == expected


@pytest.mark.parametrize("outcomes, expected", [
    ([SUPPORTED, CONTRADICTED], DEPENDS),                       # each decided, differently: an answer
    ([SUPPORTED, CONTRADICTED, INCONCLUSIVE, INCONCLUSIVE], DEPENDS),
    ([SUPPORTED, INCONCLUSIVE], SUPPORTED),                     # combine's rule otherwise
    ([CONTRADICTED, INCONCLUSIVE, INCONCLUSIVE], INCONCLUSIVE),
    ([INCONCLUSIVE, INCONCLUSIVE], INCONCLUSIVE),
])
def test_a_runtime_whose_groups_decide_differently_depends(outcomes, expected):
    assert claims.variant_verdict(outcomes) == expected


def _split_by_mode(results):
    """The default set with its cpu experiment split in two: threads alone ('cpu') and processes ('modes')."""
    runs = results.runs.copy()
    runs["experiment"] = runs["experiment"].astype(str).where(runs["mode"] != "processes", "modes")
    return dataclasses.replace(results, runs=runs.astype({"experiment": "category"}))


def test_f_is_judged_where_the_design_varies_cpu_use(default_results):
    judged = _by_key(_split_by_mode(default_results))["f"]
    evidence = judged.evidence.set_index("group")
    # Python's threads hold one core at every worker count: nothing to compare, so that group is not judged ...
    assert evidence.loc["Python · cpu", "outcome"].startswith(
        "not judged: no two configurations differ in CPU use by ×1.5 (at most ×1.")
    # ... its processes use 1 core at 1 worker and 2 at more: each of those was faster than the 1-worker runs
    pair = evidence.loc["Python · modes · processes · 2 workers vs processes · 1 worker"]
    assert pair["outcome"] == "faster with more CPU" and pair["median"] == pytest.approx(2, rel=0.15)
    assert pair["spread"].startswith("parallelism 1.9") and pair["n"] == 3
    assert evidence.loc["Python · modes", "outcome"] == f"{SUPPORTED} (3 of 3 pairs faster with more CPU)"
    assert judged.by_variant["Python"] == SUPPORTED and judged.verdict == SUPPORTED


def test_f_without_a_design_that_varies_python_cpu_use_leaves_python_unjudged(default_results):
    split = _split_by_mode(default_results)
    threads_only = dataclasses.replace(split, runs=split.runs[split.runs["experiment"] != "modes"])
    judged = _by_key(threads_only)["f"]
    assert "Python" not in judged.by_variant and judged.by_variant["Go"] == SUPPORTED


def test_a_set_without_sum_runs_judges_no_sum_claim_on_its_other_workloads(workload_results):
    """A set of hand-offs alone (a custom config): its headline falls back to pingpong, whose hand-offs a second
    say nothing of how CPU use buys sum's throughput: (f) is inconclusive, and judging it raises nothing."""
    runs = workload_results.runs
    pingpong_only = dataclasses.replace(workload_results, runs=runs[runs["workload"] == "pingpong"].copy())
    judged = _by_key(pingpong_only)
    assert judged["f"].verdict == INCONCLUSIVE and not judged["f"].by_variant
    assert judged["h"].verdict != INCONCLUSIVE      # what the set was run for is still judged


def _configurations(parallelism: dict, throughput: dict) -> pd.DataFrame:
    """Runs of threads-mode configurations by workers: their parallelism (one value each) and throughputs."""
    return pd.DataFrame([{"mode": "threads", "workers": workers, "value": parallelism[workers], "throughput": value}
                         for workers, values in throughput.items() for value in values])


@pytest.mark.parametrize("parallelism, pairs", [
    ({1: 1.0, 2: 1.5}, 1),      # ×1.5: compared
    ({1: 1.0, 2: 1.49}, 0),     # just under: the same CPU use
    ({1: 1.0, 2: 1.6, 4: 1.9}, 2),   # 2 and 4 workers against 1; 1.9 / 1.6 < 1.5
])
def test_f_compares_configurations_whose_cpu_use_differs_by_the_span(parallelism, pairs):
    runs = _configurations(parallelism, {workers: [1.0, 2.0] for workers in parallelism})
    found = claims_cpu_speed.configuration_pairs(runs)
    assert len(found) == pairs
    assert all(more["value"].iloc[0] >= 1.5 * less["value"].iloc[0] for more, less in found)


@pytest.mark.parametrize("comparisons, outcome", [
    (["higher", "higher"], SUPPORTED),
    (["lower", "lower"], CONTRADICTED),        # more CPU, slower in every pair (GIL hand-offs burn CPU)
    (["higher", "overlap"], INCONCLUSIVE),
    (["higher", "lower"], INCONCLUSIVE),
    (["higher", "too few runs"], INCONCLUSIVE),
    ([], INCONCLUSIVE),
])
def test_f_combines_its_pairs(comparisons, outcome):
    assert claims_cpu_speed.speed_outcome(comparisons) == outcome
