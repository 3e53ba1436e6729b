"""Claim (e), about what the OS scheduler does with a GIL's threads: "Python's graph is noisy because of context
switching", judged on the `claims` profile's `noise` experiment (sum, threads, quiet repetitions at 1 and 2 workers)
with the verdict machinery of claims.py; a set without it (the quick profile) is judged on its headline experiment,
and the evidence says so. Claim (d), the other scheduler claim, is claims_scheduler.py's.

The GIL's hand-offs are counted as the voluntary context switches of the busy threads: a thread waiting for the GIL
sleeps on a futex, which is a voluntary switch; involuntary switches are preemptions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from . import tidy
from .claims import (ALL, ALPHA, CONTRADICTED, DEPENDS, INCONCLUSIVE, MIN_CORRELATION_RUNS, MIN_REPS, ONE,
                     SUPPORTED, ClaimSpec, Decided, SEPARATED_NOTE, _row, about, combine, separated, variant_verdict)
from .claims_scheduler import TRACE_SWITCHES, busy_threads, traced_values
from .load import ResultsSet, same_machine
from .workload_claims import over_runtimes

NOISE_EXPERIMENT = "noise"
# the one-core runtimes' 2 threads (one core's load) and the free-threaded control's: the all-cores runtimes are
# compared at that load, 1 worker, in NOISE_EXPERIMENT, and need no runs at 2
GIL_NOISE_EXPERIMENT = "noise-gil"

NOISE = "core_unsteadiness_pct"   # the report's "noisy graph": per-core busy % std over the work window
SWITCHES, HANDOFFS = "switch_rate", "handoff_rate"
NOISE_MEASURE = "per-core busy % std over the work window"
CAUSES = {SWITCHES: "context switches / s", HANDOFFS: "GIL hand-offs / s (busy threads' voluntary switches)"}
CAUSE_WORDS = {SWITCHES: "its context-switch rate", HANDOFFS: "the GIL's hand-offs"}
SAME_IN_EVERY_RUN = "the same in every run"   # a measure that does not vary cannot be correlated


def noise_runs(results: ResultsSet) -> tuple[pd.DataFrame, str]:
    """Quiet threads-mode runs of the noise experiment (else the headline's): their noise, context-switch rate
    (every switch where traced, else wait4's voluntary + involuntary, over the wall time) and hand-offs (the busy
    threads' voluntary switches per second of work)."""
    runs, judged_on = tidy.designed_runs(results, NOISE_EXPERIMENT, GIL_NOISE_EXPERIMENT)
    runs = runs[runs["mode"] == "threads"].merge(tidy.window_stats(results), on="run_id", how="left")
    runs = runs[runs["run_id"].isin(tidy.quiet_runs(results))].copy()
    traced = traced_values(runs, TRACE_SWITCHES) / runs["wall_s"]
    runs[SWITCHES] = traced.fillna(runs["switches_per_s"])
    runs["switch_source"] = np.where(traced.notna(), "trace", "wait4")
    voluntary = busy_threads(results, runs).groupby("run_id")["voluntary"].sum(min_count=1)
    runs[HANDOFFS] = pd.to_numeric(runs["run_id"].map(voluntary), errors="coerce") / runs["inner_s"]
    return runs, judged_on


def noisier(subject: pd.DataFrame, others: pd.DataFrame, label: str) -> tuple[dict[str, str], dict[str, str],
                                                                        list[dict]]:
    """A one-core variant's runs against each all-cores variant's, on the context-switch rate and on noise
    (claims.separated). Per all-cores variant, two outcomes: the pair's (supported when the subject's runs lie
    above on both, contradicted when below on either) and the calm one's (supported when the subject's noise lies
    above, contradicted when below: that runtime's graph is the noisier)."""
    rows, found = [], {SWITCHES: {}, NOISE: {}}
    for column, name in ((SWITCHES, CAUSES[SWITCHES]), (NOISE, NOISE_MEASURE)):
        rows.append(_row(label, name, tidy.spread(subject[column]), "a subject"))
        for language, group in same_machine(others, subject).groupby("language", observed=True):
            comparison = separated(subject[column], group[column])
            rows.append(_row(f"{language} · threads · {tidy.workers_label(group['workers'].iloc[0])}", name,
                             tidy.spread(group[column]), f"{subject['language'].iloc[0]} {comparison}"
                             if comparison != "too few runs" else "too few quiet runs"))
            found[column][str(language)] = comparison
    pairs, calm = {}, {}
    for language, noise in found[NOISE].items():
        both = (noise, found[SWITCHES][language])
        pairs[language] = (SUPPORTED if both == ("higher", "higher") else
                           CONTRADICTED if "lower" in both else INCONCLUSIVE)
        calm[language] = {"higher": SUPPORTED, "lower": CONTRADICTED}.get(noise, INCONCLUSIVE)
    return pairs, calm, rows


def correlation(runs: pd.DataFrame, cause: str) -> tuple[float, float, int, str]:
    """Spearman ρ between noise and a cause over runs, within each variant: each measure is ranked among its own
    variant's runs before the runs are pooled, so that two variants far apart on both (PyPy switches ten times as
    often as CPython) do not make a link that no variant's runs show. 'goes with' (ρ > 0, p < ALPHA), 'goes
    against' (ρ < 0, p < ALPHA), 'no link shown', 'too few runs' (under MIN_CORRELATION_RUNS), or 'the same in
    every run' (a measure that does not vary: free-threaded threads that never wait make no hand-off)."""
    pairs = runs[["language", NOISE, cause]].dropna()
    if len(pairs) < MIN_CORRELATION_RUNS:
        return np.nan, np.nan, len(pairs), "too few runs"
    constant = next((measure for measure in (cause, NOISE) if pairs[measure].nunique() < 2), None)
    if constant is not None:
        return np.nan, np.nan, len(pairs), f"{SAME_IN_EVERY_RUN}: {pairs[constant].iloc[0]:g}"
    within = pairs.groupby("language", observed=True)[[NOISE, cause]].rank(pct=True)
    rho, p = scipy_stats.spearmanr(within[NOISE], within[cause])
    says = ("goes with" if rho > 0 else "goes against") if p < ALPHA else "no link shown"
    return float(rho), float(p), len(pairs), says


def contrast_outcome(subject: pd.DataFrame, control: pd.DataFrame, label: str) -> tuple[str, list[dict]]:
    """The designed contrast: the same runtime at the same load with one thread, which has no one to hand the GIL
    to. If switching made the graph noisy, the runs that switch less would be calmer. Supported when the control's
    switch rates lie below the subject's (claims.separated) and its noise below too; contradicted when it switches
    less yet its noise lies above; inconclusive when it does not switch less, or its noise overlaps the subject's
    (overlapping runs show no difference, which is not evidence of none)."""
    switches = separated(control[SWITCHES], subject[SWITCHES])
    noise = separated(control[NOISE], subject[NOISE])
    outcome = INCONCLUSIVE if switches != "lower" else {"lower": SUPPORTED, "higher": CONTRADICTED}.get(
        noise, INCONCLUSIVE)
    return outcome, [_row(f"one thread vs {label}", "context switches / s, then noise",
                          tidy.spread(control[NOISE]),
                          f"{outcome}: the control's switch rate {switches}, its noise {noise}")]


def cause_outcome(says: dict[str, str], contrast: str = INCONCLUSIVE) -> str:
    """Supported when the one-core runs' noise goes with the switch rate or the hand-offs, or the control contrast
    supports; contradicted when it goes with neither and against one, or the contrast contradicts; inconclusive
    when nothing decides or the two disagree."""
    votes = set()
    if "goes with" in says.values():
        votes.add(SUPPORTED)
    elif "goes against" in says.values():
        votes.add(CONTRADICTED)
    if contrast != INCONCLUSIVE:
        votes.add(contrast)
    return votes.pop() if len(votes) == 1 else INCONCLUSIVE


def noise_verdict(noisy: str, cause: str) -> str:
    """A one-core variant's verdict joins two statements: noisier, and because of switching. Either one
    contradicted refutes it; noisier than some runtimes and calmer than others (DEPENDS) with the cause supported
    is DEPENDS."""
    if CONTRADICTED in (noisy, cause):
        return CONTRADICTED
    if noisy in (SUPPORTED, DEPENDS) and cause == SUPPORTED:
        return noisy
    return INCONCLUSIVE


def which_cause(says: dict[str, str], control: str) -> str:
    """One sentence: what the one-core runtimes' noise goes with, the control's hand-offs beside it."""
    found = [CAUSE_WORDS[cause] for cause, said in says.items() if said == "goes with"]
    sentence = (f"Python's noise goes with {' and with '.join(found)}" if found else
                f"Python's noise goes with neither the context-switch rate nor the GIL's hand-offs "
                f"({says[SWITCHES]}; {says[HANDOFFS]})")
    if control == "too few runs":
        return sentence + "; no free-threaded control with enough quiet runs"
    if control.startswith(SAME_IN_EVERY_RUN):
        return sentence + (f"; the free-threaded control's hand-off rate is {control.split(': ')[-1]} a second in "
                           "every run, so its noise has none to follow")
    if says[HANDOFFS] == "goes with":
        return sentence + ("; the free-threaded control's does not go with its hand-offs, so the link is the "
                           "GIL's" if control != "goes with" else "; the free-threaded control's goes with its "
                           "hand-offs too, so the link is not the GIL's alone")
    return sentence + f"; the free-threaded control's: {control}"


def equal_load(subject: pd.DataFrame) -> int:
    """The worker count at which an all-cores runtime keeps as many cores busy as the one-core group does: its
    median work-phase parallelism, rounded (one core's worth for a GIL's threads)."""
    return max(1, int(round(subject["sampled_parallelism"].median()))) if subject["sampled_parallelism"].notna(
    ).any() else int(subject["workers"].iloc[0])


def claim_noisy(results: ResultsSet) -> tuple[Decided, list[dict]]:
    runs, judged_on = noise_runs(results)
    subjects, others = runs[about(runs, ONE) & (runs["workers"] >= 2)], runs[about(runs, ALL)]
    if subjects.empty or others.empty:
        return Decided(INCONCLUSIVE, f"no quiet threads runs of both one-core (≥ 2 workers) and all-cores "
                                     f"runtimes in {judged_on}"), []
    rows, noisy, calm, loads = [], {}, {}, {}
    for (language, workers), group in subjects.groupby(["language", "workers"], observed=True):
        label = f"{language} · threads · {tidy.workers_label(workers)}"
        load = loads[str(language)] = equal_load(group)
        peers = others[others["workers"] == load]
        noisy.setdefault(str(language), [])
        if peers.empty:
            rows.append(_row(label, NOISE_MEASURE, tidy.spread(group[NOISE]),
                             f"no all-cores runs at {tidy.workers_label(load)}, the same load: cores kept full "
                             f"cannot vary, so runtimes at other loads are no comparison"))
            continue
        pairs, calmer, found = noisier(group, peers, label)
        noisy[str(language)] += pairs.values()
        for peer, outcome in calmer.items():
            calm.setdefault(peer, []).append(outcome)
        rows += found
    control = runs[about(runs, ALL, beside_one_core=True)]
    pools = {"one-core runtimes, pooled": subjects, "free-threaded control, pooled": control[control["workers"] >= 2],
             **{str(language): group for language, group in subjects.groupby("language", observed=True)}}
    said = {}
    for name, pool in pools.items():
        for cause, measure in CAUSES.items():
            rho, p, n, says = correlation(pool, cause)
            said[name, cause] = says
            rows.append({"group": name, "measure": f"Spearman ρ, noise vs {measure}", "median": rho,
                         "spread": f"p = {p:.2g}" if not np.isnan(p) else "", "n": n, "outcome": says})
    says = {cause: said["one-core runtimes, pooled", cause] for cause in CAUSES}
    contrasts = {}
    for language, group in subjects.groupby("language", observed=True):
        one_thread = runs[(runs["language"] == language) & (runs["workers"] == loads[str(language)])]
        own_control = one_thread if loads[str(language)] == 1 else one_thread.iloc[:0]   # one thread: no hand-off
        if not own_control.empty:
            contrasts[str(language)], found = contrast_outcome(group, own_control, str(language))
            rows += found
    by_variant = {language: noise_verdict(variant_verdict(outcomes), cause_outcome(
        says, contrasts.get(language, INCONCLUSIVE))) for language, outcomes in noisy.items()}
    by_variant.update({peer: variant_verdict(outcomes) for peer, outcomes in calm.items()})
    verdict, reason = over_runtimes(by_variant)
    if verdict == SUPPORTED and any(by_variant[language] != SUPPORTED for language in noisy):
        verdict, reason = INCONCLUSIVE, f"{reason}, but not for every one-core runtime, which it is about"
    contrast = combine(list(contrasts.values()))[0] if contrasts else INCONCLUSIVE
    sentence = which_cause(says, said["free-threaded control, pooled", HANDOFFS])
    if contrast != INCONCLUSIVE:
        sentence += ("; with one thread, which hands nothing off, the same runtime switches less and is calmer"
                     if contrast == SUPPORTED else "; with one thread, which hands nothing off, the same runtime "
                     "switches less yet is noisier: the switching is not what makes the graph noisy")
    return Decided(verdict, f"{sentence}. Judged on {judged_on}, each one-core runtime against each all-cores one "
                            f"at the same load: {reason}", by_variant), rows


NOISE_CLAIMS = [
    ClaimSpec("e", "Python's graph is noisy because of context switching; multithreaded runtimes' graphs are calm.",
              "좌측은 엄청난 컨텍스트스위칭에 그래프가 요동칩니다.",
              f"Experiments '{NOISE_EXPERIMENT}' (sum, threads, quiet repetitions at 1 worker) and "
              f"'{GIL_NOISE_EXPERIMENT}' (the same at 2 workers, for the languages with a one-core variant); else the "
              "headline experiment, "
              f"quiet runs only ({tidy.QUIET_NOTE}). Noise: the per-core "
              "busy % standard deviation over the work window, mean over cores. Noisier: a variant declaring "
              f"`threads: {ONE}` (a GIL), at ≥ 2 workers, against each variant declaring `{ALL}` at the same load — "
              "the worker count that keeps as many cores busy, its median work-phase parallelism rounded (1 for a "
              "GIL's threads), as a core kept full cannot vary and a comparison with saturated cores would find "
              f"any partial load 'noisier' — ≥ {MIN_REPS} runs each, on the "
              "context-switch rate (every switch where traced, else wait4's voluntary + involuntary over the wall "
              "time) and on noise (" + SEPARATED_NOTE + "): a pair supports the one-core variant's noisiness when "
              "its runs lie above the other's on both, and contradicts it when below on either; and it supports "
              "the all-cores variant's calm when the one-core runs' noise lies above its, and contradicts it when "
              "below (that graph is the noisier). Each variant's pairs are combined as a variant's groups "
              "(depends: they each decide, and differently). Cause: Spearman ρ across the one-core "
              f"variants' runs pooled (≥ {MIN_CORRELATION_RUNS}; each measure ranked within its own variant first, "
              "so that variants far apart on both make no link their runs do not show) between noise and (i) the "
              "context-switch rate, (ii) the GIL's hand-offs, counted as the busy threads' voluntary switches per "
              "second of work (a thread waiting for the GIL sleeps on a futex: a voluntary switch; involuntary ones "
              f"are preemptions). Noise goes with a cause when ρ > 0 with p < {ALPHA}, against it when ρ < 0 with "
              f"p < {ALPHA}. The free-threaded build (all-cores beside a one-core variant) is the control: its noise "
              "should not go with its hand-offs; and, as a designed contrast, the same one-core runtime at the same "
              "load with one thread, which hands nothing off: if switching made the graph noisy, the runs that "
              "switch less (their switch rates below the two threads') would be calmer (their noise below too); "
              "switching less yet noisier contradicts the cause (overlapping noise decides nothing). The cause is supported when the noise goes with (i) "
              "or (ii) or the contrast supports it, contradicted when it goes against one (and with neither) or the "
              "contrast contradicts it, inconclusive when nothing decides or they disagree (each one-core variant "
              "with its own contrast). A one-core variant's verdict joins its noisiness and the cause: contradicted "
              "when either is, supported (depends) when it is noisier (than some, calmer than others) and the cause "
              "is supported, else inconclusive; an all-cores variant's is its calm. The claim is stated of every "
              "runtime: one that conclusively fails it, or depends, refutes it; it is supported when every one-core "
              "variant holds and at least half the runtimes are conclusive, all of them holding. ρ, p and n are "
              "shown per variant as well as pooled.", claim_noisy,
              needs_cores=True, needs_samples=True, needs_headline=True, figure="noise"),
]
