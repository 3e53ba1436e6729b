"""The article's own experiment judged on its own: claims (a)–(c) on the printing workload (sum-print), as claims
of their own beside the `sum` ones, and one sentence of what that experiment measured, computed from the set.

A set that ran every configuration once (the `seed` profile) cannot decide any claim by rule: its report says so
in one line and points to the `claims` profile (`single_run_note`).
"""

from __future__ import annotations

import pandas as pd

from . import tidy
from .claims import (ALL, ALL_CORES, MIN_REPS, ONE, ONE_CORE, PARALLELISM_NOTE, ClaimSpec, Outcomes, _parallel_claim,
                     about, work_parallelism)
from .document import number_range
from .load import ResultsSet

PRINTING = "sum-print"
CONSOLE = "tty"   # the article printed to a console: a terminal, which the lab gives a run as a pseudo-terminal
GROUP = ["experiment", "variant_key", "workload", "mode", "workers"]


def claim_gil_printing(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    return _parallel_claim(results, ONE, "threads", at_most=True, workload=PRINTING, sink=CONSOLE)


def claim_threads_printing(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    return _parallel_claim(results, ALL, "threads", at_most=False, beside_one_core=False, workload=PRINTING,
                           sink=CONSOLE)


def claim_processes_printing(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    return _parallel_claim(results, ONE, "processes", at_most=False, workload=PRINTING, sink=CONSOLE)


def single_run_note(results: ResultsSet) -> str | None:
    """One line for a set whose every measured configuration ran fewer than MIN_REPS times, else None."""
    runs = tidy.measured(results)
    if runs.empty or runs.groupby(GROUP, observed=True).size().max() >= MIN_REPS:
        return None
    return (f"Every configuration of this set ran fewer than {MIN_REPS} times, and every claim's rule needs at least "
            f"{MIN_REPS} runs a group: here each verdict would be inconclusive by rule, so none is shown. For "
            "verdicts, run `invoke all --profile claims`, which repeats what decides each claim, the article's own "
            "printing experiment included.")


def _listed(medians: pd.Series) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in medians.items())


def article_experiment_finding(results: ResultsSet) -> str | None:
    """What the article's own experiment measured, in one sentence: the threads of its printing runs to a console
    (the largest worker count ≥ 2 of the first sum-print experiment with sink tty) against what the article expects
    of each runtime. Printed elsewhere (/dev/null, a pipe) it is not the article's experiment: no sentence."""
    runs = tidy.measured(results)
    runs = runs[(runs["workload"] == PRINTING) & (runs["sink"] == CONSOLE) & (runs["mode"] == "threads")
                & (runs["workers"] >= 2) & (runs["cores"] >= 2)]
    if runs.empty:
        return None
    experiment = runs["experiment"].cat.remove_unused_categories().cat.categories[0]
    runs = runs[runs["experiment"] == experiment]
    workers = int(runs["workers"].max())
    runs = work_parallelism(results, runs[runs["workers"] == workers]).dropna(subset=["value"])
    if runs.empty:
        return None
    cores = int(runs["cores"].iloc[0])
    spread = ALL_CORES * min(workers, cores)
    multithreaded = runs[about(runs, ALL, beside_one_core=False)].groupby("language", observed=True)["value"].median()
    one_core = runs[about(runs, ONE)].groupby("language", observed=True)["value"].median()
    narrow, wide = multithreaded[multithreaded < spread].dropna(), one_core[one_core > ONE_CORE].dropna()
    narrow_runs = runs[runs["language"].isin(narrow.index)]
    beside, waiting = narrow_runs["beside_cores"].dropna(), narrow_runs["waiting_cores"].dropna()
    parts = []
    if not narrow.empty:
        parts.append(f"the \"multithreaded\" runtimes' threads did not spread ({_listed(narrow)} cores in use, "
                     f"under {spread:.3g})" + ("" if beside.empty else
                     f", while the console's reader, the kernel's threads and the lab's sampler took "
                     f"{number_range(beside)} cores beside them")
                     + ("" if waiting.empty else f" and their threads were ready to run with no core running "
                        f"them {number_range(waiting)} cores' worth (run-queue wait, each wake-up's latency "
                        "included)"))
    elif not multithreaded.dropna().empty:
        parts.append(f"the \"multithreaded\" runtimes' threads spread ({_listed(multithreaded.dropna())} cores)")
    if not wide.empty:
        parts.append(f"the GIL runtimes' threads did not stay on one core ({_listed(wide)} cores, over {ONE_CORE:g}), "
                     "as when the GIL is released during each write")
    elif not one_core.dropna().empty:
        parts.append(f"the GIL runtimes' threads stayed on one core ({_listed(one_core.dropna())} cores)")
    if not parts:
        return None
    measured = " — so it measured the console's write path more than the threads" if not narrow.empty or \
        not wide.empty else ""
    return (f"In the article's own experiment ({PRINTING}, {workers} threads printing every partial sum, experiment "
            f"'{experiment}', median work-phase parallelism on {cores} cores, {_runs_each(runs)}), "
            + "; ".join(parts) + measured + "." + _reading_only(runs))


def _runs_each(runs: pd.DataFrame) -> str:
    counts = runs.groupby("language", observed=True).size()
    low, high = int(counts.min()), int(counts.max())
    return f"{low} run{'s' if high > 1 else ''} each" if low == high else f"{low}–{high} runs each"


def _reading_only(runs: pd.DataFrame) -> str:
    """A set that ran it fewer times than a claim's rule needs gives a reading, not a verdict: say so."""
    if runs.groupby("language", observed=True).size().min() >= MIN_REPS:
        return ""
    return (f" With fewer than {MIN_REPS} runs of a runtime this is a reading of single runs, not a verdict: the "
            "`claims` profile repeats the experiment and judges it (claims a-print, b-print and c-print).")


PRINT_NOTE = (f"The article's own workload: {PRINTING} (every partial sum printed) to a console (sink {CONSOLE}, a "
              "pseudo-terminal), judged apart from sum. The same workload to /dev/null or a pipe is not the "
              "article's experiment: where a line goes sets how long each write holds a thread, so those runs are "
              "the printing figure's and claim (g)'s, not these claims'. ")

PRINTING_CLAIMS = [
    ClaimSpec("a-print", "Python threads use one core at a time, in the article's printing experiment.",
              "정확하게는 GIL때문에 하나의 프로세스가 동시에 하나의 코어밖에 사용하지 못하는 언어입니다.",
              PRINT_NOTE + f"(a)'s rule: threads of every variant declaring `threads: {ONE}`, supported when every "
              f"run's work-phase parallelism is ≤ {ONE_CORE}, contradicted when every run's is above. " +
              PARALLELISM_NOTE, claim_gil_printing, needs_cores=True, figure="printing"),
    ClaimSpec("b-print", "C#, Java and Go threads use all cores at once, in the article's printing experiment.",
              "c#, java등의 스레드는 운영체제가 cpu에 직접 스케줄링 합니다. … 동시에 CPU를 사용할수 있어",
              PRINT_NOTE + f"(b)'s rule: threads of every variant declaring `threads: {ALL}` whose language has no "
              f"`{ONE}` variant, ≥ {ALL_CORES} × min(workers, cores). " + PARALLELISM_NOTE,
              claim_threads_printing, needs_cores=True, figure="printing"),
    ClaimSpec("c-print", "Python processes do use all cores, in the article's printing experiment.",
              "싱글스레드(싱글코어) 언어를 사용하지만 CPU를 동시에 사용하고 싶은경우 (프로세스가 쓰이는곳)",
              PRINT_NOTE + f"(c)'s rule: processes of every variant declaring `threads: {ONE}`, ≥ {ALL_CORES} × "
              "min(workers, cores). " + PARALLELISM_NOTE, claim_processes_printing, needs_cores=True,
              figure="printing"),
]
