"""The figures of contract 2's workloads: for each, its data (workload_tidy), its plot (workload_plots) and its
caption. A figure about a workload the set did not run is left out of the report (NotShown)."""

from __future__ import annotations

import pandas as pd

from . import workload_plots as plots
from . import workload_tidy as wt
from .drawn import Drawn, NoData, NotShown
from .load import ResultsSet, ordered
from .plots import runtime_palette


def _ran(results: ResultsSet, *workloads: str) -> None:
    if not results.runs["workload"].isin(workloads).any():
        raise NotShown(f"no {' or '.join(workloads)} runs")


def handoffs(results: ResultsSet) -> Drawn:
    _ran(results, "pingpong")
    runs = wt.handoffs(results)
    if runs.empty:
        raise NoData("no measured pingpong run reported its hand-offs")
    return Drawn(plots.handoff_latency(runs), (
        "What one hand-off costs: pingpong passes a token around a ring of workers; ns per hand-off = the "
        "ring's time (the shortest worker's own clock: the token moves only while every worker runs) / the "
        "token's final value (the hand-offs made). Threads hand over through the "
        "language's usual primitive (a condition variable, a semaphore, a channel), processes through a ring "
        "of pipes. Median and min–max over repetitions, log scale."
        + (" A panel per worker count and core count: pinned to one core (an experiment's `cpus: 1`), each hand-off "
           "is a switch on that core, the article's case; on more cores the worker handed to is woken on another."
           if runs["cores"].nunique() > 1 else "")))


def gil_reach(results: ResultsSet) -> Drawn:
    _ran(results, "io", "native")
    speedups = wt.speedups(results)
    if not speedups["workload"].isin(["io", "native"]).any() or speedups["workers"].nunique() < 2:
        raise NoData("io and native need 1-worker runs and at least one other worker count")
    return Drawn(plots.speedups_by_workload(speedups, results.cores, runtime_palette(results.runs)), (
        f"How far the GIL reaches: speedup (throughput at N workers / median throughput at 1 worker) of sum "
        f"(pure bytecode or machine code), io (a 1 ms blocking wait per iteration) and native (SHA-256 of 64 KiB "
        f"in the standard library, which releases Python's GIL) on {results.cores} cores. Dashed: ideal — "
        f"min(N, cores) for the CPU-bound work, N for io, whose workers wait rather than compute. Median and "
        f"min–max over repetitions."))


def crash_outcomes(results: ResultsSet) -> Drawn:
    _ran(results, "crash")
    table = wt.crash_outcomes(results)
    if table.empty:
        raise NoData("no measured crash run")
    table["survived_share"] = table["survived"] / table["runs"]
    table["label"] = [wt.crash_label(row).replace(", ", "\n", 1).replace(" (", "\n(") for row in table.itertuples()]
    return Drawn(plots.crash_matrix(table), (
        "Who survives a failing worker: worker 0 fails midway in the language's idiomatic unhandled way (an "
        "uncaught exception, a panic, abort()); green, the process survived and wrote its result (how many "
        "workers finished, of those started); red, the process died with it (no result, non-zero exit). Both "
        "are correct behaviour: what the runtime does with an unhandled failure is the finding."))


def contention(results: ResultsSet) -> Drawn:
    _ran(results, "contended")
    pairs = wt.contention(results)
    if pairs.empty:
        raise NoData("no contended runs with threads-mode sum runs at the same worker counts")
    measures = {"per_worker": "iterations / s per worker", "voluntary_per_k": "voluntary switches per 1000 operations"}
    long = pairs.melt(id_vars=["language", "workload", "workers"], value_vars=list(measures), var_name="measure",
                      value_name="value")
    long["measure"] = ordered(long["measure"].map(measures), list(measures.values()))
    long["workload"] = pd.Categorical(long["workload"].astype(str), categories=["sum", "contended"], ordered=True)
    return Drawn(plots.contention_cost(long, runtime_palette(results.runs)), (
        "What sharing one counter costs, threads mode: contended (lock, add one, unlock, every iteration) "
        "against sum at the same worker counts. Top: throughput per worker (log); bottom: voluntary context "
        "switches (wait4) per 1000 operations — a mutex whose waiters sleep switches, one that spins does not. "
        "Median and min–max over repetitions."))


WORKLOAD_FIGURES = [
    ("handoffs", "Hand-off latency: threads vs processes", handoffs),
    ("gil-reach", "Speedup of io and native beside sum", gil_reach),
    ("crash", "A failing worker: who survives", crash_outcomes),
    ("contention", "Contention cost against workers", contention),
]
