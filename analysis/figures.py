"""The report's figures: for each, the data it shows (from tidy), the plot (from plots) and its caption.

A figure whose data is missing raises NoData with the reason, which the report prints in its place; one about
runs the set does not have (NotShown) is left out. The figures of contract 2's workloads are in
workload_figures.py, that of pools and async in pool_figures.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from polylab.results.schema import SAMPLES, THREADS, Sink

from . import core_plots, plots, tidy
from .claims_noise import CAUSES, NOISE, noise_runs
from .claims_scheduler import MIGRATE_EXPERIMENT, MOVES_PER_S, thread_window_migrations
from .document import number, number_range
from .drawn import Drawn, NoData, NotShown
from .load import ResultsSet, ordered
from .trace import exact_task_manager
from .pool_figures import POOL_FIGURES
from .workload_figures import WORKLOAD_FIGURES


@dataclass(frozen=True)
class FigureOutcome:
    name: str
    title: str
    caption: str
    path: Path | None  # None: not drawn, the caption says why


NO_SAMPLES = "no samples: this results set has no per-core samples (sample_hz 0, or an empty samples.parquet)"
NO_THREADS = "no samples: this results set has no per-thread samples (empty threads.parquet)"


def _headline_or_fail(results: ResultsSet) -> tidy.Headline:
    head = tidy.headline(results)
    if head is None:
        raise NoData("no measured runs")
    return head


def _representatives(results: ResultsSet) -> tuple[tidy.Headline, pd.DataFrame]:
    if not results.has_samples:
        raise NoData(results.unreadable.get(SAMPLES, NO_SAMPLES))
    head = _headline_or_fail(results)
    chosen = tidy.representative(tidy.headline_runs(results, head), set(results.samples["run_id"]),
                                 tidy.quiet_runs(results))
    chosen = chosen[chosen["run_id"].isin(results.samples["run_id"])]
    if chosen.empty:
        raise NoData(f"no samples for the runs of {head.label()}")
    return head, chosen


def _chosen_note(chosen: pd.DataFrame) -> str:
    return "Runs shown: " + ", ".join(chosen["run_id"]) + "."


def task_manager(results: ResultsSet) -> Drawn:
    head, chosen = _representatives(results)
    figure = core_plots.task_manager_heatmap(tidy.core_timeline(results, chosen))
    return Drawn(figure, (
        f"The Task Manager view of {head.label()}: each core's busy share per sample interval (darker = busier), "
        f"core 0 on top, time since the run started on x. Left: what the article expected — Python threads on one "
        f"core, every other runtime spreading min(workers, cores)/cores over each core during the program's work "
        f"phase. Middle: the CPU this run's threads used, placed on the core each last ran on. Right: the rest "
        f"of the machine (system − this run: each core's busy ticks beyond the run's threads, scaled so that the "
        f"cores add up to the machine's difference, as a thread's CPU lands on its last core while the kernel "
        f"splits it over every core it ran on). Beside each panel: cores' worth busy on average over the work "
        f"window (the program's own loop time), its whole sample intervals less the first and last (the "
        f"work-phase parallelism claims (a)–(c) judge). One repetition per row: the one with the median speed, "
        f"among those the rest of the machine left alone when there are any. "
        + _chosen_note(chosen)))


def core_graphs(results: ResultsSet) -> Drawn:
    head, chosen = _representatives(results)
    timeline = tidy.core_timeline(results, chosen)
    figure = core_plots.core_lines(timeline)
    return Drawn(figure, (
        f"Per-core graphs, Task Manager style, for the same runs ({head.label()}): busy % of each core over time, "
        f"this run (blue) against the article's expectation (grey, dashed) and the rest of the machine (orange)."))


def noise(results: ResultsSet) -> Drawn:
    """What claim (e) judges: each quiet threads-mode run's noise beside its context-switch rate and hand-offs."""
    if not results.has_samples:
        raise NoData(results.unreadable.get(SAMPLES, NO_SAMPLES))
    runs, judged_on = noise_runs(results)
    runs = runs.dropna(subset=[NOISE])
    if runs.empty:
        raise NoData(f"no quiet threads-mode runs with per-core samples in {judged_on}")
    runs = runs.assign(threads=runs["threads"].astype(str) + " · " + runs["workers"].map(tidy.workers_label))
    long = runs.rename(columns={NOISE: "noise"}).melt(id_vars=["language", "threads", "noise"],
                                                       value_vars=list(CAUSES), var_name="cause", value_name="per_s")
    long["cause"] = ordered(long["cause"].map(CAUSES), list(CAUSES.values()))
    long["threads"] = ordered(long["threads"], sorted(long["threads"].unique(), key=lambda t: (t[0] != "o", t)))
    return Drawn(plots.noise_against_causes(long.dropna(subset=["per_s"]), plots.runtime_palette(results.runs)), (
        f"Is a GIL runtime's graph noisier, and what goes with the noise: each point is one quiet threads-mode run "
        f"of {judged_on} ({len(runs)} runs). Noise (y) is the per-core busy % standard deviation over the work "
        f"window, mean over cores, from the sampler's per-core readings. Left: the run's context switches per "
        f"second (wait4's voluntary + involuntary over the wall time, or every switch where traced); right: its "
        f"busy threads' voluntary switches per second of work, which for a GIL runtime are the GIL's hand-offs "
        f"(a thread waiting for the GIL sleeps). Marker: the thread model the runtime's manifest declares, and the "
        f"workers. Claim (e) compares a GIL runtime's threads at ≥ 2 workers, which keep one core busy, with the "
        f"others at that load (their 1-worker runs: full cores cannot vary), and looks for a link within the GIL "
        f"runtimes' runs and the free-threaded control's at ≥ 2 workers."))


def _spread_words(runs: pd.DataFrame) -> str:
    """How a figure's marks sum up the repetitions; a set that ran each configuration once has no spread."""
    keys = [key for key in ("experiment", "language", "mode", "workers", "printed") if key in runs]
    if runs.empty:
        return "Median and min–max over repetitions."
    sizes = runs.groupby(keys, observed=True).size()
    sizes = sizes[sizes > 0]
    if sizes.max() > 1:
        low, high = int(sizes.min()), int(sizes.max())
        return f"Median and min–max over repetitions ({low if low == high else f'{low}–{high}'} runs a mark)."
    return "One run per configuration: each mark is that run, with no spread to show."


def _every_worker_count(results: ResultsSet) -> tuple[tidy.Headline, pd.DataFrame]:
    head = _headline_or_fail(results)
    return head, tidy.headline_runs(results, head, all_workers=True)


def speedup(results: ResultsSet) -> Drawn:
    head, runs = _every_worker_count(results)
    scaling = tidy.scaling(runs)
    if scaling.empty or runs["workers"].nunique() < 2:
        raise NoData(f"experiment '{head.experiment}' needs 1-worker runs and at least one other worker count")
    return Drawn(plots.speedup_efficiency(scaling, results.cores, plots.runtime_palette(results.runs)), (
        f"Speedup (throughput with N workers / median throughput with 1 worker; throughput = iterations per "
        f"second of the program's own clock) and efficiency (speedup / min(N, cores)) in experiment "
        f"'{head.experiment}', on {results.cores} cores. Dashed: ideal (speedup min(N, cores), efficiency 1). "
        f"Lines: median over repetitions; {plots.spread_shown_as(scaling['language'])}: min–max."
        + (_above_ideal(scaling) if (scaling["workload"].astype(str) == "sum").all() else "")))


ABOVE_IDEAL = 1.05   # efficiency beyond which a median is called above the ideal, past rounding


def _above_ideal(scaling: pd.DataFrame) -> str:
    """A sentence on the medians above the ideal, which no program can reach on cores of constant speed."""
    efficiency = scaling[(scaling["measure"] == "efficiency") & (scaling["workers"] > 1)]
    medians = efficiency.groupby(["language", "mode", "workers"], observed=True)["value"].median()
    above = medians[medians > ABOVE_IDEAL]
    if above.empty:
        return ""
    return (f" {len(above)} of {len(medians)} medians at N ≥ 2 workers lie above the ideal (efficiency > "
            f"{ABOVE_IDEAL:g}, at most {above.max():.2f}): sum's loop keeps its data in registers, so more cache "
            f"cannot make N workers do more than N cores' work; most likely the cores ran faster in those runs than "
            f"one core did alone (a VM's host or frequency scaling), as a plain busy loop run outside the lab also "
            f"shows on this VM (README, Profiles).")


def parallelism(results: ResultsSet) -> Drawn:
    head, runs = _every_worker_count(results)
    return Drawn(plots.parallelism(runs, results.cores, plots.runtime_palette(results.runs)), (
        f"Effective parallelism = (user + sys CPU seconds, from wait4) / wall seconds, in experiment "
        f"'{head.experiment}'. Dashed: min(workers, cores), what full use of the {results.cores} cores gives; "
        f"dotted: one core. Start-up time is in the wall time, so short runs of slow-starting runtimes sit "
        f"below the line even when their workers ran in parallel. " + _spread_words(runs)))


def context_switches(results: ResultsSet) -> Drawn:
    head, runs = _every_worker_count(results)
    switches = runs.melt(id_vars=["language", "mode", "workers"], value_vars=["voluntary_per_s", "involuntary_per_s"],
                         var_name="kind", value_name="per_s")
    switches["kind"] = ordered(switches["kind"].str.replace("_per_s", ""), ["voluntary", "involuntary"])
    return Drawn(plots.context_switches(switches, plots.runtime_palette(results.runs)), (
        f"Context switches per second of wall time in experiment '{head.experiment}' (wait4 rusage of the whole "
        f"process tree: ru_nvcsw voluntary — the thread waited, e.g. for a lock or I/O; ru_nivcsw involuntary — "
        f"the scheduler preempted it). Log scale. " + _spread_words(runs) + _perf_switches_included(runs)))


def _perf_switches_included(runs: pd.DataFrame) -> str:
    wrapped = runs["perf_context_switches"].notna() if "perf_context_switches" in runs else pd.Series(False)
    if not wrapped.any():
        return ""
    extra = (runs["ctx_voluntary"] + runs["ctx_involuntary"] - runs["perf_context_switches"])[wrapped]
    return (f" Where perf stat wrapped the program ({int(wrapped.sum())} of these {len(runs)} runs), wait4's counts "
            f"include perf's own process: {extra.median():.0f} switches a run more than perf counted for the "
            f"program alone (median), a visible share for runtimes that switch little; runs.csv's ctx_switches "
            f"is perf's count.")


def migrations(results: ResultsSet) -> Drawn:
    if results.threads.empty:
        raise NoData(results.unreadable.get(THREADS, NO_THREADS))
    _headline_or_fail(results)
    runs, judged_on = tidy.designed_runs(results, MIGRATE_EXPERIMENT)   # what claim (d) judges
    threads = tidy.thread_stats(results, runs)
    busy = threads[threads["busy"]]
    if busy.empty:
        raise NoData(f"no thread samples for the runs of {judged_on}")
    in_window = thread_window_migrations(results, tidy.measured(results), busy)
    busy = busy.merge(in_window[["run_id", "tid", "rate"]], on=["run_id", "tid"], how="left")
    busy = busy.sort_values(["mode", "workers"])   # each mode at each worker count, in that order
    runs_as = busy["mode"].astype(str) + (" · " + busy["workers"].map(tidy.workers_label)
                                          if busy["workers"].nunique() > 1 else "")
    busy = busy.assign(runs=ordered(runs_as, list(dict.fromkeys(runs_as))))
    measures = {"rate": "kernel migrations a second,\ninside the work window", "core_changes": "core changes between "
                "samples,\nover the thread's life"}
    long = busy.melt(id_vars=["language", "runs"], value_vars=list(measures), var_name="measure", value_name="value")
    long["measure"] = ordered(long["measure"].map(measures), list(measures.values()))
    return Drawn(plots.thread_migrations(long, MOVES_PER_S), (
        f"How often the OS moved each busy thread (≥ {tidy.BUSY_THREAD_SHARE:.0%} of its run's busiest thread's CPU: "
        f"the workers) between cores, {judged_on}, every repetition. Left: what claim (d) judges — the kernel's "
        f"count of its migrations (se.nr_migrations) inside the work window, its last reading there less its "
        f"first, a second; dashed, the claim's {MOVES_PER_S:g} a second (a new thread's placement on a core is "
        f"not a move; a thread read fewer than twice inside the window has no mark). Right: how many times the core it last ran on differed from one "
        f"sample to the next (a lower bound: moves and moves back between two samples are not seen)."))


def _threads_and_processes(results: ResultsSet) -> tuple[str, pd.DataFrame]:
    """The headline experiment's runs at every worker count, or, where it ran one mode only (the claims profile's
    `cpu`), the first sum experiment that ran both."""
    head, runs = _every_worker_count(results)
    if runs["mode"].nunique() > 1:
        return head.experiment, runs
    measured = tidy.measured(results)
    measured = measured[measured["workload"] == "sum"]
    both = measured.groupby("experiment", observed=True)["mode"].nunique()
    both = both[both > 1]
    if both.empty:
        return head.experiment, runs
    return str(both.index[0]), measured[measured["experiment"] == both.index[0]]


def memory(results: ResultsSet) -> Drawn:
    experiment, runs = _threads_and_processes(results)
    tree_column, tree_label, tree_source = _tree_memory(runs)
    measures = {"max_rss_mib": "largest process", tree_column: tree_label}
    long = runs.melt(id_vars=["language", "mode", "workers"], value_vars=list(measures), var_name="measure",
                     value_name="mib").dropna(subset=["mib"])
    if long.empty:
        raise NoData("no memory readings: max_rss_bytes is empty (it is the sampler's VmHWM reading: the sampler "
                     "was off, or the set predates that reading)")
    long["measure"] = ordered(long["measure"].map(measures), list(measures.values()))
    return Drawn(plots.peak_memory(long), (
        f"Peak resident memory in experiment '{experiment}' (log scale): top, the largest single process (its VmHWM "
        f"from /proc/<pid>/status, read by the sampler; the cgroup's peak for container runs); bottom, the whole "
        f"tree — what processes mode costs: {tree_source}. " + _spread_words(runs)
        + _single_pss_reading(runs)))


PSS_READ_EVERY_S = 1.0   # the sampler reads a tree's PSS at its first sample, then at most once a second


def _single_pss_reading(runs: pd.DataFrame) -> str:
    """A warning where the tree memory drawn comes from runs too short for a second PSS reading."""
    read = runs[(runs["tree_memory_source"] == "pss") & runs["tree_memory_bytes"].notna()]
    short = int((read["wall_s"] < PSS_READ_EVERY_S).sum())
    if not short:
        return ""
    return (f" {short} of {len(read)} of these runs lasted under {PSS_READ_EVERY_S:g} s: the sampler reads a "
            f"tree's PSS at its first sample, while the runtime starts, once more after the workers (processes or "
            f"threads) have joined the tree (sets from before that reading have the first only) and then once a "
            f"second, so theirs comes from early in the run and can miss a later peak (the claims profile's "
            f"'migrate' runs last 1.5 s).")


TREE_MEMORY_SOURCES = {
    "pss": "the largest sum of its processes' PSS read at one sample (/proc/<pid>/smaps_rollup; a page k processes "
           "share counts 1/k in each, so once in the sum)",
    "cgroup": "the container cgroup's peak (each page charged once, page cache included)",
}


def _tree_memory(runs) -> tuple[str, str, str]:
    """The tree's memory counted once where the set has it; a set from before that reading has only the sum of
    each process's own peak, which counts shared pages once per process, and the caption says so."""
    sources = [str(source) for source in runs["tree_memory_source"].dropna().unique()]
    if sources:
        return "tree_memory_mib", "whole tree, each page once", "; ".join(
            TREE_MEMORY_SOURCES.get(source, source) for source in sorted(sources))
    return ("tree_rss_mib", "whole tree (sum of peaks)", "the sum of every process's own peak (VmHWM), which counts "
            "pages the processes share (libraries, copy-on-write after fork) once per process, so it overstates "
            "the tree (this set predates the PSS reading)")


def startup(results: ResultsSet) -> Drawn:
    head = _headline_or_fail(results)
    runs = tidy.headline_runs(results, head)
    parts = runs.melt(id_vars=["language", "mode"], value_vars=["startup_s", "inner_s"], var_name="part",
                      value_name="time_s")
    names = {"startup_s": "start-up + tear-down (wall − program's clock)", "inner_s": "work (program's own clock)"}
    parts["part"] = ordered(parts["part"].map(names), list(names.values()))
    return Drawn(plots.startup_vs_work(parts), (
        f"Where the wall time of {head.label()} goes: the program's own measure of its work (first worker start "
        f"→ last join) and the rest of the wall time, spent starting and stopping the runtime. In processes mode "
        f"the program's clock starts before its first child, so each child runtime's start-up is in the work "
        f"(and in processes-mode throughput): what a process per worker costs. " + _spread_words(runs)))


def printing(results: ResultsSet) -> Drawn:
    pairs = tidy.print_pairs(results)
    if pairs.empty:
        raise NoData("no sum-print runs with matching sum runs (same language, mode, workers)")
    measures = {"throughput": "iterations / s (log)", "sys_share": "kernel (sys) share of CPU",
                "parallelism": "effective parallelism"}
    pairs = pairs.assign(printed=_printed_to(pairs))
    effect = pairs.melt(id_vars=["language", "mode", "printed"], value_vars=list(measures), var_name="measure",
                        value_name="value")
    effect["measure"] = ordered(effect["measure"].map(measures), list(measures.values()))
    workers = ", ".join(str(w) for w in sorted(pairs["workers"].unique()))
    sinks = {"devnull": "thrown away by the kernel", "pipe": "drained by the lab", "file": "written to a file",
             "tty": "a pseudo-terminal the lab drains as a terminal would, the article's console"}
    printed = [sink for sink in sinks if sink in set(pairs.loc[pairs["workload"] != "sum", "sink"].astype(str))]
    return Drawn(plots.printing_effect(effect), (
        f"What printing every partial sum does, at {workers} workers: sum-print against sum runs of the same "
        f"language, mode and workers, one mark per sink the sums were printed to ("
        + "; ".join(f"{sink}: {sinks[sink]}" for sink in printed) + "). Throughput (log scale), the share of CPU "
        f"time spent in the kernel "
        f"(sys / (user + sys)) and effective parallelism. " + _reader_words(pairs) + _spread_words(pairs)))


def _reader_words(pairs: pd.DataFrame) -> str:
    """How many cores the lab's reader took beside runs printing to a pipe or terminal, which it drains as they
    write: on a machine of few cores, cores their threads could not use."""
    drained = pairs[(pairs["workload"] == "sum-print") & pairs["sink"].astype(str).isin(["pipe", "tty"])]
    cores = (drained["stdout_reader_cpu_s"] / drained["wall_s"]).dropna() if "stdout_reader_cpu_s" in drained \
        else pd.Series(dtype=float)
    if cores.empty:
        return ""
    return (f"A pipe's or terminal's reader (the lab's, reading as a terminal would) runs beside the program: here "
            f"it took {number_range(cores)} cores (median {number(cores.median())}) of the "
            f"{int(pairs['cores'].max())}, which the program's threads could not use. ")


def _printed_to(pairs: pd.DataFrame) -> pd.Series:
    """`sum` for the loop alone, `sum-print → SINK` for each sink the set printed to, in Sink's order."""
    labels = [f"sum-print → {sink.value}" for sink in Sink]
    printed = pairs["workload"].astype(str).where(pairs["workload"] == "sum",
                                                  "sum-print → " + pairs["sink"].astype(str))
    return ordered(printed, ["sum", *labels])


FIGURES: list[tuple[str, str, Callable[[ResultsSet], Drawn]]] = [
    ("task-manager", "Task Manager view: expected vs actual", task_manager),
    ("core-graphs", "Per-core graphs over time", core_graphs),
    ("noise", "Noise against context switches and hand-offs", noise),
    ("exact-task-manager", "Exact Task Manager view (scheduler trace)", exact_task_manager),
    ("speedup", "Speedup and efficiency", speedup),
    ("parallelism", "Effective parallelism", parallelism),
    ("context-switches", "Context switches per second", context_switches),
    ("migrations", "Migrations per thread", migrations),
    ("memory", "Peak memory: threads vs processes", memory),
    ("startup", "Start-up time vs work time", startup),
    ("printing", "sum vs sum-print", printing),
    *WORKLOAD_FIGURES,
    *POOL_FIGURES,
]


def draw_all(results: ResultsSet, folder: Path, dpi: int = 100, figures: list | None = None,
             on_drawn: Callable[[str, float], None] = lambda name, seconds: None) -> list[FigureOutcome]:
    """Draw every figure (of FIGURES, or of `figures`) into folder/<name>.png; a figure without data gets its
    reason as caption, one about runs the set does not have is left out. on_drawn(name, seconds) follows each
    figure drawn (a large set's take seconds each)."""
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for name, title, draw in figures or FIGURES:
        path = folder / f"{name}.png"
        path.unlink(missing_ok=True)  # a figure not drawn this time must not show a stale picture
        started = time.monotonic()
        try:
            drawn = draw(results)
        except NotShown:
            continue
        except NoData as missing:
            outcomes.append(FigureOutcome(name, title, str(missing), None))
            continue
        drawn.figure.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(drawn.figure)
        outcomes.append(FigureOutcome(name, title, drawn.caption, path))
        on_drawn(name, time.monotonic() - started)
    return outcomes
