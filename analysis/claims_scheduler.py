"""Claim (d), about what the OS scheduler does with busy threads: "the OS moves one job between cores", judged on
the `claims` profile's `migrate` experiment (sum, both modes, workers ≤ cores and > cores, runs of seconds) with the
verdict machinery of claims.py. A set without it (the quick profile) is judged on its headline experiment instead,
and the evidence says so: those runs are short, and rarely decide the claim. Claim (e) is claims_noise.py's.

Migrations come from every event where the run was traced (`trace: sched`, the run record's trace_* columns),
else from the kernel's per-thread se.nr_migrations inside the work window; the per-sample core changes are shown
beside them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from polylab.results.schema import SWITCH_COUNTERS_MAX_AGE_S

from . import tidy
from .claims import CONTRADICTED, INCONCLUSIVE, MIN_REPS, ONE, SUPPORTED, ClaimSpec, Decided, _row
from .load import ResultsSet
from .workload_claims import named

MIGRATE_EXPERIMENT = "migrate"
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


def traced_values(runs: pd.DataFrame, column: str) -> pd.Series:
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
    traced = traced_values(runs, TRACED)
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
]
