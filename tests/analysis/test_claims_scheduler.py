"""Claims (d) and (e) (claims_scheduler.py, claims_noise.py): each says supported, contradicted and inconclusive
on synthetic sets whose per-thread migrations, core changes, switch rates and hand-offs are set run by run, and the thresholds
hold at their edges (a rule off by one fails here)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis import claims, claims_noise as cn, claims_scheduler as cs, tidy
from analysis.claims import CONTRADICTED, DEPENDS, INCONCLUSIVE, SUPPORTED
from analysis.load import load_results


@pytest.fixture(scope="module")
def base(make_set):
    """Go (its goroutines on 2 busy threads) and Python, both modes, 2 and 4 workers on 2 cores, 6 repetitions."""
    return load_results(make_set(langs=("go", "python"), workers=(2, 4), reps=6, failures=False, seed=7))


@pytest.fixture(scope="module")
def loads(make_set):
    """Go and Python at 1 and 2 workers on 2 cores, 6 repetitions: (e) compares Python's 2 threads, one core's
    worth, with the others at that load, 1 worker."""
    return load_results(make_set(langs=("go", "python"), workers=(1, 2), reps=6, failures=False, seed=7))


STRETCH = 3.0   # the synthetic runs last about a second: (d) needs counter reads 2 s apart, as the claims set has


def designed(results, experiment: str, reps: int = 6, workers: tuple = (2, 4)):
    """The set with its `cpu` experiment named `experiment`, keeping the first `reps` repetitions at `workers`
    measured, its runs' time stretched STRETCH times (wall, samples and thread samples; the work: all but the
    start-up)."""
    runs = results.runs.copy()
    runs["experiment"] = runs["experiment"].cat.rename_categories({"cpu": experiment})
    runs["measured"] &= (runs["rep"] <= reps) & runs["workers"].isin(workers)
    runs["wall_s"] *= STRETCH
    runs["inner_s"] = runs["wall_s"] - 0.05
    threads, samples = results.threads.copy(), results.samples.copy()
    threads["t_s"] *= STRETCH
    samples["t_s"] *= STRETCH
    return dataclasses.replace(results, runs=runs, threads=threads, samples=samples)


PLACEMENT = 2.0    # migrations a new thread has at its first sample: placed on a core, not moved between cores


def with_migrations(results, per_worker: list[int], change_core: bool | str = True, where=None):
    """Each worker thread i of the chosen runs (default: all) migrates per_worker[i % len] times a second after
    the PLACEMENT migrations of its start, and is seen on another core at every sample (change_core), once (at
    its last sample: "once"), or never."""
    runs = results.runs if where is None else results.runs[where(results.runs)]
    threads = results.threads.copy()
    chosen = threads["run_id"].isin(runs["run_id"]) & threads["tid"].between(1001, 1099)
    worker = threads.loc[chosen, "tid"] - 1001
    since_first = threads.loc[chosen, "t_s"] - threads.loc[chosen].groupby(["run_id", "tid"])["t_s"].transform("min")
    threads.loc[chosen, "migrations"] = PLACEMENT + since_first.to_numpy() * np.array(
        [float(per_worker[i % len(per_worker)]) for i in worker])
    position = threads.loc[chosen].groupby(["run_id", "tid"]).cumcount()
    last = position == threads.loc[chosen].groupby(["run_id", "tid"])["t_s"].transform("size") - 1
    threads.loc[chosen, "core"] = last.astype(int) if change_core == "once" else \
        (position % 2).astype(int) if change_core else 0
    return dataclasses.replace(results, threads=threads)


def migrations(results):
    decided, rows = cs.claim_migrations(results)
    return decided, pd.DataFrame(rows, columns=claims.EVIDENCE_COLUMNS)


def test_busy_threads_moved_in_every_run_support_d_per_runtime(base):
    decided, evidence = migrations(with_migrations(designed(base, "migrate", reps=3), [3]))
    assert decided.verdict == SUPPORTED and decided.by_variant == {"Go": SUPPORTED, "Python": SUPPORTED}
    assert decided.reason.startswith("judged on experiment 'migrate' — holds for 2 of 2 runtimes, fails for none")
    kernel = evidence[evidence["measure"] == cs.MIGRATION_MEASURE].set_index("group")
    assert kernel.loc["Go · threads · 4 workers (> 2 cores)", "outcome"] == \
        "supported (3 of 3 runs moved, 0 stayed; source: kernel)"
    assert kernel["median"].tolist() == pytest.approx([3] * len(kernel)) and (kernel["n"] == 3).all()
    why = evidence[evidence["measure"].str.startswith("why")].set_index("group")["outcome"]
    assert why["Go"].startswith("4 workers ran on 2 busy OS threads; goroutines run on at most GOMAXPROCS")
    assert "GIL" in why["Python"] and "busy OS threads" not in why["Python"]


def test_busy_threads_that_never_moved_contradict_d(base):
    decided, evidence = migrations(with_migrations(designed(base, "migrate", reps=3), [0], change_core=False))
    assert decided.verdict == CONTRADICTED and set(decided.by_variant.values()) == {CONTRADICTED}
    assert evidence["outcome"].str.contains(r"0 of 3 runs moved, 3 stayed").sum() == 8


@pytest.mark.parametrize("per_worker, change_core, verdict", [
    ([1], True, SUPPORTED),            # exactly MOVES_PER_S per busy thread: moved
    ([1, 0], True, CONTRADICTED),      # 0.5 a second per busy thread, under MOVES_PER_S: kept in place
    ([3, 0], True, SUPPORTED),         # 1.5 a second on average: moved
    ([1], False, SUPPORTED),           # the kernel counts the move the samples never saw: the kernel decides
    ([0], True, CONTRADICTED),         # only the start's placement: a core change between samples does not outvote it
    ([0], False, CONTRADICTED),        # none at all: kept in place
])
def test_d_at_its_thresholds(base, per_worker, change_core, verdict):
    assert cs.MOVES_PER_S == 1
    decided, _ = migrations(with_migrations(designed(base, "migrate", reps=3), per_worker, change_core))
    assert decided.verdict == verdict, decided.reason


@pytest.mark.parametrize("reps, verdict", [(2, SUPPORTED), (1, INCONCLUSIVE)])
def test_d_needs_min_reps_runs_a_group(base, reps, verdict):
    assert claims.MIN_REPS == 2
    decided, evidence = migrations(with_migrations(designed(base, "migrate", reps=reps), [2]))
    assert decided.verdict == verdict and (evidence.loc[evidence["measure"].str.startswith("migr"), "n"] == reps).all()


def test_d_prefers_the_trace_where_a_run_has_one(base):
    results = with_migrations(designed(base, "migrate", reps=3), [0], change_core=False)   # the samples: stayed
    runs = results.runs.copy()
    go_threads = (runs["lang"] == "go") & (runs["mode"] == "threads")
    runs[cs.TRACED] = np.where(go_threads, 4.0, np.nan)   # every event: Go's threads did move
    runs["trace_switches"] = np.nan
    decided, evidence = migrations(dataclasses.replace(results, runs=runs))
    assert decided.by_variant == {"Go": DEPENDS, "Python": CONTRADICTED}   # Go's groups now decide differently
    kernel = evidence[evidence["measure"] == cs.MIGRATION_MEASURE].set_index("group")
    assert kernel.loc["Go · threads · 2 workers (≤ 2 cores)", "outcome"] == \
        "supported (3 of 3 runs moved, 0 stayed; source: trace)"
    assert kernel.loc["Go · processes · 2 workers (≤ 2 cores)", "outcome"].endswith("source: kernel)")


@pytest.mark.parametrize("traced, outcome", [(1.0, "supported (3 of 3 runs moved, 0 stayed"),
                                             (0.99, "contradicted (0 of 3 runs moved, 3 stayed"),
                                             (0.0, "contradicted (0 of 3 runs moved, 3 stayed")])
def test_d_on_a_trace_at_its_thresholds(base, traced, outcome):
    results = with_migrations(designed(base, "migrate", reps=3), [2])   # the samples: moved, and set aside
    runs = results.runs.assign(**{cs.TRACED: traced * results.runs["inner_s"]})   # per busy thread, over the work
    decided, evidence = migrations(dataclasses.replace(results, runs=runs))
    kernel = evidence[evidence["measure"] == cs.MIGRATION_MEASURE]
    assert (kernel["outcome"] == f"{outcome}; source: trace)").all() and len(kernel) == 8


def test_go_moving_less_than_the_others_is_named_a_finding(base):
    results = with_migrations(designed(base, "migrate", reps=3), [3])
    results = with_migrations(results, [1], where=lambda runs: runs["lang"] == "go")
    _, evidence = migrations(results)
    why = evidence[evidence["measure"].str.startswith("why")].set_index("group")
    # every group's median lies between Go's 1 and Python's 3: Go is at 0.5 × it, the edge of FEWER_MIGRATIONS
    assert cs.FEWER_MIGRATIONS == 0.5 and why.loc["Go", "median"] == 0.5 and "fewer migrations than most" in why.loc["Go", "outcome"]
    assert "about as many migrations as the others" in why.loc["Python", "outcome"]


def test_without_a_migrate_experiment_d_says_it_judged_the_headline(base):
    decided, _ = migrations(with_migrations(designed(base, "other", reps=3), [2]))
    assert "the headline experiment 'other' at 4 workers (this set has no 'migrate' experiment" in decided.reason


# (e) ---------------------------------------------------------------------------------------------------------

def with_causes(results, switches, handoffs, who=lambda runs: runs["lang"] == "python", trace_switches=None):
    """The chosen (`who`) quiet threads runs get a context-switch rate and hand-offs / s (busy threads' voluntary
    switches over the work time) that are functions of the rank of the run's noise (0-based) among the runs of
    its experiment, language and worker count."""
    window = tidy.window_stats(results).set_index("run_id")[cn.NOISE]
    runs, threads = results.runs.copy(), results.threads.copy()
    chosen = runs[who(runs) & (runs["mode"] == "threads") & runs["measured"]]
    for _, group in chosen.groupby(["experiment", "language", "workers"], observed=True):
        rank = window.reindex(group["run_id"]).rank(method="first").astype(int).to_numpy() - 1
        runs.loc[group.index, "switches_per_s"] = [switches(r) for r in rank]
        if trace_switches is not None:
            runs.loc[group.index, "trace_switches"] = [trace_switches(r) * w for r, w in zip(rank, group["wall_s"])]
        busy = tidy.thread_stats(results, group).groupby("run_id")["busy"].sum()
        for run, r in zip(group.itertuples(), rank):
            workers = (threads["run_id"] == run.run_id) & threads["tid"].between(1001, 1099)
            threads.loc[workers, "ctx_voluntary"] = handoffs(r) * run.inner_s / busy[run.run_id]
    return dataclasses.replace(results, runs=runs, threads=threads)


def noisy(results):
    decided, rows = cn.claim_noisy(results)
    return decided, pd.DataFrame(rows, columns=claims.EVIDENCE_COLUMNS)


def rising(rank: int) -> float:
    return 1000.0 + 100 * rank


def falling(rank: int) -> float:
    return 2000.0 - 100 * rank


def test_python_noisier_and_its_noise_going_with_switching_supports_e(loads):
    decided, evidence = noisy(with_causes(designed(loads, "noise", workers=(1, 2)), rising, rising))
    assert decided.verdict == SUPPORTED and decided.by_variant == {"Python": SUPPORTED, "Go": SUPPORTED}
    assert decided.reason.startswith("Python's noise goes with its context-switch rate and with the GIL's hand-offs;"
                                     " no free-threaded control with enough quiet runs. Judged on experiment 'noise'")
    rho = evidence[evidence["measure"].str.startswith("Spearman")].set_index(["group", "measure"])
    pooled = rho.loc[("one-core runtimes, pooled", "Spearman ρ, noise vs context switches / s")]
    assert pooled["median"] == pytest.approx(1.0) and pooled["n"] == 6 and pooled["outcome"] == "goes with"
    assert rho.loc[("Python", "Spearman ρ, noise vs GIL hand-offs / s (busy threads' voluntary switches)"),
                   "spread"] == "p = 0"
    compared = evidence[evidence["outcome"].isin(["Python higher", "Python lower", "Python overlap"])]
    assert set(compared["outcome"]) == {"Python higher"} and len(compared) == 2   # against Go, on both measures


def test_python_is_compared_with_the_others_at_its_own_load_one_core(loads):
    """Python's 2 threads keep one core busy: the others' 1-worker runs are its peers. Without them, the others'
    2-worker runs keep both cores full, where a core cannot vary, and nothing is compared."""
    decided, evidence = noisy(with_causes(designed(loads, "noise", workers=(1, 2)), rising, rising))
    compared = evidence[evidence["outcome"].str.startswith("Python ")]
    assert set(compared["group"]) == {"Go · threads · 1 worker"}
    only_full = with_causes(designed(loads, "noise", workers=(2,)), rising, rising)
    decided, evidence = noisy(only_full)
    assert decided.by_variant == {"Python": INCONCLUSIVE}
    assert evidence.loc[evidence["group"] == "Python · threads · 2 workers", "outcome"].iloc[0] == (
        "no all-cores runs at 1 worker, the same load: cores kept full cannot vary, so runtimes at other loads are "
        "no comparison")


def test_noise_going_against_switching_contradicts_e(loads):
    decided, _ = noisy(with_causes(designed(loads, "noise", workers=(1, 2)), falling, falling))
    assert decided.verdict == CONTRADICTED   # Go's graph is the calmer, Python's noise is not the switching's
    assert decided.by_variant == {"Python": CONTRADICTED, "Go": SUPPORTED}
    assert decided.reason.startswith("Python's noise goes with neither the context-switch rate nor the GIL's "
                                     "hand-offs (goes against; goes against)")


def test_python_calmer_than_the_others_contradicts_e(loads):
    results = with_causes(designed(loads, "noise", workers=(1, 2)), rising, rising)
    samples = results.samples.copy()   # Go's per-core busy % swings hard, Python's stays what it was
    go = samples["run_id"].isin(results.runs.loc[results.runs["lang"] == "go", "run_id"])
    samples.loc[go, "workload_pct"] = np.where(samples.loc[go, "t_s"].mul(10).round() % 2 == 0, 5.0, 95.0)
    samples.loc[go, "system_pct"] = samples.loc[go, "workload_pct"] + 1
    decided, evidence = noisy(dataclasses.replace(results, samples=samples))
    assert decided.by_variant == {"Python": CONTRADICTED, "Go": CONTRADICTED}   # Go's graph is the noisy one
    assert decided.verdict == CONTRADICTED and "fails for 2 of 2" in decided.reason
    assert (evidence["outcome"] == "Python lower").sum() == 1


@pytest.mark.parametrize("reps, verdict", [(6, SUPPORTED), (5, INCONCLUSIVE)])
def test_e_needs_min_correlation_runs(loads, reps, verdict):
    assert claims.MIN_CORRELATION_RUNS == 6
    decided, evidence = noisy(with_causes(designed(loads, "noise", reps=reps, workers=(1, 2)), rising, rising))
    assert decided.verdict == verdict, decided.reason   # Go's calm is decided either way: the claim is Python's
    assert decided.by_variant == {"Python": verdict, "Go": SUPPORTED}
    pooled = evidence[evidence["group"] == "one-core runtimes, pooled"]
    assert (pooled["n"] == reps).all() and (pooled["outcome"] == ("goes with" if reps == 6 else "too few runs")).all()


@pytest.mark.parametrize("control_handoffs, sentence", [
    (falling, "the free-threaded control's does not go with its hand-offs, so the link is the GIL's"),
    (rising, "the free-threaded control's goes with its hand-offs too, so the link is not the GIL's alone"),
])
def test_hand_offs_alone_and_the_free_threaded_control(loads, control_handoffs, sentence):
    unrelated = [3, 5, 0, 4, 1, 2]   # switch rates that do not follow the noise: ρ = -0.37, p = 0.47
    results = designed(loads, "noise", workers=(1, 2))
    runs = results.runs.copy()   # Go plays free-threaded CPython: all-cores, beside the one-core CPython
    runs["language"] = runs["language"].cat.rename_categories({"Go": "CPython free-threaded"})
    runs["lang"] = runs["lang"].astype(str).replace("go", "python")
    results = dataclasses.replace(results, runs=runs)
    two_threads = lambda r: (r["threads"] == claims.ONE) & (r["workers"] == 2)   # noqa: E731
    results = with_causes(results, lambda r: 1000.0 + unrelated[r], rising, who=two_threads)
    one_thread = lambda r: (r["threads"] == claims.ONE) & (r["workers"] == 1)   # noqa: E731
    results = with_causes(results, lambda r: 60.0 + r, lambda r: 0.0, who=one_thread)   # no one to hand off to
    results = with_causes(results, lambda r: 40.0 + r, control_handoffs, who=lambda r: r["threads"] == claims.ALL)
    samples = results.samples.copy()   # Python's one thread stays on core 0: its graph is flat
    alone = samples["run_id"].isin(results.runs.loc[one_thread(results.runs), "run_id"])
    samples.loc[alone, "workload_pct"] = np.where(samples.loc[alone, "core"] == 0, 100.0, 0.0)
    samples.loc[alone, "system_pct"] = samples.loc[alone, "workload_pct"]
    decided, evidence = noisy(dataclasses.replace(results, samples=samples))
    assert decided.verdict == SUPPORTED
    assert decided.by_variant == {"Python": SUPPORTED, "CPython free-threaded": SUPPORTED}
    assert decided.reason.startswith(f"Python's noise goes with the GIL's hand-offs; {sentence}; with one thread, "
                                     "which hands nothing off, the same runtime switches less and is calmer. Judged on")
    contrast = evidence[evidence["group"] == "one thread vs Python"]
    assert contrast["outcome"].tolist() == ["supported: the control's switch rate lower, its noise lower"]
    control = evidence[evidence["group"] == "free-threaded control, pooled"].set_index("measure")
    assert (control["n"] == 6).all() and control.loc["Spearman ρ, noise vs context switches / s", "outcome"] == \
        "goes with"


def test_e_prefers_traced_switches(loads):
    decided, evidence = noisy(with_causes(designed(loads, "noise", workers=(1, 2)), falling, lambda r: 500.0,
                                          trace_switches=rising))   # wait4's falls, every traced switch rises
    assert decided.verdict == SUPPORTED and decided.reason.startswith("Python's noise goes with its context-switch "
                                                                      "rate;")


def test_d_and_e_are_registered_in_the_seed_order():
    keys = [spec.key for spec in claims.all_claims()]
    assert keys[:8] == ["a", "a2", "b", "c", "d", "e", "f", "g"]
    assert {spec.key: spec.judge for spec in claims.all_claims()}["d"] is cs.claim_migrations


def _runs(switches: list[float], noise: list[float]) -> pd.DataFrame:
    return pd.DataFrame({cn.SWITCHES: switches, cn.NOISE: noise})


@pytest.mark.parametrize("control, outcome", [
    (_runs([40, 50], [1.0, 2.0]), SUPPORTED),        # switches less, calmer: the noise went with the switching
    (_runs([40, 50], [2.0, 9.0]), INCONCLUSIVE),     # switches less, noise ranges overlap: no difference shown
    (_runs([40, 50], [12.0, 14.0]), CONTRADICTED),   # switches less, noisier
    (_runs([40, 99], [12.0, 14.0]), CONTRADICTED),   # 99 is just under the subject's least 100: switches less
    (_runs([40, 100], [12.0, 14.0]), INCONCLUSIVE),  # touching it: does not switch less
    (_runs([40, 50], [1.0, 2.99]), SUPPORTED),       # just below the subject's calmest 3.0
    (_runs([40, 50], [1.0, 3.0]), INCONCLUSIVE),     # touching it: not below, not above
    (_runs([40, 50], [10.01, 11.0]), CONTRADICTED),  # just above the subject's noisiest 10.0
    (_runs([40, 50], [10.0, 11.0]), INCONCLUSIVE),   # touching it
    (_runs([40], [1.0]), INCONCLUSIVE),              # fewer than MIN_REPS runs
])
def test_the_free_threaded_contrast_at_its_edges(control, outcome):
    subject = _runs([100, 120], [3.0, 10.0])
    assert cn.contrast_outcome(subject, control, "CPython")[0] == outcome


@pytest.mark.parametrize("says, contrast, cause", [
    ({"switch_rate": "no link shown", "handoff_rate": "no link shown"}, CONTRADICTED, CONTRADICTED),
    ({"switch_rate": "goes with", "handoff_rate": "no link shown"}, INCONCLUSIVE, SUPPORTED),
    ({"switch_rate": "goes with", "handoff_rate": "no link shown"}, CONTRADICTED, INCONCLUSIVE),   # disagree
    ({"switch_rate": "goes against", "handoff_rate": "no link shown"}, SUPPORTED, INCONCLUSIVE),
    ({"switch_rate": "no link shown", "handoff_rate": "no link shown"}, INCONCLUSIVE, INCONCLUSIVE),
])
def test_the_cause_from_the_correlations_and_the_contrast(says, contrast, cause):
    assert cn.cause_outcome(says, contrast) == cause


@pytest.mark.parametrize("noisy, cause, verdict", [
    (INCONCLUSIVE, CONTRADICTED, CONTRADICTED),   # "because of switching" refuted: the claim falls
    (SUPPORTED, SUPPORTED, SUPPORTED), (SUPPORTED, INCONCLUSIVE, INCONCLUSIVE), (CONTRADICTED, SUPPORTED, CONTRADICTED),
])
def test_e_joins_noisier_and_its_cause(noisy, cause, verdict):
    assert cn.noise_verdict(noisy, cause) == verdict


def test_a_link_between_two_variants_far_apart_is_not_a_link_within_either():
    """PyPy-like runs sit high on both noise and switches, CPython-like low; within each, the two do not move
    together. Pooled as they are, ρ = 0.66 (p = 0.018) would say the noise goes with the switching."""
    within = [3, 5, 0, 4, 1, 2]   # ranks of the switch rate against noise rising 0..5: ρ = -0.37
    runs = pd.DataFrame({"language": ["CPython"] * 6 + ["PyPy"] * 6,
                         cn.NOISE: [1.0 + k for k in range(6)] + [10.0 + k for k in range(6)],
                         cn.SWITCHES: [400.0 + 10 * r for r in within] + [4000.0 + 10 * r for r in within]})
    rho, p, n, says = cn.correlation(runs, cn.SWITCHES)
    assert n == 12 and says == "no link shown" and rho == pytest.approx(-0.37, abs=0.01)
    rising = runs.assign(**{cn.SWITCHES: [400.0 + k for k in range(6)] + [4000.0 + k for k in range(6)]})
    assert cn.correlation(rising, cn.SWITCHES)[3] == "goes with"   # moving together within each: a link


def test_a_control_that_never_hands_off_is_said_so_not_called_too_few_runs():
    """Free-threaded threads never wait for a GIL: their hand-off rate is 0 in every run, which is a finding."""
    control = pd.DataFrame({"language": ["CPython free-threaded"] * 6, cn.NOISE: [0.9, 1.0, 1.8, 0.6, 0.8, 1.8],
                            cn.HANDOFFS: [0.0] * 6})
    assert cn.correlation(control, cn.HANDOFFS)[2:] == (6, "the same in every run: 0")
    assert cn.correlation(control.head(5), cn.HANDOFFS)[3] == "too few runs"
    sentence = cn.which_cause({cn.SWITCHES: "goes with", cn.HANDOFFS: "no link shown"}, "the same in every run: 0")
    assert sentence == ("Python's noise goes with its context-switch rate; the free-threaded control's hand-off rate "
                        "is 0 a second in every run, so its noise has none to follow")

def _variant(language: str, switches: list[float], noise: list[float]) -> pd.DataFrame:
    return _runs(switches, noise).assign(language=language, workers=2)


@pytest.mark.parametrize("java_noise, pair, calm", [
    ([0.6, 0.7, 0.8, 2.1], SUPPORTED, SUPPORTED),        # one Java run noisier than CPython's calmest; p = 0.029
    ([0.6, 0.7, 0.8, 2.3], INCONCLUSIVE, INCONCLUSIVE),  # two CPython runs below it: p = 0.057
    ([2.7, 3.0, 3.5, 4.0], CONTRADICTED, CONTRADICTED),  # Java's graph the noisier: ranges apart
])
def test_each_pair_of_runtimes_is_judged_by_one_sided_tests(java_noise, pair, calm):
    cpython = _variant("CPython", [500, 520, 540, 560], [2.0, 2.2, 2.4, 2.6])
    others = pd.concat([_variant("Go", [40, 45, 50, 55], [0.5, 0.6, 0.7, 0.8]),
                        _variant("Java 17", [60, 65, 70, 75], java_noise)])
    pairs, calmer, rows = cn.noisier(cpython, others, "CPython · threads · 2 workers")
    assert pairs == {"Go": SUPPORTED, "Java 17": pair} and calmer == {"Go": SUPPORTED, "Java 17": calm}
    found = {(row["group"], row["measure"]): row["outcome"] for row in rows}
    assert found[("Go · threads · 2 workers", "per-core busy % std over the work window")] == "CPython higher"


def test_below_on_either_measure_contradicts_the_pair_and_the_calm_needs_noise_alone():
    cpython = _variant("CPython", [500, 520, 540, 560], [0.2, 0.3, 0.4, 0.55])
    others = pd.concat([_variant("Go", [40, 45, 50, 55], [0.5, 0.6, 0.7, 0.8]),          # p = 0.029 below
                        _variant("Java 17", [600, 650, 700, 750], [0.01, 0.02, 0.03, 0.04])])
    pairs, calmer, _ = cn.noisier(cpython, others, "CPython · threads · 2 workers")
    assert pairs == {"Go": CONTRADICTED, "Java 17": CONTRADICTED}    # Java: CPython switches less
    assert calmer == {"Go": CONTRADICTED, "Java 17": SUPPORTED}       # Java's graph is the calmer all the same


@pytest.mark.parametrize("noisy, cause, verdict", [
    (DEPENDS, SUPPORTED, DEPENDS), (DEPENDS, INCONCLUSIVE, INCONCLUSIVE), (DEPENDS, CONTRADICTED, CONTRADICTED),
])
def test_noisier_than_some_runtimes_and_calmer_than_others_depends(noisy, cause, verdict):
    assert cn.noise_verdict(noisy, cause) == verdict

def test_the_migrations_figure_draws_what_d_judges_each_mode_at_each_worker_count(base):
    from analysis import figures
    drawn = figures.migrations(with_migrations(designed(base, "migrate", reps=3), [3]))
    legend = [text.get_text() for text in drawn.figure.legends[0].get_texts()]
    kernel_counts = {round(y) for dots in drawn.figure.axes[0].collections for y in dots.get_offsets()[:, 1]}
    drawn.figure.clf()
    assert legend == ["threads · 2 workers", "threads · 4 workers", "processes · 2 workers", "processes · 4 workers"]
    assert "experiment 'migrate'" in drawn.caption and kernel_counts == {3}   # every busy thread: 3 migrations


@pytest.mark.parametrize("rate, source, work_s, state", [
    (0.99, "kernel", 1.0, "stayed"),      # a second of work with fewer moves than one a second: kept in place
    (0.99, "kernel", 0.99, None),         # shorter than a Task Manager frame: cannot show that
    (1.0, "kernel", 0.5, "moved"),        # a move a second shows in any run
    (0.0, "trace", 0.5, None),
    (0.0, "samples", 5.0, None),          # samples never show that there was no move
])
def test_a_run_shorter_than_a_frame_cannot_show_its_jobs_kept_in_place(rate, source, work_s, state):
    assert cs.run_state(rate, rate, source, work_s) == state
