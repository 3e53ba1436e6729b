"""Claim (l): whatever runs the tasks — a thread pool, async — each parallel task takes a thread.

Judged on pool and async runs (langs/README.md section 10), where `--workers N` hands N tasks to the
runtime's pool or event loop and each task reports the kernel threads it ran on; the lab records
`threads_used`, the distinct threads over all tasks, and that program-reported count decides. Beside it, from
the kernel: `busy_threads`, the threads of the run's tree that the sampler saw do work during the run's work
window (DID_WORK_SHARE). Threads mode, one OS thread per worker by construction, is the control and is judged
on busy_threads (no program reports its tids in threads mode): a variant whose control shows fewer busy threads
than workers has a measure that cannot be trusted, and its pool and async groups are set aside.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import tidy
from . import workload_tidy as wt
from .claims import CONTRADICTED, INCONCLUSIVE, MIN_REPS, SUPPORTED, TASK_MODES, ClaimSpec, Decided, _row
from .load import ResultsSet
from .workload_claims import _who, one_counterexample_refutes, per_variant

CONTROL = "threads"
MODES = (CONTROL, *TASK_MODES)
GROUP_KEYS = ["language", "workload", "mode", "workers"]
THREAD_KEYS = ["run_id", "pid", "tid"]
# A thread did work in a run when the CPU it gained during the work window is at least this share of the
# median window CPU of the run's N busiest threads (N = tasks): if each task had a thread, most of those N are
# the tasks' threads, so the bar is a task's own level, whether the tasks compute or wait. A fixed share of the
# window fails tasks that wait (Java io: 1–2 ms of CPU per task in 0.24 s) and threads behind a GIL (1/N of one
# core each); tidy's `busy` (a quarter of the busiest thread's CPU over the whole run) fails wherever start-up
# or a helper dominates (JVM io: main thread 62 ms and C1 compiler 34 ms in the same window). Helpers that work
# as hard as a task (a JIT compiler, GC, Go's sysmon) are counted too, so the count can exceed the task threads.
DID_WORK_SHARE = 0.25
NOT_OS_THREADS = {   # by language folder: a threads mode that is no one-OS-thread-per-worker control
    "go": "no control: Go's threads mode runs goroutines on GOMAXPROCS OS threads (langs/README.md section 3)",
}


def window_cpu(results: ResultsSet, runs: pd.DataFrame) -> pd.DataFrame:
    """Per thread of the given runs that the sampler read after the run's work began: the CPU it gained in the
    work window, from its last reading at or before the window's start (none: 0, a thread started in the
    window) to its last one. A run with no reading after its work began (one shorter than a sample interval)
    has no row."""
    threads = results.threads.merge(runs[["run_id", "wall_s", "inner_s"]], on="run_id")
    start = (threads["wall_s"] - threads["inner_s"]).clip(lower=0)
    threads = threads[threads["run_id"].isin(threads.loc[threads["t_s"] > start, "run_id"])]
    if threads.empty:
        return pd.DataFrame(columns=[*THREAD_KEYS, "window_cpu_s"])
    last = threads.groupby(THREAD_KEYS)["cpu_s"].max()      # cpu_s is cumulative: its maximum is its last
    before = threads[threads["t_s"] <= start.loc[threads.index]].groupby(THREAD_KEYS)["cpu_s"].max()
    gained = last - before.reindex(last.index).fillna(0.0)
    return gained.rename("window_cpu_s").reset_index()


def _did_work(gained: pd.Series, tasks: int) -> int:
    """How many threads gained at least DID_WORK_SHARE of the median of the `tasks` largest gains (missing
    ones: 0)."""
    busiest = np.sort(gained.to_numpy(dtype=float))[::-1][:tasks]
    bar = DID_WORK_SHARE * np.median(np.pad(busiest, (0, tasks - len(busiest))))
    return int(((gained >= bar) & (gained > 0)).sum())


def busy_threads(results: ResultsSet, runs: pd.DataFrame) -> pd.Series:
    """Per run (indexed like `runs`): the threads of its tree that did work (DID_WORK_SHARE); NaN where the
    sampler read none of its threads after its work began (sampler off, or a run shorter than a sample
    interval)."""
    gained = window_cpu(results, runs)
    tasks = runs.set_index("run_id")["workers"]
    counts = {run_id: _did_work(group["window_cpu_s"], int(tasks[run_id]))
              for run_id, group in gained.groupby("run_id")}
    return runs["run_id"].map(counts).astype(float)


def task_runs(results: ResultsSet) -> pd.DataFrame:
    """Measured sum and io runs in pool and async modes that report the threads their tasks used, and the
    threads-mode runs of their experiments (the control); each with its busy_threads."""
    runs = wt.measured_of(results, "sum", "io")
    tasks = runs[runs["mode"].isin(TASK_MODES) & runs["threads_used"].notna()]
    controls = (runs["mode"] == CONTROL) & runs["experiment"].isin(tasks["experiment"])
    runs = runs[controls | runs.index.isin(tasks.index)]
    return runs.assign(busy_threads=busy_threads(results, runs))


def thread_outcome(threads_used: pd.Series, tasks: int) -> str:
    """Supported when every run used one thread per task, contradicted when every run used fewer threads than
    tasks; inconclusive with fewer than MIN_REPS runs or runs on both sides (or above: a task that moved)."""
    if len(threads_used) < MIN_REPS:
        return INCONCLUSIVE
    if (threads_used == tasks).all():
        return SUPPORTED
    return CONTRADICTED if (threads_used < tasks).all() else INCONCLUSIVE


def control_outcome(group: pd.DataFrame, tasks: int) -> tuple[str, str]:
    """A threads-mode group's outcome and its note. It holds (supported) when in every run at least as many
    threads did work as there were workers — more is allowed: a runtime's helpers can work too —, fails
    (contradicted) when in every run fewer did; inconclusive with fewer than MIN_REPS sampled runs, runs on both
    sides, or the sampler off."""
    lang = str(group["lang"].iloc[0])
    if lang in NOT_OS_THREADS:
        return INCONCLUSIVE, NOT_OS_THREADS[lang]
    if (group["sample_hz"] == 0).all():
        return INCONCLUSIVE, f"control: {INCONCLUSIVE} (the sampler was off: sample_hz 0)"
    counted = group["busy_threads"].dropna()
    if len(counted) < MIN_REPS:
        return INCONCLUSIVE, (f"control: {INCONCLUSIVE} (busy threads seen in {len(counted)} of {len(group)} runs; "
                              "a run shorter than a sample interval shows none)")
    outcome = SUPPORTED if (counted >= tasks).all() else CONTRADICTED if (counted < tasks).all() else INCONCLUSIVE
    return outcome, f"control: {outcome}; at least one thread per worker expected"


def _pool_size(group: pd.DataFrame) -> str:
    sizes = group["pool_size"].dropna()
    if sizes.empty:
        return "no pool size reported"
    low, high = int(sizes.min()), int(sizes.max())
    return f"pool size {low}" if low == high else f"pool size {low}–{high}"


def _group_label(language, workload, mode, workers) -> str:
    return f"{language} · {workload} · {mode} · {int(workers)} task{'s' if int(workers) != 1 else ''}"


def _beside(group: pd.DataFrame) -> str:
    if (group["sample_hz"] == 0).all():
        return "not seen: the sampler was off (sample_hz 0)"
    return "the kernel's count beside threads_used, which decides"


def claim_task_threads(results: ResultsSet) -> tuple[Decided, list[dict]]:
    runs = task_runs(results)
    outcomes, variants, rows = {}, {}, []
    groups = runs.groupby(GROUP_KEYS, observed=True)
    controls = {key: control_outcome(group, int(key[3])) for key, group in groups if key[2] == CONTROL}
    failed_controls = {str(key[0]) for key, (outcome, _) in controls.items() if outcome == CONTRADICTED}
    for (language, workload, mode, workers), group in groups:
        label = _group_label(language, workload, mode, workers)
        busy = tidy.spread(group["busy_threads"])
        if mode == CONTROL:
            rows.append(_row(label, f"busy OS threads of {int(workers)} workers (sampler)", busy,
                             controls[(language, workload, mode, workers)][1]))
            continue
        outcome = note = thread_outcome(group["threads_used"], int(workers))
        if str(language) in failed_controls:
            outcome, note = INCONCLUSIVE, (f"{INCONCLUSIVE} (set aside: in its threads-mode control fewer threads "
                                           "did work than there were workers)")
        outcomes[label], variants[label] = outcome, str(language)
        used = tidy.spread(group["threads_used"])
        rows.append(_row(label, f"OS threads used by {int(workers)} tasks (program)", used,
                         f"{note}; {_pool_size(group)}"))
        rows.append(_row(label, "busy OS threads (sampler)", busy, _beside(group)))
    if not outcomes:
        return Decided(INCONCLUSIVE, "no pool or async runs that report their tasks' threads in this results set"), rows
    return task_verdict(outcomes, variants), rows


def task_verdict(outcomes: dict[str, str], variants: dict[str, str]) -> Decided:
    """'Whatever you use' is universal: one conclusive group whose tasks shared threads contradicts it; it is
    supported when at least half of the groups are conclusive and every one of those gave each task a thread."""
    verdict = one_counterexample_refutes(list(outcomes.values()))
    conclusive = sum(outcome != INCONCLUSIVE for outcome in outcomes.values())
    why = {SUPPORTED: "every conclusive group ran each task on a thread of its own",
           CONTRADICTED: "some runtime ran several tasks on one thread",
           INCONCLUSIVE: f"only {conclusive} of {len(outcomes)} groups conclusive"}[verdict]
    return Decided(verdict, f"{why} — {_who(outcomes)}", per_variant(outcomes, variants, one_counterexample_refutes))


POOL_CLAIMS = [
    ClaimSpec("l", "Whatever runs the tasks — a thread pool, async — each parallel task takes a thread.",
              "스레드풀, 비동기 등등 뭘 사용하더라도 병렬처리는 스레드를 하나씩 먹습니다. (Thread pool, async, "
              "whatever you use, parallel processing eats one thread each.)",
              f"sum and io in pool mode (the language's standard thread pool at its default size) and async mode "
              f"(its event loop or virtual threads), per runtime variant, workload and task count N, ≥ {MIN_REPS} "
              "runs: each task reports the kernel thread ids it started and ended on, and threads_used is the "
              "number of distinct ones over all tasks; this program-reported count decides. A group supports the "
              "claim when every run used N threads (one per task), contradicts it when every run used fewer than "
              "N; else inconclusive. Beside it, from the kernel, busy_threads: the threads of the run's tree that "
              "did work in the run's work window, i.e. gained at least "
              f"{DID_WORK_SHARE:.0%} of the window's CPU per task (the sampler's per-thread CPU; none where the "
              "sampler was off or the run was shorter than a sample interval). Threads mode is the control, "
              "judged on busy_threads: it holds when in every run at least N threads did work (more is allowed: "
              "a JIT compiler or GC thread may work too), fails when in every run fewer did; a variant whose "
              "control fails has its pool and async groups set aside (a failure can also be the sampler's: a thread "
              "that lives between two of its readings is never seen); with the sampler off the control is "
              "inconclusive. Go's threads mode runs goroutines, not one OS thread per worker, so it is no "
              "control. 'Whatever you use' is universal, so one contradicting group contradicts the claim; it is "
              "supported when at least half of the groups are conclusive and all of those support it; else "
              "inconclusive.", claim_task_threads, figure="task-threads"),
]
