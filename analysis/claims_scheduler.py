"""Claims (d) and (e), about what the OS scheduler does with busy threads, each judged on an experiment of the
`claims` profile designed to decide it, with the verdict machinery of claims.py.

(d) "the OS moves one job between cores" is judged on `migrate` (sum, both modes, workers ≤ cores and > cores,
runs of seconds), (e) "Python's graph is noisy because of context switching" on `noise` (sum, threads, quiet
repetitions). A set without them (the quick profile) is judged on its headline experiment instead, and the
evidence says so: those runs are short, and rarely decide either claim.

Migrations come from every event where the run was traced (`trace: sched`, the run record's trace_* columns),
else from the kernel's per-thread se.nr_migrations as the sampler last read it; the per-sample core changes are
shown beside them. The GIL's hand-offs are counted as the voluntary context switches of the busy threads: a
thread waiting for the GIL sleeps on a futex, which is a voluntary switch; involuntary switches are preemptions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from polylab.sample.tree import SWITCH_COUNTERS_MAX_AGE_S

from . import tidy
from .claims import (ALL, ALPHA, CONTRADICTED, INCONCLUSIVE, MIN_CORRELATION_RUNS, MIN_REPS, ONE, SUPPORTED,
                     ClaimSpec, Decided, SEPARATED_NOTE, _row, about, combine, separated)
from .load import ResultsSet, same_machine
from .workload_claims import named

MIGRATE_EXPERIMENT, NOISE_EXPERIMENT = "migrate", "noise"
# (d) a run moved its jobs when its busy threads migrated at least this often per second of work, and kept them in
# place otherwise. Task Manager redraws once a second: a job that migrates less often shows on one core in each
# frame, one that migrates more often is drawn spread over the cores — the article's picture. A rate, not a
# count: one migration placing a new thread on a free core is no "moving between cores", whatever the run length.
MOVES_PER_S = 1.0
MIGRATION_MEASURE = "migrations per busy thread per second of work"
FEWER_MIGRATIONS = 0.5   # (d) a runtime migrates less than the others: at most this × the runtimes' median
TRACED = "trace_migrations_per_busy_thread"   # present and not null: the run was traced (perf sched)
TRACE_SWITCHES = "trace_switches"
RUNTIME_NOTES = {   # by language folder, how the runtime maps its workers on OS threads: text for the evidence
    "go": "goroutines run on at most GOMAXPROCS (= cores) OS threads, Ms bound to Ps; the Go scheduler, not the "
          "kernel, moves goroutines between them, so with more workers than cores the kernel still has only as "
          "many busy threads as cores to balance",
}


def _traced(runs: pd.DataFrame, column: str) -> pd.Series:
    values = runs[column] if column in runs else pd.Series(np.nan, index=runs.index)
    return pd.to_numeric(values, errors="coerce")


# (d) ---------------------------------------------------------------------------------------------------------

def busy_threads(results: ResultsSet, runs: pd.DataFrame) -> pd.DataFrame:
    threads = tidy.thread_stats(results, runs)
    return threads.loc[threads["busy"].astype(bool)]   # a mask, even when there is no thread


def counter_reads(rows: pd.DataFrame) -> pd.Series:
    """Which rows of a table of thread samples hold a fresh read of the thread's switch counters: the sampler
    re-reads /proc/<pid>/task/<tid>/sched at a thread's first sample, then at the first sample at least
    SWITCH_COUNTERS_MAX_AGE_S after the last read, and at the run's final sample; every other row carries the
    last read forward (sample/tree.py). A busy thread always runs enough between samples to be re-read."""
    fresh = pd.Series(False, index=rows.index)
    final = rows.groupby("run_id")["t_s"].transform("max")
    for _, thread in rows.sort_values("t_s").groupby(["run_id", "pid", "tid"]):
        read_at = None
        for index, t_s, last in zip(thread.index, thread["t_s"], final[thread.index]):
            if read_at is None or t_s - read_at >= SWITCH_COUNTERS_MAX_AGE_S - 1e-9 or t_s == last:
                fresh[index], read_at = True, t_s
    return fresh


def thread_window_migrations(results: ResultsSet, runs: pd.DataFrame, busy: pd.DataFrame) -> pd.DataFrame:
    """Per busy thread: its se.nr_migrations counted inside its run's work window — its last fresh read there less
    its first (`moves`), over the time between those reads (`window_s`), and their ratio (`rate`) — so that the
    placement of a new thread or process (fork and exec balancing: two or three migrations before its first
    sample) is not counted as moving a job, and a count carried forward between reads (at most one a second)
    does not stretch the time it is divided by. A thread read fewer than twice inside the window has none."""
    readings = results.threads.merge(busy[["run_id", "tid"]], on=["run_id", "tid"])
    readings = readings[counter_reads(readings)].merge(runs[["run_id", "wall_s", "inner_s"]], on="run_id")
    readings = readings[readings["t_s"].between(readings["wall_s"] - readings["inner_s"], readings["wall_s"])]
    per_thread = readings.groupby(["run_id", "pid", "tid"]).agg(
        first=("migrations", "min"), last=("migrations", "max"), start=("t_s", "min"), end=("t_s", "max"))
    per_thread = per_thread[per_thread["end"] > per_thread["start"]]
    moves, window_s = per_thread["last"] - per_thread["first"], per_thread["end"] - per_thread["start"]
    return pd.DataFrame({"moves": moves, "window_s": window_s, "rate": moves / window_s}).reset_index()


def window_migrations(results: ResultsSet, runs: pd.DataFrame, busy: pd.DataFrame) -> pd.DataFrame:
    """Per run, by run_id: the mean of thread_window_migrations' moves per busy thread (`kernel`), over the median
    time they were counted over (`window_s`)."""
    per_thread = thread_window_migrations(results, runs, busy).groupby("run_id")
    return pd.DataFrame({"kernel": per_thread["moves"].mean(), "window_s": per_thread["window_s"].median()})


def migration_runs(results: ResultsSet, runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: busy threads, migrations and core changes between samples per busy thread (and each per second of
    work), and the migrations' source: every event (trace) where the run was traced, else the kernel's count
    inside the work window (window_migrations)."""
    busy = busy_threads(results, runs)
    per_run = busy.groupby("run_id").agg(busy_threads=("tid", "size"), core_changes=("core_changes", "mean"))
    runs = runs.merge(per_run, left_on="run_id", right_index=True, how="left")
    runs = runs.merge(window_migrations(results, runs, busy), left_on="run_id", right_index=True, how="left")
    traced = _traced(runs, TRACED)
    runs["migrations_per_busy_thread"] = traced.fillna(runs["kernel"])
    program_s = runs["inner_s"].where(runs["inner_s"] > 0, runs["wall_s"])
    runs["work_s"] = program_s.where(traced.notna() | runs["window_s"].isna(), runs["window_s"])   # counted over
    runs["migration_rate"] = runs["migrations_per_busy_thread"] / runs["work_s"]
    runs["core_change_rate"] = runs["core_changes"] / program_s
    runs["source"] = np.where(traced.notna(), "trace", np.where(runs["kernel"].notna(), "kernel", "samples"))
    return runs


def run_state(migration_rate: float, core_change_rate: float, source: str, work_s: float) -> str | None:
    """'moved', 'stayed' or None (cannot tell) for one run, by the rule of claim (d). The kernel's count (every
    event where traced, else se.nr_migrations) decides; samples alone can show a move, never that there was none,
    and a count over less than a Task Manager frame (1 / MOVES_PER_S; work_s: the time it was counted over)
    cannot show a job kept in place for one: at 0.5 s, one migration of two threads reads 0.99 a second."""
    if source == "samples":
        return "moved" if core_change_rate >= MOVES_PER_S else None
    if round(migration_rate, 9) >= MOVES_PER_S:     # a count over a time read off float clocks: 1/s may be 0.99…9
        return "moved"
    return "stayed" if work_s >= 1 / MOVES_PER_S else None


def _too_short(group: pd.DataFrame, states: list[str | None]) -> str:
    short = sum(state is None and work_s < 1 / MOVES_PER_S for state, work_s in zip(states, group["work_s"]))
    return f", {short} too short to show a job kept in place for a second" if short else ""


def migration_outcome(states: list[str | None]) -> str:
    if len(states) < MIN_REPS:
        return INCONCLUSIVE
    return SUPPORTED if set(states) == {"moved"} else CONTRADICTED if set(states) == {"stayed"} else INCONCLUSIVE


def _placement(workers: int, cores: int) -> str:
    return f"{tidy.workers_label(workers)} ({'≤' if workers <= cores else '>'} {cores} cores)"


def runtime_note(lang: str, threads: str, group: pd.DataFrame, ratio: float) -> str:
    """Why this runtime's busy threads moved as they did: its busy OS threads against its workers, how it maps
    workers on threads, and its migrations against the other runtimes'."""
    parts = []
    fewer = group[(group["mode"] == "threads") & (group["busy_threads"] < group["workers"])]
    for workers, runs in fewer.groupby("workers"):
        parts.append(f"{tidy.workers_label(workers)} ran on {runs['busy_threads'].median():g} busy OS threads")
    if lang in RUNTIME_NOTES:
        parts.append(RUNTIME_NOTES[lang])
    elif threads == ONE:
        parts.append("its threads take turns on the GIL: the one that waits sleeps on a futex and is woken on "
                     "whichever core is free, so hand-offs move them; its processes are balanced as any tasks")
    else:
        parts.append("one OS thread (or process) per worker, balanced over the cores by the kernel as any task")
    if not np.isnan(ratio):
        level = "fewer migrations than most runtimes" if ratio <= FEWER_MIGRATIONS else \
            "about as many migrations as the others, or more"
        parts.append(f"{ratio:.2g} × the runtimes' median per busy thread: {level}")
    return "; ".join(parts)


def claim_migrations(results: ResultsSet) -> tuple[Decided, list[dict]]:
    runs, judged_on = tidy.designed_runs(results, MIGRATE_EXPERIMENT)
    runs = migration_runs(results, runs[runs["workers"] >= 1])
    runs = runs[runs["busy_threads"].notna() | (runs["source"] == "trace")]
    if runs.empty:
        return Decided(INCONCLUSIVE, f"no busy thread seen in {judged_on}"), []
    medians = runs.groupby(["mode", "workers"], observed=True)["migration_rate"].median()
    medians = medians.where(medians > 0)   # against none, no ratio
    runs["relative"] = runs["migration_rate"] / [medians.get((m, w), np.nan) for m, w in
                                                            zip(runs["mode"], runs["workers"])]
    outcomes, variants, rows = {}, {}, []
    for (language, mode, workers), group in runs.groupby(["language", "mode", "workers"], observed=True):
        cores = int(group["cores"].iloc[0])
        label = f"{language} · {mode} · {_placement(int(workers), cores)}"
        states = [run_state(r.migration_rate, r.core_change_rate, r.source, r.work_s) for r in group.itertuples()]
        outcome = outcomes[label] = migration_outcome(states)
        variants[label] = str(language)
        sources = ", ".join(sorted(set(group["source"])))
        rows.append(_row(label, MIGRATION_MEASURE, tidy.spread(group["migration_rate"]),
                         f"{outcome} ({states.count('moved')} of {len(states)} runs moved, "
                         f"{states.count('stayed')} stayed{_too_short(group, states)}; source: {sources})"))
        rows.append(_row(label, "core changes between samples per busy thread", tidy.spread(group["core_changes"]),
                         f"busy OS threads per run: {group['busy_threads'].median():g}"))
    for language, group in runs.groupby("language", observed=True):
        ratio = group.groupby(["mode", "workers"], observed=True)["relative"].median().median()
        rows.append({"group": str(language), "measure": "why, for this runtime (migrations × runtimes' median)",
                     "median": ratio, "spread": "", "n": len(group),
                     "outcome": runtime_note(str(group["lang"].iloc[0]), str(group["threads"].iloc[0]), group,
                                             ratio)})
    decided = named(outcomes, variants, "no group")
    return Decided(decided.verdict, f"judged on {judged_on} — {decided.reason}", decided.by_variant), rows


# (e) ---------------------------------------------------------------------------------------------------------

NOISE = "core_unsteadiness_pct"   # the report's "noisy graph": per-core busy % std over the work window
SWITCHES, HANDOFFS = "switch_rate", "handoff_rate"
CAUSES = {SWITCHES: "context switches / s", HANDOFFS: "GIL hand-offs / s (busy threads' voluntary switches)"}
CAUSE_WORDS = {SWITCHES: "its context-switch rate", HANDOFFS: "the GIL's hand-offs"}
SAME_IN_EVERY_RUN = "the same in every run"   # a measure that does not vary cannot be correlated


def noise_runs(results: ResultsSet) -> tuple[pd.DataFrame, str]:
    """Quiet threads-mode runs of the noise experiment (else the headline's): their noise, context-switch rate
    (every switch where traced, else wait4's voluntary + involuntary, over the wall time) and hand-offs (the busy
    threads' voluntary switches per second of work)."""
    runs, judged_on = tidy.designed_runs(results, NOISE_EXPERIMENT)
    runs = runs[runs["mode"] == "threads"].merge(tidy.window_stats(results), on="run_id", how="left")
    runs = runs[runs["run_id"].isin(tidy.quiet_runs(results))].copy()
    traced = _traced(runs, TRACE_SWITCHES) / runs["wall_s"]
    runs[SWITCHES] = traced.fillna(runs["switches_per_s"])
    runs["switch_source"] = np.where(traced.notna(), "trace", "wait4")
    voluntary = busy_threads(results, runs).groupby("run_id")["voluntary"].sum(min_count=1)
    runs[HANDOFFS] = pd.to_numeric(runs["run_id"].map(voluntary), errors="coerce") / runs["inner_s"]
    return runs, judged_on


def noisier(subject: pd.DataFrame, others: pd.DataFrame, label: str) -> tuple[str, list[dict]]:
    """A one-core variant's runs against every all-cores variant's, on noise and on the context-switch rate:
    supported when its runs lie above every other's on both (claims.separated), contradicted when below every
    other's on either."""
    rows, verdicts = [], {}
    for column, name in ((SWITCHES, CAUSES[SWITCHES]), (NOISE, "per-core busy % std over the work window")):
        mine = tidy.spread(subject[column])
        rows.append(_row(label, name, mine, "a subject"))
        comparisons = []
        for language, group in same_machine(others, subject).groupby("language", observed=True):
            comparison = separated(subject[column], group[column])
            rows.append(_row(f"{language} · threads · {tidy.workers_label(group['workers'].iloc[0])}", name,
                             tidy.spread(group[column]), f"{subject['language'].iloc[0]} {comparison}"
                             if comparison != "too few runs" else "too few quiet runs"))
            if comparison != "too few runs":
                comparisons.append(comparison)
        verdicts[column] = set(comparisons)
    if all(found == {"higher"} for found in verdicts.values()):
        return SUPPORTED, rows
    return (CONTRADICTED if any(found == {"lower"} for found in verdicts.values()) else INCONCLUSIVE), rows


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
    """The claim joins two statements: noisier, and because of switching. Either one contradicted refutes it."""
    if noisy == SUPPORTED and cause == SUPPORTED:
        return SUPPORTED
    if CONTRADICTED in (noisy, cause):
        return CONTRADICTED
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
    rows, noisy, loads = [], {}, {}
    for (language, workers), group in subjects.groupby(["language", "workers"], observed=True):
        label = f"{language} · threads · {tidy.workers_label(workers)}"
        load = loads[str(language)] = equal_load(group)
        peers = others[others["workers"] == load]
        if peers.empty:
            noisy[str(language)] = INCONCLUSIVE
            rows.append(_row(label, "per-core busy % std over the work window", tidy.spread(group[NOISE]),
                             f"no all-cores runs at {tidy.workers_label(load)}, the same load: cores kept full "
                             f"cannot vary, so runtimes at other loads are no comparison"))
            continue
        noisy[str(language)], found = noisier(group, peers, label)
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
    by_variant = {language: noise_verdict(outcome, cause_outcome(says, contrasts.get(language, INCONCLUSIVE)))
                  for language, outcome in noisy.items()}
    contrast = combine(list(contrasts.values()))[0] if contrasts else INCONCLUSIVE
    cause = cause_outcome(says, contrast)
    noisy_verdict, noisy_reason = combine(list(noisy.values()))
    verdict = noise_verdict(noisy_verdict, cause)
    sentence = which_cause(says, said["free-threaded control, pooled", HANDOFFS])
    if contrast != INCONCLUSIVE:
        sentence += ("; with one thread, which hands nothing off, the same runtime switches less and is calmer"
                     if contrast == SUPPORTED else "; with one thread, which hands nothing off, the same runtime "
                     "switches less yet is noisier: the switching is not what makes the graph noisy")
    return Decided(verdict, f"{sentence}. Judged on {judged_on}; noisier than the all-cores runtimes at the same "
                            f"load: {noisy_reason}", by_variant), rows


SCHEDULER_CLAIMS = [
    ClaimSpec("d", "The OS moves one job between cores.",
              "운영체제가 cpu에 job을 스케줄링할 때 하나의 일을 하더라도 여러 코어로 왔다갔다 하며 일을 하게 합니다.",
              f"Experiment '{MIGRATE_EXPERIMENT}' (sum, threads and processes, workers ≤ cores and > cores; else the "
              f"headline experiment), per runtime variant · mode · workers, ≥ {MIN_REPS} runs. Busy threads: ≥ "
              f"{tidy.BUSY_THREAD_SHARE:.0%} of the run's busiest thread's CPU. Per run, migrations per busy thread "
              "per second of work come from every migration where the run was traced (perf sched, over the "
              "program's own work time), else from the kernel's se.nr_migrations of each busy thread counted inside "
              "the work window — its last reading there less its first, over the time between them — so that a new "
              "thread's or process's placement on a core is not counted as moving it; core changes between "
              "samples are shown beside them. A run moved its jobs when they migrated "
              f"≥ {MOVES_PER_S:g} time a second, and kept them in place otherwise, if its work lasted a second or "
              "more: Task Manager redraws once a second, so a job that migrates less often shows on one core in "
              "each frame, and a shorter run cannot show that. Without a kernel count, "
              f"≥ {MOVES_PER_S:g} core change a second between samples shows a move and nothing shows "
              "none. A group supports the claim when every run moved, contradicts it when every run kept them in "
              "place; a runtime's groups combine as every claim's, and one runtime that conclusively kept its jobs "
              "in place refutes the claim as a general statement. Per runtime, its busy OS threads against its "
              f"workers and its migrations against the runtimes' median say why (≤ {FEWER_MIGRATIONS:g} ×: fewer, "
              "a finding: Go's goroutines run on GOMAXPROCS Ms bound to Ps).",
              claim_migrations, needs_cores=True, needs_samples=True, needs_headline=True, figure="migrations"),
    ClaimSpec("e", "Python's graph is noisy because of context switching; multithreaded runtimes' graphs are calm.",
              "좌측은 엄청난 컨텍스트스위칭에 그래프가 요동칩니다.",
              f"Experiment '{NOISE_EXPERIMENT}' (sum, threads, quiet repetitions; else the headline experiment), "
              f"quiet runs only ({tidy.QUIET_NOTE}). Noise: the per-core "
              "busy % standard deviation over the work window, mean over cores. Noisier: a variant declaring "
              f"`threads: {ONE}` (a GIL), at ≥ 2 workers, against each variant declaring `{ALL}` at the same load — "
              "the worker count that keeps as many cores busy, its median work-phase parallelism rounded (1 for a "
              "GIL's threads), as a core kept full cannot vary and a comparison with saturated cores would find "
              f"any partial load 'noisier' — ≥ {MIN_REPS} runs each, on the "
              "context-switch rate (every switch where traced, else wait4's voluntary + involuntary over the wall "
              "time) and on noise: supported when its runs lie above every other's on both, contradicted when "
              "below every other's on either (" + SEPARATED_NOTE + f"; 'above every other' holds at p < {ALPHA} "
              "when each comparison does, an intersection-union test). Cause: Spearman ρ across the one-core "
              f"variants' runs pooled (≥ {MIN_CORRELATION_RUNS}; each measure ranked within its own variant first, "
              "so that variants far apart on both make no link their runs do not show) between noise and (i) the "
              "context-switch rate, (ii) the GIL's hand-offs, counted as the busy threads' voluntary switches per "
              "second of work (a thread waiting for the GIL sleeps on a futex: a voluntary switch; involuntary ones "
              f"are preemptions). Noise goes with a cause when ρ > 0 with p < {ALPHA}, against it when ρ < 0 with "
              f"p < {ALPHA}. The free-threaded build (all-cores beside a one-core variant) is the control: its noise "
              "should not go with its hand-offs; and, as a designed contrast, the same one-core runtime at the same "
              "load with one thread, which hands nothing off: if switching made the graph noisy, the runs that "
              "switch less (their switch rates below the two threads') would be calmer (their noise below too); switching less yet noisier contradicts "
              "the cause (overlapping noise decides nothing). The cause is supported when the noise goes with (i) "
              "or (ii) or the contrast supports it, contradicted when it goes against one (and with neither) or the "
              "contrast contradicts it, inconclusive when nothing decides or they disagree. The claim joins two "
              "statements: supported when the one-core variants are noisier (combined as every claim's groups) and "
              "the cause is supported; contradicted when either is contradicted (not noisier: below on a measure); "
              "else inconclusive. ρ, p and n are shown per variant as well as pooled.", claim_noisy,
              needs_cores=True, needs_samples=True, needs_headline=True, figure="noise"),
]
