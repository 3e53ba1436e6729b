"""Claims (a)-(c) on the article's printing workload, judged apart from sum; the sentence of what that experiment
measured, computed from the set; and the one-line pointer of a set that ran every configuration once."""

from __future__ import annotations

import dataclasses
import re

import numpy as np

import pytest

from analysis import claims, claims_printing
from analysis.claims import CONTRADICTED, INCONCLUSIVE, SUPPORTED
from analysis.load import load_results


def _judged(results) -> dict:
    return {claim.key: claim for claim in claims.evaluate(results) if claim.key.endswith("-print")}


def test_printing_claims_are_judged_on_sum_print_only(default_results):
    judged = _judged(default_results)
    assert {key: claim.verdict for key, claim in judged.items()} == {
        "a-print": SUPPORTED, "b-print": CONTRADICTED, "c-print": CONTRADICTED}
    assert judged["b-print"].by_variant == {"C#": CONTRADICTED, "Go": CONTRADICTED, "Java": CONTRADICTED}
    groups = judged["b-print"].evidence["group"]
    assert groups.str.endswith("· threads · 8 workers · print").all() and len(groups) == 3
    sum_groups = next(c for c in claims.evaluate(default_results) if c.key == "b").evidence["group"]
    assert sum_groups.str.endswith("· cpu").all()    # and sum's own claim has no printing group


def test_printing_claims_are_the_consoles_the_same_workload_elsewhere_is_not_the_articles_experiment(default_results):
    runs = default_results.runs
    to_devnull = dataclasses.replace(default_results, runs=runs.assign(sink=runs["sink"].astype(str).replace(
        claims_printing.CONSOLE, "devnull")))
    judged = _judged(to_devnull)
    assert set(judged) == {"a-print", "b-print", "c-print"}
    assert all(claim.verdict == INCONCLUSIVE and claim.evidence.empty for claim in judged.values())


def test_the_sentence_says_the_multithreaded_runtimes_did_not_spread_while_printing(default_results):
    finding = claims_printing.article_experiment_finding(default_results)
    assert "8 threads printing" in finding and "experiment 'print'" in finding
    assert "threads did not spread (C# 1.4" in finding and "under 1.8" in finding
    assert "stayed on one core (Python 0.7" in finding and "console's write path" in finding
    reps = default_results.runs.query("experiment == 'print' and mode == 'threads' and workers == 8 and measured")
    assert f", {reps.groupby('lang', observed=True).size().min()} runs each)" in finding
    assert "not a verdict" not in finding


def test_printing_runs_whose_console_reader_filled_the_machine_decide_nothing(default_results):
    """b-print's threads print at 1.4 cores of 2: contradicted while 0.6 cores stood idle; with the lab's
    reader and the kernel's threads taking 0.3 cores each beside them, the machine was full."""
    runs = default_results.runs
    printing = (runs["workload"] == "sum-print").to_numpy()
    full = dataclasses.replace(default_results, runs=runs.assign(
        stdout_reader_cpu_s=np.where(printing, 0.3 * runs["wall_s"], 0.0),
        kernel_threads_cpu_s=np.where(printing, 0.3 * runs["wall_s"], 0.0), sink="tty"))
    judged = _judged(full)
    assert judged["b-print"].verdict == INCONCLUSIVE
    assert judged["b-print"].evidence["outcome"].str.contains(
        r"3 of 3 run\(s\) short of it on a full machine: .* took 0\.6 cores beside").all()
    assert judged["a-print"].verdict == SUPPORTED         # at most one core: a full machine changes nothing
    finding = claims_printing.article_experiment_finding(full)
    assert re.search(r"threads did not spread \(C# 1\.4.*\), while the console's reader, the kernel's threads "
                     r"and the lab's sampler took 0\.6", finding)


@pytest.mark.parametrize("waited, beside", [(0.5, 0.3), (0.0, 0.3), (2.0, 0.0)])
def test_printing_runs_decide_nothing_only_where_the_machine_was_full_and_their_threads_waited(
        default_results, waited, beside):
    """b-print's threads print at 1.4 of 2 cores. Where the set has the run-queue wait it must agree with the cores
    taken beside: threads that waited for a core half of the time each, beside 0.6 cores of reader and kernel
    threads, were on a full machine; threads that never waited left cores idle for want of work, however many
    cores the reader took; and threads that waited with nothing beside them waited for a core that was free
    (the wait also holds each wake-up's latency, which a printing program has thousands of a second)."""
    runs, threads = default_results.runs, default_results.threads
    printing = (runs["workload"] == "sum-print").to_numpy()
    printing_ids = runs.loc[printing, "run_id"]
    with_wait = threads.assign(wait_s=threads["t_s"] * waited * threads["run_id"].isin(printing_ids))
    full = dataclasses.replace(default_results, threads=with_wait, runs=runs.assign(
        stdout_reader_cpu_s=np.where(printing, beside * runs["wall_s"], 0.0),
        kernel_threads_cpu_s=np.where(printing, beside * runs["wall_s"], 0.0), sink="tty"))
    outcomes = _judged(full)["b-print"].evidence["outcome"]
    if waited and beside:
        assert _judged(full)["b-print"].verdict == INCONCLUSIVE
        assert outcomes.str.contains(r"3 of 3 run\(s\) short of it on a full machine: .* took 0\.6 cores beside the "
                                     r"run's, and the run's threads waited for a core \(\d").all()
        assert re.search(r"took 0\.6 cores beside them and their threads were ready to run with no core running them "
                         r"[\d.–]+ cores' worth \(run-queue wait", claims_printing.article_experiment_finding(full))
    else:
        assert _judged(full)["b-print"].verdict == CONTRADICTED and not outcomes.str.contains("full machine").any()


def test_the_sentence_says_python_left_one_core_when_its_runs_did(make_set):
    results = load_results(make_set(gil=False, print_slows=False, workers=(1, 8)))
    finding = claims_printing.article_experiment_finding(results)
    assert "threads spread (C# 1.9" in finding and "did not stay on one core (Python 1.9" in finding
    assert _judged(results)["a-print"].verdict == CONTRADICTED


def test_printing_elsewhere_than_a_console_is_not_the_articles_experiment_and_has_no_sentence(default_results):
    runs = default_results.runs
    to_devnull = dataclasses.replace(default_results, runs=runs.assign(sink=runs["sink"].astype(str).replace(
        claims_printing.CONSOLE, "devnull")))
    assert claims_printing.article_experiment_finding(to_devnull) is None


def test_a_set_without_printing_runs_has_no_sentence(make_set):
    results = load_results(make_set(workers=(1,)))   # print runs at 1 worker: nothing to spread
    assert claims_printing.article_experiment_finding(results) is None


@pytest.mark.parametrize("reps, pointed", [(1, True), (2, False)])
def test_a_one_run_set_points_to_the_claims_profile(make_set, reps, pointed):
    note = claims_printing.single_run_note(load_results(make_set(reps=reps, workers=(2,), failures=False)))
    assert (note is not None) == pointed
    if pointed:
        assert "invoke all --profile claims" in note and f"fewer than {claims.MIN_REPS} times" in note


def test_the_report_of_a_one_run_set_shows_the_pointer_not_the_verdicts(make_set, tmp_path):
    from analysis import report
    from analysis.document import to_markdown
    results = load_results(make_set(reps=1, workers=(2,), failures=False))
    markdown = to_markdown(report.build_document(results, [], claims.evaluate(results)), tmp_path)
    assert "invoke all --profile claims" in markdown and "In the article's own experiment" in markdown
    assert "(a) Python threads use one core" not in markdown and "Verdict: " not in markdown
    assert ", 1 run each)" in markdown and "a reading of single runs, not a verdict" in markdown
