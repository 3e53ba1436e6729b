"""Claim (l): whatever runs the tasks — a thread pool, async — each parallel task takes a thread.

Judged on pool and async runs (langs/README.md section 10), where `--workers N` hands N tasks to the
runtime's pool or event loop and each task reports the kernel threads it ran on; the lab records
`threads_used`, the distinct threads over all tasks. Threads mode, one OS thread per worker by construction,
is the control: where it reports its tids too, a variant whose threads mode does not show one thread per
worker has a measure that cannot be trusted, and its pool and async groups are set aside.
"""

from __future__ import annotations

import pandas as pd

from . import tidy
from . import workload_tidy as wt
from .claims import CONTRADICTED, INCONCLUSIVE, MIN_REPS, SUPPORTED, ClaimSpec, Decided, _row
from .load import ResultsSet
from .workload_claims import _who, gil_rule, per_variant

CONTROL = "threads"
TASK_MODES = ("pool", "async")
MODES = (CONTROL, *TASK_MODES)
GROUP_KEYS = ["language", "workload", "mode", "workers"]


def task_runs(results: ResultsSet) -> pd.DataFrame:
    """Measured sum and io runs in threads, pool and async modes that report the threads their tasks used."""
    runs = wt.measured_of(results, "sum", "io")
    return runs[runs["mode"].isin(MODES)].dropna(subset=["threads_used"])


def thread_outcome(threads_used: pd.Series, tasks: int) -> str:
    """Supported when every run used one thread per task, contradicted when every run used fewer threads than
    tasks; inconclusive with fewer than MIN_REPS runs or runs on both sides (or above: a task that moved)."""
    if len(threads_used) < MIN_REPS:
        return INCONCLUSIVE
    if (threads_used == tasks).all():
        return SUPPORTED
    return CONTRADICTED if (threads_used < tasks).all() else INCONCLUSIVE


def _pool_size(group: pd.DataFrame) -> str:
    sizes = group["pool_size"].dropna()
    if sizes.empty:
        return "no pool size reported"
    low, high = int(sizes.min()), int(sizes.max())
    return f"pool size {low}" if low == high else f"pool size {low}–{high}"


def _group_label(language, workload, mode, workers) -> str:
    return f"{language} · {workload} · {mode} · {int(workers)} task{'s' if int(workers) != 1 else ''}"


def claim_task_threads(results: ResultsSet) -> tuple[Decided, list[dict]]:
    runs = task_runs(results)
    outcomes, variants, rows, failed_controls = {}, {}, [], set()
    groups = runs.groupby(GROUP_KEYS, observed=True)
    judged = {key: thread_outcome(group["threads_used"], int(key[3])) for key, group in groups}
    for (language, workload, mode, workers), outcome in judged.items():
        if mode == CONTROL and outcome == CONTRADICTED:
            failed_controls.add(str(language))
    for (language, workload, mode, workers), group in groups:
        outcome = judged[(language, workload, mode, workers)]
        label = _group_label(language, workload, mode, workers)
        note = outcome if mode != CONTROL else f"control: {outcome}"
        if mode != CONTROL:
            if str(language) in failed_controls:
                outcome, note = INCONCLUSIVE, f"{INCONCLUSIVE} (set aside: its threads-mode control used fewer " \
                                              f"threads than workers)"
            outcomes[label], variants[label] = outcome, str(language)
        rows.append(_row(label, f"OS threads used by {int(workers)} tasks", tidy.spread(group["threads_used"]),
                         f"{note}; {_pool_size(group) if mode != CONTROL else 'one thread per worker by design'}"))
    if not outcomes:
        return Decided(INCONCLUSIVE, "no pool or async runs that report their tasks' threads in this results set"), rows
    return task_verdict(outcomes, variants), rows


def task_verdict(outcomes: dict[str, str], variants: dict[str, str]) -> Decided:
    """'Whatever you use' is universal: one conclusive group whose tasks shared threads contradicts it; it is
    supported when at least half of the groups are conclusive and every one of those gave each task a thread."""
    verdict = gil_rule(list(outcomes.values()))
    conclusive = sum(outcome != INCONCLUSIVE for outcome in outcomes.values())
    why = {SUPPORTED: "every conclusive group ran each task on a thread of its own",
           CONTRADICTED: "some runtime ran several tasks on one thread",
           INCONCLUSIVE: f"only {conclusive} of {len(outcomes)} groups conclusive"}[verdict]
    return Decided(verdict, f"{why} — {_who(outcomes)}", per_variant(outcomes, variants, gil_rule))


POOL_CLAIMS = [
    ClaimSpec("l", "Whatever runs the tasks — a thread pool, async — each parallel task takes a thread.",
              "스레드풀, 비동기 등등 뭘 사용하더라도 병렬처리는 스레드를 하나씩 먹습니다. (Thread pool, async, "
              "whatever you use, parallel processing eats one thread each.)",
              f"sum and io in pool mode (the language's standard thread pool at its default size) and async mode "
              f"(its event loop or virtual threads), per runtime variant, workload and task count N, ≥ {MIN_REPS} "
              "runs: each task reports the kernel thread ids it started and ended on, and threads_used is the "
              "number of distinct ones over all tasks. A group supports the claim when every run used N threads "
              "(one per task), contradicts it when every run used fewer than N; else inconclusive. Threads mode is "
              "the control (one thread per worker by construction): a variant whose control shows fewer has its "
              "pool and async groups set aside. 'Whatever you use' is universal, so one contradicting group "
              "contradicts the claim; it is supported when at least half of the groups are conclusive and all of "
              "those support it; else inconclusive.", claim_task_threads, figure="task-threads"),
]
