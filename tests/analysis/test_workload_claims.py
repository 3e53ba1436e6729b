"""Claims (h)–(k) (analysis/workload_claims.py): each says supported, contradicted and inconclusive on synthetic
sets whose runtimes behave accordingly, and its thresholds hold at their edges."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import claims, workload_claims as wc
from analysis.claims import CONTRADICTED, DEPENDS, INCONCLUSIVE, SUPPORTED
from analysis.load import load_results
from labpaths import load_by_path

synthetic = load_by_path("polylab_tests_analysis_synthetic", Path(__file__).parent / "synthetic.py")   # conftest's

Behaviour = synthetic.contract_2.Behaviour
ALL = synthetic.contract_2.CONTRACT_2
LANGS = ("csharp", "go", "java", "python")


def judged(make_set, key: str, **scenario) -> claims.Claim:
    results = load_results(make_set(samples=False, **scenario))
    return {claim.key: claim for claim in claims.evaluate(results)}[key]


def test_the_workload_set_judges_each_claim_with_its_evidence(workload_results):
    found = {claim.key: claim for claim in claims.evaluate(workload_results)}
    assert {key: found[key].verdict for key in "hijk"} == {"h": SUPPORTED, "i": SUPPORTED, "j": CONTRADICTED,
                                                            "k": SUPPORTED}
    assert found["h"].reason.endswith("supported: C# · 2 workers, Java · 2 workers, Python · 2 workers; "
                                      "inconclusive: Go · 2 workers")     # Go's threads hand off without a switch
    assert found["i"].reason == ("a failing thread took the whole process down in C#, Go; only that thread was lost "
                                 "in Java, Python; a failing process left the others running in all 4")
    gil = found["j"].reason
    assert gil.startswith("Python threads sped some work up — sum · Python · 2 workers: 1.00× (supported)")
    assert "io · Python · 2 workers: 2.0" in gil and "native · Python · 2 workers: 1.9" in gil
    evidence = found["h"].evidence
    handoffs = evidence[evidence["measure"] == "ns per hand-off"].set_index("group")
    switches = evidence[evidence["measure"].str.startswith("context switches per hand-off")].set_index("group")
    assert handoffs.loc["Go · 2 workers · threads", "median"] == pytest.approx(250, rel=0.1)
    assert switches.loc["Go · 2 workers · threads", "median"] == pytest.approx(0.02, rel=0.01)
    assert switches.loc["Java · 2 workers · threads", "median"] == pytest.approx(1, rel=0.01)
    assert handoffs.loc["Go · 2 workers · processes", "outcome"] == (
        "inconclusive (processes / threads = 27.5); threads made 0.02 context switches per hand-off: handed over "
        "without one (spinning, or the runtime's own scheduler), so not the context switch the claim is about")
    assert handoffs.loc["Java · 2 workers · processes", "outcome"].startswith("supported (processes / threads = ")
    kept = found["k"].evidence[found["k"].evidence["measure"].str.startswith("per-worker throughput kept")]
    assert kept["median"].tolist() == pytest.approx([0.35] * 8, abs=0.05) and (kept["n"] == 3).all()
    for key in "hijk":
        assert list(found[key].evidence.columns) == claims.EVIDENCE_COLUMNS and not found[key].evidence.empty
    assert found["i"].by_variant == {"C#": SUPPORTED, "Go": SUPPORTED, "Java": CONTRADICTED, "Python": CONTRADICTED}
    assert found["j"].by_variant == {"Python": CONTRADICTED}
    assert found["k"].by_variant == dict.fromkeys(["C#", "Go", "Java", "Python"], SUPPORTED)
    assert found["h"].by_variant == {**found["k"].by_variant, "Go": INCONCLUSIVE}


@pytest.mark.parametrize("switches, note", [
    ({"threads": 0.02, "processes": 1.0}, "threads made 0.02 context switches per hand-off: handed over without one"),
    ({"threads": 3.0, "processes": 1.0}, "threads made 3 context switches per hand-off: its primitive takes several"),
    ({"threads": 1.4, "processes": 0.6}, ""),      # about one switch each: comparable
    # the edges: 0.5 and 1.5 switches per hand-off are one switch each, a hair beyond either is not
    ({"threads": 0.5, "processes": 1.5}, ""),
    ({"threads": 0.49, "processes": 1.0}, "threads made 0.49 context switches per hand-off: handed over without one"),
    ({"threads": 1.0, "processes": 1.52}, "processes made 1.52 context switches per hand-off: its primitive takes"),
])
def test_h_compares_hand_offs_that_are_one_context_switch_in_both_modes(switches, note):
    said = wc.unswitched(switches)
    assert said.startswith(note) and (said == "") == (note == "")


@pytest.mark.parametrize("threads, processes, cores, user_space", [
    (0.0002, 1.04, 1, True),     # Go's goroutines on one core: switched in user space
    (0.0002, 1.04, 2, False),    # on two cores it may as well be spinning
    (0.49, 1.0, 1, True), (0.5, 1.0, 1, False),     # the edge: 0.5 is one switch
    (0.01, 1.5, 1, True), (0.01, 1.52, 1, False),   # the processes' must be one switch each
    (0.01, 0.49, 1, False),
])
def test_h_on_one_core_a_hand_off_without_a_kernel_switch_is_a_user_space_switch(threads, processes, cores,
                                                                                   user_space):
    assert wc.in_user_space({"threads": threads, "processes": processes}, cores) == user_space


def test_h_judges_goroutines_pinned_to_one_core_on_their_user_space_switch(workload_results):
    runs = workload_results.runs
    pingpong = runs["workload"] == "pingpong"
    one_core = dataclasses.replace(workload_results, runs=runs.assign(cores=np.where(pingpong, 1, runs["cores"])))
    claim = next(claim for claim in claims.evaluate(one_core) if claim.key == "h")
    assert claim.by_variant["Go"] == SUPPORTED and claim.verdict == SUPPORTED
    handoffs = claim.evidence[claim.evidence["measure"] == "ns per hand-off"].set_index("group")
    assert handoffs.loc["Go · 2 workers · processes", "outcome"] == (
        "supported (processes / threads = 27.5); threads made 0.02 kernel context switches per hand-off on one core: "
        "the runtime switched between its threads itself, in user space, and that is the switch compared")


def test_h_sets_aside_hand_offs_made_while_other_programs_shared_the_machine(workload_results):
    runs = workload_results.runs
    java_threads = (runs["workload"] == "pingpong") & (runs["lang"] == "java") & (runs["mode"] == "threads")
    shared = dataclasses.replace(workload_results, runs=runs.assign(
        other_programs_cpu_s=np.where(java_threads, runs["wall_s"], 0.0)))      # a whole core beside each run
    evidence = next(claim for claim in claims.evaluate(shared) if claim.key == "h").evidence
    assert evidence.loc[evidence["group"] == "Java · 2 workers · threads", "n"].iloc[0] == 0


@pytest.mark.parametrize("behaviour, verdict, reason", [
    (Behaviour(handoff_ns={lang: (9000.0, 4000.0) for lang in LANGS}), CONTRADICTED,
     "not for every runtime: fails for 3 of 4, holds for 0"),
    (Behaviour(handoff_ns={**Behaviour().handoff_ns, "python": (10_000.0, 8_000.0)}), CONTRADICTED,
     "not for every runtime: fails for 1 of 4, holds for 2 — supported: C# · 2 workers, Java · 2 workers; "
     "contradicted: Python · 2 workers; inconclusive: Go · 2 workers"),
], ids=["threads slower", "python's threads slower than its processes"])
def test_h_hand_offs(make_set, behaviour, verdict, reason):
    claim = judged(make_set, "h", workloads=("pingpong",), behaviour=behaviour)
    assert claim.verdict == verdict and claim.reason.startswith(reason)


@pytest.mark.parametrize("by_variant, verdict", [
    ({"a": SUPPORTED, "b": SUPPORTED, "c": INCONCLUSIVE, "d": INCONCLUSIVE}, SUPPORTED),      # half conclusive
    ({"a": SUPPORTED, "b": INCONCLUSIVE, "c": INCONCLUSIVE}, INCONCLUSIVE),                   # under half
    ({"a": SUPPORTED, "b": SUPPORTED, "c": SUPPORTED, "d": CONTRADICTED}, CONTRADICTED),      # one counterexample
    ({"a": INCONCLUSIVE, "b": CONTRADICTED, "c": INCONCLUSIVE}, CONTRADICTED),
    ({"a": SUPPORTED, "b": DEPENDS}, CONTRADICTED),      # b: it fails in some of b's groups
    ({}, INCONCLUSIVE),
])
def test_a_claim_about_every_runtime_falls_to_one_counterexample(by_variant, verdict):
    assert wc.over_runtimes(by_variant)[0] == verdict


def test_the_reason_counts_the_runtimes_for_which_it_depends():
    assert wc.over_runtimes({"a": SUPPORTED, "b": DEPENDS, "c": CONTRADICTED})[1] == (
        "not for every runtime: fails for 1 of 3, holds for 1, holds in some of its groups only for 1")


def test_claims_on_one_repetition_are_inconclusive(make_set):
    results = load_results(make_set(samples=False, reps=1, workloads=ALL))
    found = {claim.key: claim for claim in claims.evaluate(results)}
    assert {key: found[key].verdict for key in "hijk"} == dict.fromkeys("hijk", INCONCLUSIVE)
    assert found["i"].reason.startswith("only 0 of 4 runtimes conclusive")
    assert found["j"].reason == "no runs of a GIL's threads (sum, io or native) at 1 and at more workers"


def test_claims_without_their_workloads_say_so(default_results):
    found = {claim.key: claim for claim in claims.evaluate(default_results)}
    assert found["h"].reason == "no pingpong runs in both modes in this results set"
    assert found["i"].reason == "no crash runs in this results set"
    assert found["k"].reason.startswith("no contended runs")
    assert {key: found[key].verdict for key in "hik"} == dict.fromkeys("hik", INCONCLUSIVE)
    # sum alone: the GIL holds Python threads to one core there, but 'cannot' is decided where the GIL does not reach
    assert found["j"].verdict == INCONCLUSIVE and found["j"].reason.startswith(
        "no speed-up where judged, but io and native could not be judged (no runs at 1 worker and at more")
    assert set(found["j"].by_variant.values()) == {INCONCLUSIVE}


@pytest.mark.parametrize("threads, processes, expected", [
    ([400.0, 800.0], [1000.0, 1200.0], SUPPORTED),          # 800 = 0.8 × 1000: at the edge
    ([400.0, 801.0], [1000.0, 1200.0], INCONCLUSIVE),
    ([961.0, 1500.0], [1000.0, 1200.0], CONTRADICTED),      # 961 > 0.8 × 1200 = 960: no thread run is cheaper
    ([960.0, 1500.0], [1000.0, 1200.0], INCONCLUSIVE),      # 960 = 0.8 × 1200: one pair shows the saving
    ([1100.0, 1150.0], [900.0, 1000.0], CONTRADICTED),      # processes cheaper
    ([400.0], [1000.0, 1200.0], INCONCLUSIVE),
    # overlapping runs, ≥ 4 a side: a one-sided test against 0.8 × the process hand-offs decides
    ([700.0, 750.0, 780.0, 810.0], [1000.0, 1050.0, 1100.0, 1150.0], SUPPORTED),   # 810 > 800; p = 0.029
    ([700.0, 750.0, 780.0, 850.0], [1000.0, 1050.0, 1100.0, 1150.0], INCONCLUSIVE),   # p = 0.057
    ([700.0, 750.0, 810.0], [1000.0, 1050.0, 1100.0], INCONCLUSIVE),   # 3 a side: the test cannot go below 0.05
    ([800.0, 900.0, 950.0, 1000.0], [850.0, 875.0, 900.0, 1062.5], CONTRADICTED),   # 800 < 850; p = 0.029
])
def test_h_threshold_edges(threads, processes, expected):
    assert wc.handoff_outcome(pd.Series(threads), pd.Series(processes)) == expected


@pytest.mark.parametrize("behaviour, verdict, reason", [
    (Behaviour(dies_in_threads=frozenset()), CONTRADICTED,
     "no runtime's process died with its failing thread; only that thread was lost in C#, Go, Java, Python; a "
     "failing process left the others running in all 4"),
    (Behaviour(dies_in_processes=frozenset({"java"})), CONTRADICTED,
     "a failing process took its parent down in Java"),
], ids=["every thread's failure stays in its thread", "a failing child takes java's parent down"])
def test_i_crash(make_set, behaviour, verdict, reason):
    claim = judged(make_set, "i", workloads=("crash",), behaviour=behaviour)
    assert (claim.verdict, claim.reason) == (verdict, reason)


@pytest.mark.parametrize("states, verdict", [
    ({"A": ("died", "survived"), "B": ("survived", "survived")}, SUPPORTED),    # one runtime shows it can
    ({"A": ("died", "survived"), "B": (None, "survived"), "C": (None, None)}, INCONCLUSIVE),   # 1 of 3 conclusive
    ({"A": ("died", "survived"), "B": (None, "survived")}, SUPPORTED),          # half conclusive is enough
    ({"A": ("died", "survived"), "B": ("died", "died")}, CONTRADICTED),
    ({}, INCONCLUSIVE),
])
def test_i_combines_runtimes_by_its_rule(states, verdict):
    assert wc.crash_verdict(states).verdict == verdict


@pytest.mark.parametrize("speedups, workers, cores, expected", [
    ([1.0, 1.2], 2, 2, SUPPORTED),           # at the edge of no speed-up
    ([1.0, 1.21], 2, 2, INCONCLUSIVE),
    ([1.5, 1.9], 2, 2, CONTRADICTED),        # 0.75 × min(2, 2) = 1.5: at the edge of sped up
    ([1.49, 1.9], 2, 2, INCONCLUSIVE),
    ([1.5, 1.9], 4, 2, CONTRADICTED),        # the cores bound the bar, not the workers
    ([3.0, 3.1], 4, 4, CONTRADICTED),        # 0.75 × 4 = 3.0
    ([2.9, 3.1], 8, 8, INCONCLUSIVE),        # 6.0 needed
    ([1.0], 2, 2, INCONCLUSIVE),
])
def test_j_threshold_edges(speedups, workers, cores, expected):
    assert wc.speedup_outcome(pd.Series(speedups), workers, cores) == expected


def test_j_is_supported_when_nothing_python_ran_sped_up(make_set):
    claim = judged(make_set, "j", workloads=("io", "native"), behaviour=Behaviour(gil_releases=False))
    assert claim.verdict == SUPPORTED and claim.reason.startswith("no speed-up in any conclusive group — sum")
    assert "native · Python · 2 workers: 1.0" in claim.reason and "io · Python · 2 workers: 1.0" in claim.reason


def test_j_without_one_of_its_workloads_is_not_supported(make_set):
    claim = judged(make_set, "j", workloads=("native",), behaviour=Behaviour(gil_releases=False))
    assert claim.verdict == INCONCLUSIVE and claim.reason.startswith("no speed-up where judged, but io could not")
    assert "native · Python · 2 workers: 1.0" in claim.reason


@pytest.mark.parametrize("outcomes, verdict", [
    ({"sum": SUPPORTED, "io": INCONCLUSIVE}, SUPPORTED),
    ({"sum": SUPPORTED, "io": INCONCLUSIVE, "native": INCONCLUSIVE}, INCONCLUSIVE),
    ({"sum": SUPPORTED, "io": CONTRADICTED, "native": INCONCLUSIVE}, CONTRADICTED),    # one counterexample
])
def test_j_combines_groups_by_its_rule(outcomes, verdict):
    assert wc.one_counterexample_refutes(list(outcomes.values())) == verdict


@pytest.mark.parametrize("contention, verdict", [(1.0, CONTRADICTED), (0.88, INCONCLUSIVE)])
def test_k_contention(make_set, contention, verdict):
    claim = judged(make_set, "k", workloads=("contended",), behaviour=Behaviour(contention=contention))
    assert claim.verdict == verdict


@pytest.mark.parametrize("kept, expected", [
    ([0.3, 0.8], SUPPORTED), ([0.3, 0.81], INCONCLUSIVE), ([0.95, 1.2], CONTRADICTED), ([0.94, 1.2], INCONCLUSIVE),
])
def test_k_threshold_edges(kept, expected):
    assert wc.between(pd.Series(kept), wc.CONTENTION_COST, wc.NO_COST) == expected
