"""The seed article's claims, each judged by a rule written here and shown with its verdict.

A verdict is `supported`, `contradicted` or `inconclusive`. Every claim is judged per group (a runtime
variant, mode and worker count, say) and the groups are combined by one rule (`combine`): a group with fewer
than MIN_REPS measured runs, or whose repetitions fall on both sides of a threshold, is inconclusive; the
claim takes the verdict its conclusive groups agree on, if they are at least half of the groups, and is
inconclusive otherwise. The same rule over one variant's groups gives that variant's verdict (`by_variant`;
a judge names the variant of each outcome as a (name, outcome) pair), except that a variant whose conclusive
groups disagree gets `depends`: an answer, not a lack of one (`variant_verdict`). Thresholds are relative to the cores a
run could use (meta.json), never absolute.

Which runtimes a claim is about comes from the thread model each variant's manifest declares (the runs'
`threads`, analysis/load.py), never from a language's name: the article's GIL claims (a), (c), (e) are about
the variants declaring `one-core`; (b) about the `all-cores` variants of languages that have no `one-core`
variant (C#, Java, Go, ...); (a2) about the `all-cores` variants of a language that has `one-core` ones too
(free-threaded CPython beside CPython and PyPy), with its single-thread cost (analysis/variants.py).

Claims (d) and (e), about the scheduler, are judged in analysis/claims_scheduler.py and claims_noise.py with this
machinery, and (f) in analysis/claims_cpu_speed.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from polylab.results.schema import Mode, ThreadModel

from . import tidy
from .document import number, number_range
from .load import ResultsSet
from .variants import single_thread_cost

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
DEPENDS = "depends"   # a runtime variant's verdict only: its conclusive groups disagree
MIN_REPS = 2
ONE_CORE = 1.15  # parallelism at or under this: one core at a time
ALL_CORES = 0.9  # parallelism at or over this × min(workers, cores): all the cores the workers can use
MIN_WINDOW_SAMPLES = 3
ALPHA = 0.05
MIN_CORRELATION_RUNS = 6
MIN_TEST_RUNS = 4   # a side: with 3, a one-sided Mann-Whitney U test's smallest p is 0.05, never below it
SAME_THROUGHPUT, SAME_SYS_SHARE = 0.10, 0.05
ONE, ALL = ThreadModel.ONE_CORE.value, ThreadModel.ALL_CORES.value
TASK_MODES = (Mode.POOL.value, Mode.ASYNC.value)


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    quote: str  # the article's words
    rule: str
    verdict: str
    reason: str
    evidence: pd.DataFrame = field(repr=False)  # group, measure, median, spread, n, outcome
    by_variant: dict = field(default_factory=dict)  # the variant's shown name → its verdict, from its groups
    figure: str | None = None  # the spec's figure


EVIDENCE_COLUMNS = ["group", "measure", "median", "spread", "n", "outcome"]


@dataclass(frozen=True)
class Decided:
    """A claim's verdict and reason as its judge decided them, for a claim whose rule combines its groups
    otherwise than `combine` does (its rule says how); a judge returns it in place of its groups' outcomes."""

    verdict: str
    reason: str
    by_variant: dict = field(default_factory=dict)  # the variant's shown name → its verdict, where the rule gives one


def _row(group: str, measure: str, stats: dict, outcome: str) -> dict:
    spread = f"{number(stats['min'])}–{number(stats['max'])}" if stats["n"] > 1 else ""
    return {"group": group, "measure": measure, "median": stats["median"], "spread": spread, "n": stats["n"],
            "outcome": outcome}


def combine(outcomes: list[str]) -> tuple[str, str]:
    """The claim's verdict from its groups' verdicts (see the module docstring)."""
    if not outcomes:
        return INCONCLUSIVE, "no data for this claim in this results set"
    conclusive = [o for o in outcomes if o != INCONCLUSIVE]
    if not conclusive:
        return INCONCLUSIVE, f"no conclusive group (of {len(outcomes)})"
    if len(set(conclusive)) > 1:
        return INCONCLUSIVE, (f"groups disagree: {conclusive.count(SUPPORTED)} support, "
                              f"{conclusive.count(CONTRADICTED)} contradict")
    if 2 * len(conclusive) < len(outcomes):
        return INCONCLUSIVE, f"only {len(conclusive)} of {len(outcomes)} groups conclusive"
    return conclusive[0], f"{len(conclusive)} of {len(outcomes)} groups {conclusive[0]}, none disagree"


def variant_verdict(outcomes: list[str]) -> str:
    """A runtime variant's verdict over its own groups: `combine`'s, except that groups which each decide, and
    decide differently, are an answer rather than a lack of one: the claim holds for this runtime in some of its
    groups (a mode, a worker count) and not in others, and the evidence says which (DEPENDS)."""
    if SUPPORTED in outcomes and CONTRADICTED in outcomes:
        return DEPENDS
    return combine(outcomes)[0]


def work_parallelism(results: ResultsSet, runs: pd.DataFrame) -> pd.DataFrame:
    """Per run, the cores in use during the work phase, as bounds [low, high] and a point value.

    Sampled runs: the mean over work-window samples of Σ workload share (low = high). Otherwise wait4's
    (user + sys) / wall (a low bound: start-up is in the wall time) and (user + sys) / program's own time (a
    high bound: start-up CPU is charged to the work). Sampled runs that are not quiet (tidy: other programs
    used more than tidy.QUIET_OTHER_LOAD cores) are marked noisy.

    `machine_full`: the run had no free core to use more of. The cores the rest of the machine took beside the
    run (the lab's reader and sampler, the kernel's threads, other programs), with the run's, filled ALL_CORES of
    the machine; and, where the set has the run-queue wait (schema 9, tidy.run_queue_wait), the run's threads
    were ready to run while no core ran them, enough that with those cores it would have reached the parallel
    claims' threshold (ALL_CORES of min(workers, cores)). The wait alone is no proof: it also counts the moment
    between a thread's wake-up and its run, which a program that wakes thousands of times a second (a printing
    one) sums to a core or more on a machine with idle time.
    """
    window = tidy.window_stats(results)
    runs = runs.merge(window, on="run_id", how="left")
    sampled = runs["window_samples"].fillna(0) >= MIN_WINDOW_SAMPLES
    runs["low"] = runs["sampled_parallelism"].where(sampled, runs["parallelism"])
    runs["high"] = runs["sampled_parallelism"].where(sampled, runs["parallelism_upper"])
    runs["value"] = runs["low"]
    runs["source"] = np.where(sampled, "sampled, work window", "wait4 bounds")
    runs["noisy"] = sampled & (runs["other_load_cores"] > tidy.QUIET_OTHER_LOAD)
    beside = (tidy.lab_own_cores(runs).reindex(runs["run_id"]).to_numpy()
              + runs["kernel_threads_cores"].fillna(0).to_numpy() + runs["other_load_cores"].fillna(0).to_numpy())
    runs["beside_cores"] = np.where(sampled, beside, np.nan)
    reachable = np.minimum(runs["workers"], runs["cores"])
    waited_for_cores = runs["value"] + runs["waiting_cores"] >= ALL_CORES * reachable
    machine_took_cores = runs["value"] + runs["beside_cores"] >= ALL_CORES * runs["cores"]
    runs["machine_full"] = sampled & machine_took_cores & (waited_for_cores | runs["waiting_cores"].isna())
    return runs


def threshold_outcome(runs: pd.DataFrame, threshold: float, at_most: bool) -> str:
    """Supported when every run's bounds are on the claimed side of threshold, contradicted when every run's
    are on the other side; inconclusive with fewer than MIN_REPS runs or runs on both sides. A run short of an
    at-least threshold on a full machine (`machine_full`) counts against nothing: it had no free core to use."""
    if len(runs) < MIN_REPS:
        return INCONCLUSIVE
    low, high = runs["low"], runs["high"]
    claimed = (high <= threshold) if at_most else (low >= threshold)
    full = runs["machine_full"] if "machine_full" in runs else False
    against = (low > threshold) if at_most else (high < threshold) & ~full
    return SUPPORTED if claimed.all() else CONTRADICTED if against.all() else INCONCLUSIVE


Outcomes = list[tuple[str, str]]  # (variant's shown name, the outcome of one of its groups)


def about(runs: pd.DataFrame, threads: str, beside_one_core: bool | None = None) -> pd.Series:
    """Runs of the variants declaring `threads`; with beside_one_core, only those of languages that have (True)
    or have not (False) a variant declaring one-core among the set's runs."""
    chosen = runs["threads"] == threads
    if beside_one_core is not None:
        one_core_langs = set(runs.loc[runs["threads"] == ONE, "lang"].astype(str))
        chosen &= runs["lang"].astype(str).isin(one_core_langs) == beside_one_core
    return chosen


def _parallel_claim(results: ResultsSet, threads: str, mode: str, at_most: bool,
                    beside_one_core: bool | None = None, workload: str = "sum",
                    sink: str | None = None) -> tuple[Outcomes, list[dict]]:
    runs = tidy.measured(results)
    runs = runs if sink is None else runs[runs["sink"].astype(str) == sink]
    of_tasks = runs.loc[runs["mode"].isin(TASK_MODES), "experiment"].unique()   # claim (l)'s, sized as tasks
    runs = runs[about(runs, threads, beside_one_core) & (runs["mode"] == mode) & (runs["workload"] == workload)
                & (runs["workers"] >= 2) & (runs["cores"] >= 2) & ~runs["experiment"].isin(of_tasks)]
    outcomes, rows = [], []
    for (experiment, language, workers), group in work_parallelism(results, runs).groupby(
            ["experiment", "language", "workers"], observed=True):
        kept = group[~group["noisy"]]
        cores = int(group["cores"].iloc[0])
        threshold = ONE_CORE if at_most else ALL_CORES * min(int(workers), cores)
        outcome = threshold_outcome(kept, threshold, at_most)
        outcomes.append((str(language), outcome))
        set_aside = len(group) - len(kept)
        note = f"{outcome} (threshold {threshold:.3g}; {kept['source'].iloc[0] if len(kept) else 'no runs'}" + \
            (f"; {set_aside} noisy run(s) set aside)" if set_aside else ")")
        if len(kept) and kept["source"].iloc[0] == "wait4 bounds":
            note += f"; bounds {kept['low'].min():.3g}–{kept['high'].max():.3g}"
        full = kept[kept["machine_full"] & (kept["high"] < threshold)] if not at_most else kept.iloc[:0]
        if len(full):
            note += f"; {len(full)} of {len(kept)} run(s) short of it on a full machine: " + _why_full(full)
        rows.append(_row(f"{language} · {mode} · {tidy.workers_label(workers)} · {experiment}",
                         "work-phase parallelism", tidy.spread(kept["value"]), note))
    return outcomes, rows


def _why_full(full: pd.DataFrame) -> str:
    waited = full["waiting_cores"].dropna()
    return (f"the lab's stdout reader, the kernel's threads and other programs took {number_range(full['beside_cores'])}"
            " cores beside the run's" + (f", and the run's threads waited for a core ({number_range(waited)} cores of "
                                         "run-queue wait on average)" if len(waited) else "")
            + ", so they count against nothing")


def claim_gil(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    return _parallel_claim(results, ONE, "threads", at_most=True)


def claim_threads_parallel(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    return _parallel_claim(results, ALL, "threads", at_most=False, beside_one_core=False)


def claim_processes_parallel(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    return _parallel_claim(results, ONE, "processes", at_most=False)


def claim_free_threaded(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    """(b)'s rule for the all-cores builds of a one-core language; evidence adds their single-thread cost."""
    outcomes, rows = _parallel_claim(results, ALL, "threads", at_most=False, beside_one_core=True)
    for cost in single_thread_cost(results).itertuples():
        rows.append({"group": f"{cost.variant} vs {cost.baseline} · {cost.mode} · 1 worker · {cost.experiment}",
                     "measure": "single-thread cost: 1-worker throughput ratio", "median": cost.ratio,
                     "spread": f"{number(cost.ratio_low)}–{number(cost.ratio_high)}", "n": cost.n,
                     "outcome": f"{cost.cost:+.0%} throughput; Mann-Whitney p = {cost.p:.2g}"})
    return outcomes, rows


SEPARATED_NOTE = (f"one group's runs lie above (below) another's when their ranges (min–max) are apart or, where "
                  f"they overlap, a one-sided Mann-Whitney U test says so at p < {ALPHA} with ≥ {MIN_TEST_RUNS} runs "
                  "a side")


def separated(subject: pd.Series, other: pd.Series) -> str:
    """Where subject's runs lie against other's: 'higher' or 'lower' when their ranges (min–max) are apart, or,
    where the ranges overlap, when a one-sided Mann-Whitney U test says so at p < ALPHA with ≥ MIN_TEST_RUNS runs
    a side (an outlier run then costs one rank, not the verdict); 'overlap' otherwise; 'too few runs' under
    MIN_REPS a side. Comparing one group with several, each 'higher' at p < ALPHA makes 'higher than every one'
    hold at p < ALPHA as well (an intersection-union test), so no correction for their number is needed."""
    subject, other = subject.dropna(), other.dropna()
    if len(subject) < MIN_REPS or len(other) < MIN_REPS:
        return "too few runs"
    if subject.min() > other.max():
        return "higher"
    if subject.max() < other.min():
        return "lower"
    if min(len(subject), len(other)) >= MIN_TEST_RUNS:
        for side, word in (("greater", "higher"), ("less", "lower")):
            if scipy_stats.mannwhitneyu(subject, other, alternative=side).pvalue < ALPHA:
                return word
    return "overlap"


def claim_printing(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    pairs = tidy.print_pairs(results)
    outcomes, rows = [], []
    for (language, mode, workers), group in pairs.groupby(["language", "mode", "workers"], observed=True):
        summing = group[group["workload"] == "sum"]
        for sink, printing in group[group["workload"] == "sum-print"].groupby("sink", observed=True):  # sinks apart
            outcomes.append((str(language), _printing_outcome(
                f"{language} · {mode} · {tidy.workers_label(workers)} · to {sink}", summing, printing, rows)))
    return outcomes, rows


def _printing_outcome(label: str, summing: pd.DataFrame, printing: pd.DataFrame, rows: list[dict]) -> str:
    """(g) for one sink: supported when printing's runs are slower and more in the kernel than sum's."""
    throughput = [tidy.spread(summing["throughput"]), tidy.spread(printing["throughput"])]
    sys_share = [tidy.spread(summing["sys_share"]), tidy.spread(printing["sys_share"])]
    slower = separated(printing["throughput"], summing["throughput"]) == "lower"
    more_kernel = separated(printing["sys_share"], summing["sys_share"]) == "higher"
    enough = min(s["n"] for s in throughput) >= MIN_REPS
    same = enough and abs(throughput[1]["median"] / throughput[0]["median"] - 1) < SAME_THROUGHPUT and \
        abs(sys_share[1]["median"] - sys_share[0]["median"]) < SAME_SYS_SHARE
    outcome = SUPPORTED if enough and slower and more_kernel else CONTRADICTED if same else INCONCLUSIVE
    ratio = throughput[1]["median"] / throughput[0]["median"] if throughput[0]["n"] else np.nan
    for workload, t_stats, s_stats in zip(["sum", "sum-print"], throughput, sys_share):
        rows.append(_row(f"{label} · {workload}", "throughput, iterations/s", t_stats,
                         f"sum-print / sum = {ratio:.3g}" if workload == "sum-print" else ""))
        rows.append(_row(f"{label} · {workload}", "sys share of CPU", s_stats,
                         outcome if workload == "sum-print" else ""))
    return outcome


@dataclass(frozen=True)
class ClaimSpec:
    key: str
    statement: str
    quote: str
    rule: str
    judge: Callable[[ResultsSet], tuple[Outcomes | list[str] | Decided, list[dict]]]
    needs_cores: bool = False  # about parallelism: a machine with one core cannot show it
    needs_samples: bool = False  # reads the per-core and per-thread samples
    needs_headline: bool = False  # looks at the headline experiment's runs
    figure: str | None = None  # the name (figures.FIGURES) of the figure that shows it; the report links it


PARALLELISM_NOTE = (
    "Work-phase parallelism: cores in use while the workers run — from the samples (mean Σ workload share "
    f"over the work window's whole sample intervals, less the first and last where there are at least "
    f"{tidy.INTERIOR_MIN_INTERVALS}, the number beside each Task Manager "
    f"panel) when there are at least {MIN_WINDOW_SAMPLES}, else bounded by wait4's (user+sys)/wall "
    f"and (user+sys)/program time. Only quiet sampled runs count ({tidy.QUIET_NOTE}); others are set aside. "
    f"A run short of an at-least threshold counts against a claim only if cores were left: not when it and what "
    f"ran beside it (the lab's stdout reader and sampler, the kernel's threads, other programs, counted per "
    f"process) used ≥ {ALL_CORES} × the cores, as a printing run's console reader can on a small machine, and its "
    f"threads were ready to run and waited for a core (run-queue wait, schedstat's second field, over the same "
    f"samples; sets before schema 9 have none) enough that with those cores it would have reached the threshold. "
    "Experiments that also run pool or async modes are claim (l)'s, sized as many short tasks rather than as a "
    f"parallel job, and are left out. Each group (experiment, language, workers ≥ 2, on ≥ 2 cores) needs "
    f"≥ {MIN_REPS} runs.")

CLAIMS = [
    ClaimSpec("a", "Python threads use one core at a time (the GIL).",
              "정확하게는 GIL때문에 하나의 프로세스가 동시에 하나의 코어밖에 사용하지 못하는 언어입니다.",
              f"Threads of every variant whose manifest declares `threads: {ONE}` (a GIL: CPython, PyPy), sum "
              f"workload, judged per variant. Supported when every run's work-phase parallelism is ≤ {ONE_CORE}; "
              f"contradicted when every run's is above it. " + PARALLELISM_NOTE, claim_gil, needs_cores=True,
              figure="task-manager"),
    ClaimSpec("a2", "Free-threaded CPython threads use all cores (no GIL).",
              "(not the article's: CPython 3.13's free-threaded build, PEP 703, removes the GIL that (a) is about)",
              f"Threads of every variant declaring `threads: {ALL}` whose language also has a `{ONE}` variant "
              "(CPython free-threaded beside CPython and PyPy), sum workload, judged per variant by (b)'s rule: ≥ "
              f"{ALL_CORES} × min(workers, cores). Its single-thread cost is shown beside it: the median 1-worker "
              "throughput of each such variant over its language's first one-core variant's, with the range of "
              "the ratio over every pair of runs and a Mann-Whitney U test. " + PARALLELISM_NOTE,
              claim_free_threaded, needs_cores=True, figure="task-manager"),
    ClaimSpec("b", "C#, Java and Go threads use all cores at once.",
              "c#, java등의 스레드는 운영체제가 cpu에 직접 스케줄링 합니다. … 동시에 CPU를 사용할수 있어",
              f"Threads of every variant declaring `threads: {ALL}` whose language has no `{ONE}` variant (C#, "
              f"Java, Go, …), sum workload. Supported when every run's work-phase parallelism is ≥ "
              f"{ALL_CORES} × min(workers, cores); contradicted when every run's is below. " + PARALLELISM_NOTE,
              claim_threads_parallel, needs_cores=True, figure="task-manager"),
    ClaimSpec("c", "Python processes do use all cores.",
              "싱글스레드(싱글코어) 언어를 사용하지만 CPU를 동시에 사용하고 싶은경우 (프로세스가 쓰이는곳)",
              f"Processes of every variant declaring `threads: {ONE}`, sum workload; the same rule as (b): ≥ "
              f"{ALL_CORES} × min(workers, cores). " + PARALLELISM_NOTE, claim_processes_parallel, needs_cores=True,
              figure="task-manager"),
    ClaimSpec("g", "Printing every partial sum (the article's workload) changes the picture.",
              "Console.WriteLine(result); / print(result) — I/O request를 처리할때 cpu는 순간적으로 이 job을 위해 "
              "일을 하지 않습니다.",
              "sum-print against sum runs of the same language, mode and workers, each sink sum-print wrote to "
              f"a group of its own (a terminal, a pipe and /dev/null cost a line differently), ≥ {MIN_REPS} runs "
              "each. Supported when sum-print's throughput lies below sum's and its sys "
              "share above sum's (" + SEPARATED_NOTE + "); contradicted when medians differ by less than "
              f"{SAME_THROUGHPUT:.0%} in throughput and {SAME_SYS_SHARE:.0%} points in sys share; else "
              "inconclusive.", claim_printing, figure="printing"),
]


def unmet_need(spec: ClaimSpec, results: ResultsSet) -> str | None:
    """Why this results set cannot judge the claim at all, from what the claim declares it needs; else None."""
    if spec.needs_cores and results.cores < 2:
        return f"the machine has {results.cores} core: parallelism cannot show"
    if spec.needs_samples and (results.samples.empty or results.threads.empty):
        if results.unreadable:   # a sample table that could not be read says why
            return f"{'; '.join(results.unreadable.values())} — this claim needs the per-core and per-thread samples"
        return "no samples: this claim needs the per-core and per-thread samples"
    if spec.needs_headline and tidy.headline(results) is None:
        return "no measured run: this claim looks at the headline experiment's runs"
    return None


def all_claims() -> list[ClaimSpec]:
    """The seed's claims, those above with (f) (analysis/claims_cpu_speed.py) and (d) and (e)
    (analysis/claims_scheduler.py) in the order of their keys, then those of contract 2's workloads
    (analysis/workload_claims.py) and of pools and async (claims_pool.py)."""
    from .claims_cpu_speed import CPU_SPEED_CLAIMS   # here, not at the top: they judge with this module's machinery
    from .claims_pool import POOL_CLAIMS
    from .claims_printing import PRINTING_CLAIMS
    from .claims_ranking import RANKING_CLAIMS
    from .claims_noise import NOISE_CLAIMS
    from .claims_scheduler import SCHEDULER_CLAIMS
    from .workload_claims import WORKLOAD_CLAIMS
    seed = sorted([*CLAIMS, *CPU_SPEED_CLAIMS, *SCHEDULER_CLAIMS, *NOISE_CLAIMS], key=lambda spec: spec.key)
    return [*seed, *PRINTING_CLAIMS, *WORKLOAD_CLAIMS, *POOL_CLAIMS, *RANKING_CLAIMS]


def evaluate(results: ResultsSet) -> list[Claim]:
    claims = []
    for spec in all_claims():
        missing = unmet_need(spec, results)
        outcomes, rows = spec.judge(results) if missing is None else ([], [])
        by_variant = {}
        if isinstance(outcomes, Decided):
            verdict, reason, by_variant = outcomes.verdict, outcomes.reason, dict(outcomes.by_variant)
        else:
            named = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
            for variant in dict.fromkeys(name for name, _ in named):
                by_variant[variant] = variant_verdict([outcome for name, outcome in named if name == variant])
            plain = [outcome[1] if isinstance(outcome, tuple) else outcome for outcome in outcomes]
            verdict, reason = combine(plain) if missing is None else (INCONCLUSIVE, missing)
        evidence = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
        claims.append(Claim(spec.key, spec.statement, spec.quote, spec.rule, verdict, reason, evidence, by_variant,
                            spec.figure))
    return claims
