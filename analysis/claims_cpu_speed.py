"""Claim (f), "higher CPU use for the same work means faster", judged between the configurations of an experiment.

Every experiment of the sum workload whose design varies the workers or the mode (threads, processes) is a group
per runtime variant. Its configurations (mode × workers) are compared in pairs whose CPU use differs: one's median
work-phase parallelism is at least MIN_CPU_SPAN × the other's. The claim predicts that the one using more CPU
does more iterations per second. Runs of one configuration differ in CPU use only by noise, so they are never
ranked against each other, as a correlation over the runs would: two clusters of runs (a GIL build's threads on
one core, its processes on two) would be diluted by the order of the runs inside each cluster.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pandas as pd

from polylab.results.schema import Mode

from . import tidy
from .claims import (CONTRADICTED, INCONCLUSIVE, MIN_REPS, SEPARATED_NOTE, SUPPORTED, ClaimSpec, Outcomes,
                     separated, work_parallelism)
from .load import ResultsSet

MIN_CPU_SPAN = 1.5   # a pair: the more CPU-using configuration's median parallelism at least this × the other's
COMPARED = {"higher": "faster with more CPU", "lower": "slower with more CPU", "overlap": "overlap",
            "too few runs": "too few runs"}


def varied_sum_runs(results: ResultsSet) -> pd.DataFrame:
    """Measured sum runs, in threads or processes mode, of every experiment whose design varies the workers or
    the mode, so that CPU use can differ between its runs; the headline experiment's where none does."""
    runs = tidy.measured(results)
    runs = runs[(runs["workload"] == "sum") & runs["mode"].isin([Mode.THREADS.value, Mode.PROCESSES.value])]
    designs = runs.groupby("experiment", observed=True)[["workers", "mode"]].nunique().prod(axis=1)
    varied = runs[runs["experiment"].isin(designs[designs > 1].index)]
    if not varied.empty:
        return varied
    headline = tidy.headline_runs(results, tidy.headline(results), all_workers=True)
    return headline[headline["workload"] == "sum"]     # a set with no sum experiment has nothing to judge here


def configuration_pairs(runs: pd.DataFrame) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(more, less): the runs of two configurations of one group, the first using ≥ MIN_CPU_SPAN × the CPU."""
    configurations = [group for _, group in runs.groupby(["mode", "workers"], observed=True)]
    return [(more, less) for more, less in permutations(configurations, 2)
            if more["value"].median() >= MIN_CPU_SPAN * less["value"].median()]


def speed_outcome(comparisons: list[str]) -> str:
    """Supported when in every pair the configuration using more CPU was faster, contradicted when in every pair
    it was slower, else inconclusive (claims.separated says which was faster; fewer than MIN_REPS runs: neither)."""
    if comparisons and all(found == "higher" for found in comparisons):
        return SUPPORTED
    if comparisons and all(found == "lower" for found in comparisons):
        return CONTRADICTED
    return INCONCLUSIVE


def _configuration(runs: pd.DataFrame) -> str:
    return f"{runs['mode'].iloc[0]} · {tidy.workers_label(runs['workers'].iloc[0])}"


def claim_cpu_means_speed(results: ResultsSet) -> tuple[Outcomes, list[dict]]:
    runs = work_parallelism(results, varied_sum_runs(results)).dropna(subset=["value", "throughput"])
    outcomes, rows = [], []
    for (language, experiment), group in runs.groupby(["language", "experiment"], observed=True):
        label = f"{language} · {experiment}"
        pairs = configuration_pairs(group)
        if not pairs:
            medians = group.groupby(["mode", "workers"], observed=True)["value"].median()
            rows.append({"group": label, "measure": "configurations compared", "median": np.nan, "spread": "",
                         "n": len(group), "outcome": f"not judged: no two configurations differ in CPU use by "
                         f"×{MIN_CPU_SPAN:g} (at most ×{medians.max() / medians.min():.2f})"})
            continue
        comparisons = []
        for more, less in pairs:
            found = separated(more["throughput"], less["throughput"])
            comparisons.append(found)
            rows.append({"group": f"{label} · {_configuration(more)} vs {_configuration(less)}",
                         "measure": "throughput, more CPU / less CPU (medians)",
                         "median": more["throughput"].median() / less["throughput"].median(),
                         "spread": f"parallelism {more['value'].median():.2f} vs {less['value'].median():.2f}",
                         "n": min(len(more), len(less)), "outcome": COMPARED[found]})
        outcome = speed_outcome(comparisons)
        outcomes.append((str(language), outcome))
        rows.append({"group": label, "measure": "configurations compared", "median": np.nan, "spread": "",
                     "n": len(group), "outcome": f"{outcome} ({comparisons.count('higher')} of {len(pairs)} pairs "
                                                 "faster with more CPU)"})
    return outcomes, rows


CPU_SPEED_CLAIMS = [
    ClaimSpec("f", "Higher CPU use for the same work means faster.",
              "동일한 일을 하는데 CPU사용량이 높다는건 상대적으로 빠르게 일을 처리한다고 볼 수 있습니다.",
              "Every sum experiment whose design varies the workers or the mode (threads, processes), so that CPU "
              "use can differ (else the headline experiment), per language and experiment. Its configurations "
              "(mode × workers) are compared in pairs whose CPU use differs: one's median work-phase parallelism at "
              f"least ×{MIN_CPU_SPAN:g} the other's; throughput is iterations per second of the program's clock, "
              f"i.e. speed for a fixed amount of work, ≥ {MIN_REPS} runs a configuration. Supported when in every "
              "pair the configuration using more CPU is faster, contradicted when in every pair it is slower, else "
              "inconclusive; " + SEPARATED_NOTE + ". Runs of one configuration are not ranked against each other: "
              "their CPU use differs by noise only. A group with no such pair used the same CPU throughout and is "
              "not judged: threads alone hardly vary a GIL runtime's CPU use; with processes they do.",
              claim_cpu_means_speed, needs_headline=True, figure="speedup"),
]
