"""Long-form tables derived from a loaded results set: one row per observation, categories kept ordered.

Vocabulary used across the analysis:
- measured runs: status ok and not a warm-up;
- headline experiment: the first CPU-bound (`sum`) experiment of the profile, at its largest worker count ≥ 2
  (quick profile: `cpu` at 8 workers) — the article's 8-threads experiment; in a set without `sum` runs (the
  seed profile), its first experiment;
- representative run of a configuration: its measured run nearest the median speed, among its sampled and
  quiet runs when it has any;
- quiet run: a sampled run during which the other programs on the machine (every process outside the run's
  tree and the lab, counted per process from /proc/<pid>/stat by the sampler) used at most QUIET_OTHER_LOAD
  cores. The kernel's own threads are not counted: on a quiet machine their work is mostly the run's (a
  terminal's output is flushed by kworkers); they are reported as kernel_threads_cores. A set written before
  schema 6 has no such count: there, the cores' busy share less the run's and the lab's, over the work window;
- work window of a run: [wall_s − inner_s, wall_s], the program's own loop time placed at the end of the run
  (tear-down is short next to start-up, but not nothing: a JVM's is about 0.1 s). Its window statistics are
  taken over its interior: the whole sample intervals inside it less the first and the last, where there
  are at least INTERIOR_MIN_INTERVALS of them, as an edge interval can hold start-up or tear-down;
- busy thread: a thread with at least a quarter of the CPU time of its run's busiest thread (the workers, not
  the runtime's idle helpers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from polylab.results.schema import ThreadModel

from .load import ResultsSet, host_keys, ordered

BUSY_THREAD_SHARE = 0.25
INTERIOR_MIN_INTERVALS = 5  # a window with this many whole sample intervals is measured without its two edge ones
QUIET_OTHER_LOAD = 0.25  # cores the rest of a shared machine may use during a run's work before it is noisy
QUIET_NOTE = (f"other programs (every process outside the run and the lab, counted per process from /proc/<pid>/stat) "
              f"and a hypervisor (the machine's steal time, from /proc/stat) used ≤ {QUIET_OTHER_LOAD} cores; the "
              f"kernel's own threads, mostly doing the run's own work (kworkers flushing a terminal), do not count")
VIEWS = ["expected (article)", "measured: this run", "measured: rest of machine"]
KEYS = ["lang", "language", "mode", "workload", "workers"]  # lang: the folder; language: its shown name


@dataclass(frozen=True)
class Headline:
    experiment: str
    workers: int

    def label(self) -> str:
        return f"experiment '{self.experiment}' at {workers_label(self.workers)}"


def workers_label(workers) -> str:
    return f"{int(workers)} worker" + ("" if int(workers) == 1 else "s")


def cores_label(cores) -> str:
    return f"on {int(cores)} core" + ("" if int(cores) == 1 else "s")


def measured(results: ResultsSet) -> pd.DataFrame:
    return results.runs[results.runs["measured"]].copy()


def _narrowed(runs: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    return runs[keep] if keep.any() else runs


def headline(results: ResultsSet) -> Headline | None:
    """The experiment of the one-run-per-runtime figures: the first of the CPU-bound (`sum`) ones, in duration mode
    where there is one, as its runs last as long in every language (a fast language's count-mode run can end
    within one sample, and leave its Task Manager panels blank); the most workers it ran with, from 2."""
    runs = measured(results)
    runs = _narrowed(runs, runs["workload"] == "sum")
    runs = _narrowed(runs, runs["duration_mode"])
    if runs.empty:
        return None
    experiment = runs["experiment"].cat.remove_unused_categories().cat.categories[0]
    workers = runs.loc[runs["experiment"] == experiment, "workers"]
    several = workers[workers >= 2]
    return Headline(str(experiment), int((several if not several.empty else workers).max()))


def headline_runs(results: ResultsSet, head: Headline | None, all_workers: bool = False) -> pd.DataFrame:
    runs = measured(results)
    if head is None:
        return runs.iloc[0:0]
    runs = runs[runs["experiment"] == head.experiment]
    return runs if all_workers else runs[runs["workers"] == head.workers]


def designed_runs(results: ResultsSet, experiment: str, *more: str) -> tuple[pd.DataFrame, str]:
    """The measured runs of the experiments designed for a claim (one, or a few that run some languages at more
    worker counts), else the headline experiment's; and which."""
    runs = measured(results)
    designed = runs[runs["experiment"].isin([experiment, *more])]
    if not designed.empty:
        present = set(designed["experiment"])
        found = [name for name in (experiment, *more) if name in present]
        return designed, " and ".join(f"experiment '{name}'" for name in found)
    head = headline(results)
    return headline_runs(results, head), (
        f"the headline {head.label() if head else 'experiment'} (this set has no '{experiment}' experiment, which "
        "the `claims` profile runs to decide this claim)")


def representative(runs: pd.DataFrame, *preferred: set[str]) -> pd.DataFrame:
    """One run per (variant, mode): the one nearest the median speed (throughput; wall time where there is
    none), among the runs in each `preferred` set of run ids in turn, as long as that leaves any."""
    chosen = []
    for _, group in runs.groupby(["language", "mode"], observed=True):
        for ids in preferred:
            narrowed = group[group["run_id"].isin(ids)]
            group = narrowed if not narrowed.empty else group
        speed = group["throughput"] if group["throughput"].notna().all() else group["wall_s"]
        distance = (speed - speed.median()).abs()
        chosen.append(distance.sort_values(kind="stable").index[0])
    return runs.loc[chosen].reset_index(drop=True)


def quiet_runs(results: ResultsSet) -> set[str]:
    """Sampled runs during which the other programs used at most QUIET_OTHER_LOAD cores."""
    window = window_stats(results)
    return set(window.loc[window["other_load_cores"] <= QUIET_OTHER_LOAD, "run_id"])


def panel_labels(runs: pd.DataFrame) -> pd.Series:
    """'Python · threads' labels (the languages' display names), ordered by language then mode."""
    languages, modes = runs["language"].cat.categories, runs["mode"].cat.categories
    order = [f"{language} · {mode}" for language in languages for mode in modes]
    labels = runs["language"].astype(str) + " · " + runs["mode"].astype(str)
    return pd.Series(ordered(labels, order), index=runs.index)


def article_expectation(threads: str, mode: str, workers: int, cores: int) -> list[float]:
    """Per core, the busy share the article expects: one core for the threads of a variant whose manifest
    declares `threads: one-core` (a GIL), else the workers spread evenly over the cores."""
    if threads == ThreadModel.ONE_CORE and mode == "threads":
        return [1.0] + [0.0] * (cores - 1)
    return [min(workers, cores) / cores] * cores


def sample_cells(samples: pd.DataFrame) -> pd.DataFrame:
    """Samples with the interval each one covers: [t_start, t_s], t_start being the previous sample's time."""
    samples = samples.sort_values(["run_id", "core", "t_s"]).copy()
    previous = samples.groupby(["run_id", "core"])["t_s"].shift()
    step = (samples["t_s"] - previous).groupby(samples["run_id"]).transform("median")
    samples["t_start"] = previous.fillna((samples["t_s"] - step.fillna(samples["t_s"])).clip(lower=0.0))
    samples["rest_pct"] = _rest_of_machine(samples)
    return samples


def _rest_of_machine(samples: pd.DataFrame) -> pd.Series:
    """Per core and sample, the busy % beyond the run's own threads. A thread's CPU is placed on the core it last
    ran on, while /proc/stat splits it over the cores it ran on, so per core (system − workload) is over on one
    core and under on another; clipped at 0 core by core, a run alone on the machine would show a quarter of a
    core of phantom load. The cores' differences are therefore scaled to add up to the machine's: Σ system − Σ
    workload over the cores, at least 0."""
    difference = samples["system_pct"] - samples["workload_pct"]
    per_core = difference.clip(0, 100)
    keys = [samples["run_id"], samples["t_s"]]
    machine = difference.groupby(keys).transform("sum").clip(lower=0)
    clipped = per_core.groupby(keys).transform("sum")
    return (per_core * (machine / clipped.where(clipped > 0))).fillna(0.0)


def _window_overlap(cells: pd.DataFrame) -> pd.Series:
    start = (cells["wall_s"] - cells["inner_s"]).clip(lower=0)
    overlap = np.minimum(cells["t_s"], cells["wall_s"]) - np.maximum(cells["t_start"], start)
    return (overlap.clip(lower=0) / (cells["t_s"] - cells["t_start"])).fillna(0)


def _in_window(cells: pd.DataFrame) -> pd.Series:
    """Whole sample intervals inside the work window. Whole: the last sample, taken at exit, can cover a
    sliver of time and swing a mean."""
    width = cells["t_s"] - cells["t_start"]
    full = width >= 0.5 * width.groupby(cells["run_id"]).transform("median")
    return (_window_overlap(cells) > 0.999) & full


def _interior(inside: pd.DataFrame) -> pd.DataFrame:
    """A window's whole intervals less the first and the last, for a run that has at least INTERIOR_MIN_INTERVALS.
    The window's edges are off by the runtime's tear-down, which no program reports: an edge interval that holds
    a JVM's exit, one core idle, lifts a 1-s run's per-core standard deviation from about 1 % to 15 % and lowers
    its parallelism by a tenth of a core."""
    position = inside.groupby("run_id")["t_s"].rank(method="dense")
    intervals = inside.groupby("run_id")["t_s"].transform("nunique")
    return inside[(intervals < INTERIOR_MIN_INTERVALS) | ((position > 1) & (position < intervals))]


def _judged_samples(cells: pd.DataFrame) -> pd.DataFrame:
    """The sample cells a run's work-phase numbers average (window_stats, the claims, the Task Manager's label):
    whole intervals inside its work window, less the edge ones."""
    return _interior(cells[_in_window(cells)])


def core_timeline(results: ResultsSet, runs: pd.DataFrame) -> pd.DataFrame:
    """Long form per (run, view, core, sample): the Task Manager grid of each run, expected beside measured;
    in_window marks the samples that window_stats (and so the claims) average (_judged_samples)."""
    columns = ["run_id", "panel", "view", "core", "t_start", "t_s", "pct", "in_window"]
    if runs.empty or results.samples.empty:
        return pd.DataFrame(columns=columns)
    info = runs[["run_id", "threads", "mode", "workers", "cores", "wall_s", "inner_s"]]
    info = info.assign(panel=panel_labels(runs))
    cells = sample_cells(results.samples[results.samples["run_id"].isin(runs["run_id"])]).merge(info, on="run_id")
    position = {core: index for index, core in enumerate(results.core_ids)}  # a run's cpus are the first ones
    expected_level = [article_expectation(r.threads, str(r.mode), int(r.workers), int(r.cores))[position[r.core]]
                      if position[r.core] < r.cores else 0.0 for r in cells.itertuples()]
    overlap = _window_overlap(cells)
    cells["expected"] = 100 * np.asarray(expected_level) * overlap
    cells["in_window"] = cells.index.isin(_judged_samples(cells).index)
    views = cells.rename(columns={"expected": VIEWS[0], "workload_pct": VIEWS[1], "rest_pct": VIEWS[2]})
    long = views.melt(id_vars=["run_id", "panel", "core", "t_start", "t_s", "in_window"], value_vars=VIEWS,
                      var_name="view", value_name="pct")
    long["view"] = ordered(long["view"], VIEWS)
    long["panel"] = long["panel"].astype(info["panel"].dtype)
    return long[columns]


def window_stats(results: ResultsSet) -> pd.DataFrame:
    """_window_stats, computed once per results set: the claims and figures of one report ask for it a dozen
    times."""
    if "window_stats" not in results.derived:
        results.derived["window_stats"] = _window_stats(results)
    return results.derived["window_stats"].copy()


def _window_stats(results: ResultsSet) -> pd.DataFrame:
    """Per sampled run, over the samples inside its work window: cores in use by the run (mean of Σ workload
    share), how unsteady each core's graph is (standard deviation over time of workload_pct, mean over cores),
    the other programs' use (see the module's quiet run) and the kernel's threads'. Only whole sample intervals
    that lie inside the window count. `waiting_cores`: the run's threads that were ready to run while no core
    ran them, on average over the same samples (run_queue_wait)."""
    columns = ["run_id", "sampled_parallelism", "core_unsteadiness_pct", "other_load_cores", "kernel_threads_cores",
               "waiting_cores", "window_samples"]
    runs = measured(results)
    if results.samples.empty or runs.empty:
        return pd.DataFrame(columns=columns)
    cells = sample_cells(results.samples).merge(runs[["run_id", "wall_s", "inner_s"]], on="run_id")
    inside = _judged_samples(cells)
    per_sample = inside.groupby(["run_id", "t_s"]).agg(workload=("workload_pct", "sum"), rest=("rest_pct", "sum"))
    per_run = per_sample.groupby("run_id").agg(sampled_parallelism=("workload", "mean"),
                                               other_load_cores=("rest", "mean"), window_samples=("workload", "size"))
    per_run[["sampled_parallelism", "other_load_cores"]] /= 100
    per_run["other_load_cores"] = (per_run["other_load_cores"] - lab_own_cores(runs)).clip(lower=0)
    counted = _per_process_cores(runs)
    per_run["other_load_cores"] = _other_load(counted).reindex(per_run.index).fillna(per_run["other_load_cores"])
    per_run["kernel_threads_cores"] = counted["kernel_threads_cpu_s"].reindex(per_run.index)
    unsteady = inside.groupby(["run_id", "core"])["workload_pct"].std().groupby("run_id").mean()
    per_run["core_unsteadiness_pct"] = unsteady
    per_run["waiting_cores"] = run_queue_wait(results.threads, inside)
    return per_run.reset_index()[columns]


def run_queue_wait(threads: pd.DataFrame, judged: pd.DataFrame) -> pd.Series:
    """By run_id: the run's threads' run-queue wait (schedstat's: ready to run, no core running them) from the
    start of its judged samples to their end, over that time — how many more cores the run would have used had
    the machine had them free. A thread's wait only grows, so its value at a time is the largest read by then
    (0 before its first). NaN where the threads table has no wait (a set before schema 9, a kernel without
    schedstat)."""
    span = judged.groupby("run_id").agg(start=("t_start", "min"), end=("t_s", "max"))
    rows = threads[["run_id", "pid", "tid", "t_s", "wait_s"]].merge(span, left_on="run_id", right_index=True)
    if rows.empty or rows["wait_s"].isna().all():
        return pd.Series(float("nan"), index=span.index)
    at_end = rows[rows["t_s"] <= rows["end"] + 1e-9].groupby(["run_id", "pid", "tid"])["wait_s"].max()
    at_start = rows[rows["t_s"] <= rows["start"] + 1e-9].groupby(["run_id", "pid", "tid"])["wait_s"].max()
    waited = at_end.sub(at_start, fill_value=0.0).groupby("run_id").sum(min_count=1)
    return waited.reindex(span.index) / (span["end"] - span["start"])


def _per_process_cores(runs: pd.DataFrame) -> pd.DataFrame:
    """Cores that other programs and the kernel's threads used during each run, by run_id, as the sampler counted
    them per process (NaN in a set written before schema 6), and that a hypervisor took (steal; NaN before 8).
    The cores' own totals cannot tell this: /proc/stat charges time by the tick, and a program that sleeps and
    wakes thousands of times a second (a printing one) shows there as a fifth of a core more than its threads'
    run time, used by no one."""
    wall_s = _by_run(runs, "wall_s")
    return pd.DataFrame({column: _by_run(runs, column) / wall_s
                         for column in ("other_programs_cpu_s", "kernel_threads_cpu_s", "steal_s")})


def counted_other_load(runs: pd.DataFrame) -> pd.Series:
    """Cores other programs and a hypervisor (steal) took during each run, by run_id, from the sampler's per-process
    counts: NaN where it counted none (sampling off, or a set written before schema 6)."""
    return _other_load(_per_process_cores(runs))


def _other_load(counted: pd.DataFrame) -> pd.Series:
    return counted["other_programs_cpu_s"] + counted["steal_s"].fillna(0.0)


def lab_own_cores(runs: pd.DataFrame) -> pd.Series:
    """Cores the lab itself used during each run, by run_id: its sampler, and its stdout reader where it drains a
    pipe or terminal as the program writes (a `file` is read after the run). They show as the rest of the machine
    but are part of the measurement, recorded per run; the reader of a printing run can take a fifth of a core."""
    read_after = runs.set_index("run_id")["sink"].astype(str) == "file"
    reader = _by_run(runs, "stdout_reader_cpu_s").fillna(0.0).where(~read_after, 0.0)
    return (_by_run(runs, "sampler_cpu_s").fillna(0.0) + reader) / _by_run(runs, "wall_s")


def _by_run(runs: pd.DataFrame, column: str) -> pd.Series:
    """A numeric column of the runs by run_id; NaN where a run (or the set's schema) has no value."""
    by_run = runs.set_index("run_id")
    values = by_run[column] if column in by_run else pd.Series(float("nan"), index=by_run.index)
    return pd.to_numeric(values, errors="coerce")


def thread_stats(results: ResultsSet, runs: pd.DataFrame) -> pd.DataFrame:
    """Per thread of the given runs: CPU, kernel migrations, core changes between samples, cores seen, its
    voluntary and involuntary context switches (the last read), busy."""
    columns = [*KEYS, "run_id", "tid", "cpu_s", "migrations", "core_changes", "cores_seen", "voluntary",
               "involuntary", "busy"]
    threads = results.threads[results.threads["run_id"].isin(runs["run_id"])]
    if threads.empty:
        return pd.DataFrame(columns=columns)
    threads = threads.sort_values(["run_id", "pid", "tid", "t_s"])
    previous_core = threads.groupby(["run_id", "pid", "tid"])["core"].shift()
    changed = (threads["core"] != previous_core) & previous_core.notna()
    per_thread = threads.assign(changes=changed.astype(int)).groupby(["run_id", "pid", "tid"]).agg(
        cpu_s=("cpu_s", "max"), migrations=("migrations", "max"), core_changes=("changes", "sum"),
        cores_seen=("core", "nunique"), voluntary=("ctx_voluntary", "max"),
        involuntary=("ctx_involuntary", "max")).reset_index()
    busiest = per_thread.groupby("run_id")["cpu_s"].transform("max")
    per_thread["busy"] = (per_thread["cpu_s"] >= BUSY_THREAD_SHARE * busiest) & (per_thread["cpu_s"] > 0)
    return per_thread.merge(runs[["run_id", *KEYS]], on="run_id")[columns]


def scaling(runs: pd.DataFrame) -> pd.DataFrame:
    """Speedup and efficiency of every measured run against the median 1-worker run of its configuration.

    speedup = throughput / median throughput at 1 worker (throughput = iterations per second of the
    program's clock; in count mode every worker does n iterations, so this is N·time(1)/time(N));
    efficiency = speedup / min(workers, cores), 1 when every core the workers can use is used fully.
    """
    group = ["experiment", "lang", "variant", "mode", "workload", *host_keys(runs)]
    base = runs[runs["workers"] == 1].groupby(group, observed=True)["throughput"].median().rename("base")
    runs = runs.join(base, on=group).dropna(subset=["base"])
    runs = runs.assign(speedup=runs["throughput"] / runs["base"])
    runs["efficiency"] = runs["speedup"] / np.minimum(runs["workers"].astype(float), runs["cores"])
    long = runs.melt(id_vars=["run_id", *group, "language", "workers", "cores"], value_vars=["speedup", "efficiency"],
                     var_name="measure", value_name="value")
    long["measure"] = ordered(long["measure"], ["speedup", "efficiency"])
    return long


def ideal_scaling(measure: str, workers, cores: int):
    workers = np.asarray(workers, dtype=float)
    return np.minimum(workers, cores) if measure == "speedup" else np.ones_like(workers)


def print_pairs(results: ResultsSet) -> pd.DataFrame:
    """Measured sum-print runs with the sum runs of the same language, variant, mode, workers and counting
    mode (duration or count), from the first such sum experiment; long form by workload."""
    runs = measured(results)
    printing = runs[runs["workload"] == "sum-print"]
    match = ["lang", "variant", "mode", "workers", "duration_mode", *host_keys(runs)]
    pieces = []
    for key, group in printing.groupby(match, observed=True):
        candidates = runs[(runs["workload"] == "sum") & (runs[match] == pd.Series(key, index=match)).all(axis=1)]
        if candidates.empty:
            continue
        first = candidates["experiment"].cat.remove_unused_categories().cat.categories[0]
        pieces += [group, candidates[candidates["experiment"] == first]]
    return pd.concat(pieces) if pieces else runs.iloc[0:0]


def spread(values) -> dict:
    """Median and spread of repetitions: n, median, quartiles, min and max (NaN where there is no value)."""
    values = pd.Series(values, dtype="float64").dropna()
    if values.empty:
        return {"n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan, "min": np.nan, "max": np.nan}
    return {"n": int(values.size), "median": float(values.median()), "q1": float(values.quantile(0.25)),
            "q3": float(values.quantile(0.75)), "min": float(values.min()), "max": float(values.max())}

