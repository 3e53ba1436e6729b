"""Claims (h)–(k), judged on contract 2's workloads with the verdict machinery of claims.py.

Each is judged per runtime variant (`language`, analysis/load.py): every judge returns a `Decided` verdict
with each variant's own, and a reason that names which runtime said what. (h) and (k), and (d) in
claims_scheduler.py, combine each runtime's groups as every claim does (`variant_verdict`) and then judge the claim
over the runtimes (`over_runtimes`): the article states them of every runtime, so one runtime for which one
conclusively fails refutes it as a general statement. (i) and (j) are claims whose answer the article's own
words make depend on the runtime or the work, so their rules say how their groups combine.
"""

from __future__ import annotations

import pandas as pd

from . import tidy
from . import workload_tidy as wt
from .claims import (CONTRADICTED, DEPENDS, INCONCLUSIVE, MIN_REPS, ONE, SEPARATED_NOTE, SUPPORTED, ClaimSpec,
                     Decided, _row, about, separated, variant_verdict)
from .load import ResultsSet

CHEAPER = 0.8           # (h) threads' hand-offs below this × processes' (claims.separated)
SWITCHED = (0.5, 1.5)   # (h) context switches per hand-off (median) in both modes: one switch each, comparable
NO_SPEEDUP = 1.2        # (j) at most this speedup: no speed-up
SPED_UP = 0.75          # (j) at least this × min(workers, cores): sped up
CONTENTION_COST = 0.8   # (k) per-worker throughput kept, relative to sum's, at most this: contention costs
NO_COST = 0.95          # (k) at least this: no cost beyond what more workers cost the plain loop
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)


def named(outcomes: dict[str, str], variants: dict[str, str], nothing: str) -> Decided:
    """Each variant's verdict by variant_verdict over its own groups (group → outcome; variants: group → its
    variant), and the claim's over the variants by over_runtimes; the reason is followed by the groups of each
    outcome."""
    if not outcomes:
        return Decided(INCONCLUSIVE, nothing)
    by_variant = per_variant(outcomes, variants, variant_verdict)
    verdict, reason = over_runtimes(by_variant)
    return Decided(verdict, f"{reason} — {_who(outcomes)}", by_variant)


def one_counterexample_refutes(values: list[str]) -> str:
    """The rule of a claim stated of every case (group or runtime): one case that conclusively contradicts it
    refutes it, as does a runtime for which it holds only in some groups (DEPENDS); else it is supported when at
    least half of the cases are conclusive (and so all supported)."""
    if CONTRADICTED in values or DEPENDS in values:
        return CONTRADICTED
    conclusive = [outcome for outcome in values if outcome != INCONCLUSIVE]
    return SUPPORTED if conclusive and 2 * len(conclusive) >= len(values) else INCONCLUSIVE


def over_runtimes(by_variant: dict[str, str]) -> tuple[str, str]:
    """A claim the article states of every runtime, judged over the runtimes' verdicts by
    one_counterexample_refutes (the report names where it holds), with its reason."""
    verdict = one_counterexample_refutes(list(by_variant.values()))
    held = sum(outcome == SUPPORTED for outcome in by_variant.values())
    failed, total = sum(outcome == CONTRADICTED for outcome in by_variant.values()), len(by_variant)
    depends = sum(outcome == DEPENDS for outcome in by_variant.values())
    if verdict == CONTRADICTED:
        return verdict, (f"not for every runtime: fails for {failed} of {total}, holds for {held}" +
                         (f", holds in some of its groups only for {depends}" if depends else ""))
    if verdict == SUPPORTED:
        return verdict, f"holds for {held} of {total} runtimes, fails for none"
    return verdict, f"only {held} of {total} runtimes conclusive"


def per_variant(outcomes: dict[str, str], variants: dict[str, str], rule) -> dict[str, str]:
    """Each variant's verdict: `rule` over the outcomes of its groups."""
    return {variant: rule([outcome for group, outcome in outcomes.items() if variants[group] == variant])
            for variant in dict.fromkeys(variants.values())}


def _who(outcomes: dict[str, str]) -> str:
    said = {verdict: [group for group, outcome in outcomes.items() if outcome == verdict] for verdict in VERDICTS}
    return "; ".join(f"{verdict}: {', '.join(groups)}" for verdict, groups in said.items() if groups)


def between(values: pd.Series, at_most: float, at_least: float) -> str:
    """Supported when every value is ≤ at_most, contradicted when every value is ≥ at_least; inconclusive
    with fewer than MIN_REPS values or values on both sides."""
    if len(values) < MIN_REPS:
        return INCONCLUSIVE
    return SUPPORTED if (values <= at_most).all() else CONTRADICTED if (values >= at_least).all() else INCONCLUSIVE


# (h) ---------------------------------------------------------------------------------------------------------

def handoff_outcome(threads: pd.Series, processes: pd.Series) -> str:
    """Supported when the thread hand-offs lie below CHEAPER × the process ones (claims.separated: ranges apart,
    or a one-sided test where they overlap), contradicted when above: no saving of that size; else inconclusive."""
    if len(threads) < MIN_REPS or len(processes) < MIN_REPS:
        return INCONCLUSIVE
    if threads.max() <= CHEAPER * processes.min():      # every pair of runs: the thread hand-off is cheaper
        return SUPPORTED
    return {"lower": SUPPORTED, "higher": CONTRADICTED}.get(separated(threads, CHEAPER * processes), INCONCLUSIVE)


def unswitched(switches: dict[str, float]) -> str:
    """Words for the modes whose hand-offs were not one context switch each (outside SWITCHED), '' when both
    were (or the count is unknown)."""
    low, high = SWITCHED
    words = []
    for mode, each in switches.items():
        if each < low:
            words.append(f"{mode} made {each:.3g} context switches per hand-off: handed over without one "
                         f"(spinning, or the runtime's own scheduler), so not the context switch the claim is about")
        elif each > high:
            words.append(f"{mode} made {each:.3g} context switches per hand-off: its primitive takes several, so "
                         f"the cost compares primitives, not one switch against another")
    return "; ".join(words)


def in_user_space(switches: dict[str, float], cores: int) -> bool:
    """Whether a group's thread hand-offs were context switches the runtime made itself: on one core, threads that
    hand off with fewer kernel switches than SWITCHED's low end cannot be spinning (a spinning thread holds the only
    core until it is preempted, a kernel switch), so the runtime's own scheduler ran both workers on one OS thread
    and switched between them there (Go's goroutines on one P). Such a hand-off is the context switch these
    threads make, and is compared with the processes' where theirs are one kernel switch each."""
    low, high = SWITCHED
    return cores == 1 and switches["threads"] < low and low <= switches["processes"] <= high


def claim_handoffs(results: ResultsSet) -> tuple[Decided, list[dict]]:
    outcomes, variants, rows = {}, {}, []
    runs = wt.handoffs(results)
    other_load = tidy.counted_other_load(runs).reindex(runs["run_id"]).to_numpy()
    runs = runs[~(other_load > tidy.QUIET_OTHER_LOAD)]    # a hand-off waits for a core: others' load adds to it
    runs = runs.assign(switches_per_handoff=pd.to_numeric(runs["ctx_switches"], errors="coerce") / runs["token"])
    several_core_counts = runs["cores"].nunique() > 1      # pinned to one core: every hand-off a switch there
    for (language, workers, cores), group in runs.groupby(["language", "workers", "cores"], observed=True):
        by_mode = {mode: group[group["mode"] == mode] for mode in ("threads", "processes")}
        ns = {mode: runs_of["ns_per_handoff"] for mode, runs_of in by_mode.items()}
        switches = {mode: runs_of["switches_per_handoff"].median() for mode, runs_of in by_mode.items()}
        label = f"{language} · {tidy.workers_label(workers)}" + (f" · {tidy.cores_label(cores)}" if several_core_counts
                                                                  else "")
        variants[label] = str(language)
        user_space = in_user_space(switches, int(cores))
        note = (f"threads made {switches['threads']:.3g} kernel context switches per hand-off on one core: the "
                f"runtime switched between its threads itself, in user space, and that is the switch compared"
                if user_space else unswitched(switches))
        compared = user_space or not note
        outcome = outcomes[label] = handoff_outcome(ns["threads"], ns["processes"]) if compared else INCONCLUSIVE
        ratio = ns["processes"].median() / ns["threads"].median()
        for mode in ("threads", "processes"):
            said = (f"{outcome} (processes / threads = {ratio:.3g})" + (f"; {note}" if note else "")
                    if mode == "processes" else "")
            rows.append(_row(f"{label} · {mode}", "ns per hand-off", tidy.spread(ns[mode]), said))
            rows.append(_row(f"{label} · {mode}", "context switches per hand-off (the run's, / token)",
                             tidy.spread(by_mode[mode]["switches_per_handoff"]), ""))
    return named(outcomes, variants, "no pingpong runs in both modes in this results set"), rows


# (i) ---------------------------------------------------------------------------------------------------------

def survival(runs: pd.DataFrame) -> str | None:
    """'died' or 'survived' when every run agrees and there are MIN_REPS of them, else None."""
    if len(runs) < MIN_REPS or runs["process_survived"].nunique() != 1:
        return None
    return "survived" if bool(runs["process_survived"].iloc[0]) else "died"


def crash_outcome(threads: str | None, processes: str | None) -> str:
    if threads is None or processes is None:
        return INCONCLUSIVE
    return SUPPORTED if (threads, processes) == ("died", "survived") else CONTRADICTED


def crash_verdict(states: dict[str, tuple[str | None, str | None]]) -> Decided:
    """(i)'s rule over the runtimes: a failing thread *can* take its process down, a failing process never
    takes the others with it (see the claim's rule)."""
    if not states:
        return Decided(INCONCLUSIVE, "no crash runs in this results set")
    outcomes = {runtime: crash_outcome(*modes) for runtime, modes in states.items()}
    conclusive = [runtime for runtime, outcome in outcomes.items() if outcome != INCONCLUSIVE]
    if 2 * len(conclusive) < len(outcomes):
        return Decided(INCONCLUSIVE, f"only {len(conclusive)} of {len(outcomes)} runtimes conclusive — "
                                     f"{_who(outcomes)}", outcomes)
    took_down = [runtime for runtime in conclusive if states[runtime][1] == "died"]
    if took_down:
        return Decided(CONTRADICTED, f"a failing process took its parent down in {', '.join(took_down)}", outcomes)
    died = [runtime for runtime in conclusive if states[runtime][0] == "died"]
    lived = [runtime for runtime in conclusive if states[runtime][0] == "survived"]
    threads = (f"a failing thread took the whole process down in {', '.join(died)}" if died else
               "no runtime's process died with its failing thread")
    if lived:
        threads += f"; only that thread was lost in {', '.join(lived)}"
    return Decided(SUPPORTED if died else CONTRADICTED,
                   f"{threads}; a failing process left the others running in all {len(conclusive)}", outcomes)


def claim_crash(results: ResultsSet) -> tuple[Decided, list[dict]]:
    runs = wt.measured_of(results, "crash").dropna(subset=["workers_started"])
    states, rows = {}, []
    for language, group in runs.groupby("language", observed=True):
        by_mode = {mode: group[group["mode"] == mode] for mode in ("threads", "processes")}
        states[str(language)] = (survival(by_mode["threads"]), survival(by_mode["processes"]))
        outcome = crash_outcome(*states[str(language)])
        for mode, mode_runs in by_mode.items():
            survived = mode_runs["process_survived"].astype(float)
            rows.append(_row(f"{language} · {mode}", "process survived (1) or died (0)", tidy.spread(survived),
                             states[str(language)][mode == "processes"] or "too few runs, or runs disagree"))
            rows.append(_row(f"{language} · {mode}", "workers finished",
                             tidy.spread(mode_runs["workers_finished"]), f"of {mode_runs['workers_started'].max():g}"
                             + (f"; {outcome}" if mode == "processes" else "")))
    return crash_verdict(states), rows


# (j) ---------------------------------------------------------------------------------------------------------

def speedup_outcome(speedups: pd.Series, workers: int, cores: int) -> str:
    return between(speedups, NO_SPEEDUP, SPED_UP * min(workers, cores))


GIL_WORKLOADS = ("sum", "io", "native")   # Python code, waits, and library code that releases the GIL


def _absent(workloads) -> list[str]:
    judged = set(workloads)
    return [workload for workload in GIL_WORKLOADS if workload not in judged]


def python_verdict(outcomes: dict[str, str], medians: dict[str, float], variants: dict[str, str],
                   workloads: dict[str, str]) -> Decided:
    """(j) over its groups (each group's variant and workload given). 'Cannot' is about work of every kind: a
    support that rests on some of GIL_WORKLOADS only (the quick profile has no 1-worker io or native runs) is
    inconclusive, for the claim and for each variant; a contradiction stands."""
    if not outcomes:
        return Decided(INCONCLUSIVE, "no runs of a GIL's threads (sum, io or native) at 1 and at more workers")
    said = "; ".join(f"{group}: {medians[group]:.2f}× ({outcome})" for group, outcome in outcomes.items())
    verdict = one_counterexample_refutes(list(outcomes.values()))
    why = {SUPPORTED: "no speed-up in any conclusive group", CONTRADICTED: "Python threads sped some work up",
           INCONCLUSIVE: f"only {sum(o != INCONCLUSIVE for o in outcomes.values())} of {len(outcomes)} groups "
                         f"conclusive"}[verdict]
    absent = _absent(workloads.values())
    if verdict == SUPPORTED and absent:
        verdict, why = INCONCLUSIVE, (f"no speed-up where judged, but {' and '.join(absent)} could not be judged (no "
                                      "runs at 1 worker and at more; the claims profile has them), and work a GIL "
                                      "does not hold is what decides 'cannot'")
    by_variant = {variant: INCONCLUSIVE if outcome == SUPPORTED and _absent(
        workload for group, workload in workloads.items() if variants[group] == variant) else outcome
        for variant, outcome in per_variant(outcomes, variants, one_counterexample_refutes).items()}
    return Decided(verdict, f"{why} — {said}", by_variant)


def claim_python_threads(results: ResultsSet) -> tuple[Decided, list[dict]]:
    speedups = wt.speedups(results)
    speedups = speedups[about(speedups, ONE) & (speedups["mode"] == "threads") & (speedups["workers"] >= 2) &
                        (speedups["base_runs"] >= MIN_REPS)]
    outcomes, medians, variants, workloads, rows = {}, {}, {}, {}, []
    for (language, workload, workers), group in speedups.groupby(["language", "workload", "workers"], observed=True):
        cores = int(group["cores"].iloc[0])
        label = f"{workload} · {language} · {tidy.workers_label(workers)}"
        variants[label], workloads[label] = str(language), str(workload)
        outcomes[label] = speedup_outcome(group["value"], int(workers), cores)
        medians[label] = group["value"].median()
        rows.append(_row(label, "speedup over 1 worker", tidy.spread(group["value"]),
                         f"{outcomes[label]} (≤ {NO_SPEEDUP:g}: none; ≥ {SPED_UP * min(int(workers), cores):.3g}: "
                         f"sped up)"))
    return python_verdict(outcomes, medians, variants, workloads), rows


# (k) ---------------------------------------------------------------------------------------------------------

def claim_contention(results: ResultsSet) -> tuple[Decided, list[dict]]:
    pairs = wt.contention(results)
    costs = wt.contention_cost(pairs)
    runs_of = pairs.groupby(["language", "workload", "workers"], observed=True).size()
    outcomes, variants, rows = {}, {}, []
    for (language, workers), group in costs.groupby(["language", "workers"], observed=True):
        label = f"{language} · threads · {tidy.workers_label(workers)}"
        variants[label] = str(language)
        baselines = [runs_of.get((language, workload, count), 0) for workload in ("contended", "sum")
                     for count in (1, workers)]
        outcome = between(group["relative"], CONTENTION_COST, NO_COST) if min(baselines) >= MIN_REPS \
            else INCONCLUSIVE
        outcomes[label] = outcome
        for workload in ("sum", "contended"):
            runs = pairs[(pairs["language"] == language) & (pairs["workload"] == workload)
                         & (pairs["workers"] == workers)]
            rows.append(_row(f"{label} · {workload}", "iterations/s per worker", tidy.spread(runs["per_worker"]), ""))
            rows.append(_row(f"{label} · {workload}", "voluntary switches per 1000 operations",
                             tidy.spread(runs["voluntary_per_k"]), ""))
        rows.append(_row(label, "per-worker throughput kept, contended vs sum (1 = no cost)",
                         tidy.spread(group["relative"]), outcome))
    return named(outcomes, variants, "no contended runs with sum runs at the same worker counts (1 and more) "
                                     "in this results set"), rows


WORKLOAD_CLAIMS = [
    ClaimSpec("h", "Context switches between threads are cheaper than between processes.",
              "Context switching 이 빠릅니다.(스레드는 공유하는 자원이 많아서 CPU의 캐시데이터를 사용할수 있어 빠릅니다.) "
              "… [프로세스는] Context switching 이 느립니다.",
              f"pingpong: ns per hand-off (the ring's time, its shortest worker's own clock, / token) per runtime "
              f"and worker count, threads against processes, ≥ {MIN_REPS} runs each. Cheaper means at most "
              f"{CHEAPER:g} × the cost: a saving of a fifth or more, beyond the drift between repetitions. Supported "
              f"when the thread hand-offs lie below {CHEAPER:g} × the process ones, contradicted when they lie above "
              "(no saving of a fifth, or processes cheaper), else inconclusive; " + SEPARATED_NOTE
              + f", and a slowest thread hand-off of exactly "
              f"{CHEAPER:g} × the fastest process one counts as below. A hand-off is compared only where it is one "
              f"context switch in both modes: {SWITCHED[0]:g}–{SWITCHED[1]:g} switches each (median of the run's "
              f"switches — perf's count, else wait4's — over its token); fewer is a hand-off in user space "
              f"(spinning, goroutines), more a primitive that takes several, and such a group decides nothing, as "
              f"the claim is about the cost of one switch — except fewer on one core (`cpus: 1`), where a thread "
              f"cannot spin while the other runs: there the runtime switched between its threads in user space "
              f"(goroutines on one OS thread), which is its threads' context switch, and it is compared with the "
              f"processes' where theirs are one switch each. Only quiet runs count ({tidy.QUIET_NOTE}). A runtime's "
              f"worker counts combine as "
              "every claim's groups; one runtime for which it conclusively fails refutes it as a general "
              "statement.", claim_handoffs,
              figure="handoffs"),
    ClaimSpec("i", "A failing thread takes its process down; a failing process leaves the others running.",
              "스레드에 문제가 생겨 프로세스가 죽는다면 모든 스레드가 같이 죽어버릴 위험성이 있습니다. … 프로세스 하나가 "
              "죽더라도 다른 프로세스에는 영향이 가지 않습니다.",
              f"crash (worker 0 fails midway, unhandled), per runtime, ≥ {MIN_REPS} runs per mode that agree. A "
              "runtime supports it when its threads-mode process died and its processes-mode process survived "
              "(the others finished), and contradicts it otherwise. The article says a failing thread *can* take "
              "the process down, so the claim is supported when at least one runtime supports it and no runtime's "
              "failing process took its parent down; contradicted when one did, or when no runtime's process died "
              "with its thread; inconclusive when fewer than half of the runtimes are conclusive. The reason names "
              "what each runtime did.", claim_crash, figure="crash"),
    ClaimSpec("j", "Python threads cannot speed work up.",
              "스레드를 아무리 쪼개봐야 cpu를 동시에 사용하지 못합니다.",
              f"Threads of every variant whose manifest declares `threads: {ONE}` (a GIL: CPython, PyPy), per "
              "variant, for sum, io (1 ms waits) and native (hashlib, which releases the GIL) separately: each "
              "run's throughput at N ≥ 2 workers over the median at 1 worker (≥ "
              f"{MIN_REPS} runs each). A group supports the claim when "
              f"every run's speedup is ≤ {NO_SPEEDUP:g}, contradicts it when every run's is ≥ {SPED_UP:g} × "
              "min(N, cores). The claim says 'cannot', so one contradicting group contradicts it; it is supported "
              "when at least half of the groups are conclusive and all of those support it, and sum, io and native "
              "each have a group (for a variant: each of its own); else inconclusive.",
              claim_python_threads, needs_cores=True, figure="gil-reach"),
    ClaimSpec("k", "Shared writes need synchronisation, and contention costs.",
              "공유는 쉽지만 쓰기작업을 한다면 동기화 문제를 신경써야합니다. … heap영역의 자원을 사용할때 concurrent "
              "자료구조를 사용하거나 직접 lock을 걸어줘야 합니다.",
              "contended (one counter under one mutex; the lab checks no update was lost) against sum, threads "
              f"mode, per runtime and N ≥ 2 workers, ≥ {MIN_REPS} runs at 1 and at N of each: per contended run, its "
              "per-worker throughput over the median contended run's at 1 worker, divided by the same ratio for sum "
              "(what N workers cost the plain loop; sum's medians pool every threads-mode sum run of the set at "
              "that worker count, whatever its experiment — cpu, migrate and noise in the claims profile — as "
              "throughput is per second of the program's own clock, whatever the run's length). Supported when "
              f"every run keeps ≤ {CONTENTION_COST:g}; "
              f"contradicted when every run keeps ≥ {NO_COST:g}; else inconclusive. A runtime's worker counts "
              "combine as every claim's groups; one runtime for which it conclusively fails refutes it as a general "
              "statement. Voluntary context switches per "
              "1000 operations are shown beside: a mutex whose waiters sleep switches, one that spins burns CPU "
              "instead.", claim_contention, needs_cores=True, figure="contention"),
]
