"""How each number of the report is obtained, and what the measurement cannot see — written once, shown in
report.html and summary.md."""

from __future__ import annotations

import pandas as pd

from . import tidy
from .load import ResultsSet, thread_models, variant_labels


def methods(results: ResultsSet) -> list[str]:
    machine = results.machine
    ticks = machine.get("clock_ticks_per_s") or 100
    rates = sorted({float(hz) for hz in results.runs["sample_hz"].dropna() if hz > 0})
    rate = " and ".join(f"{hz:g} Hz" for hz in rates) if rates else "— (off in this set)"
    sources = results.runs["cpu_source"].dropna().value_counts() if "cpu_source" in results.runs else pd.Series()
    source_note = ("CPU totals by source (cpu_source): " + ", ".join(f"{name} {count} runs" for name, count in
                                                                     sources.items()) + ". ") if len(sources) else ""
    return [
        "Wall time: the host's monotonic clock from spawn to exit (os.wait4), start-up included.",
        "CPU time and context switches: os.wait4's rusage of the run's process, which includes the "
        "children it waited for — kernel totals that count every thread, however short. user_s = ru_utime, "
        "sys_s = ru_stime, voluntary switches = ru_nvcsw (the thread waited: a lock, I/O, sleep), involuntary = "
        "ru_nivcsw (the scheduler preempted it). Runs in a container take user and sys from the container's "
        "cgroup instead (no context switch counts there), or the sampler's total when the cgroup is "
        "unreadable. Where perf stat can count (local runs; `perf: auto`), the run's totals of context switches "
        "and migrations are perf's, which counts every thread however short (switches_source, "
        "migrations_source); elsewhere switches are wait4's and migrations the sampler's lower bound. "
        + source_note,
        "Peak memory: each process's VmHWM from /proc/<pid>/status, read by the sampler (not ru_maxrss, which on "
        "Linux carries the orchestrator's own peak into every child it forks); `max_rss_bytes` is the largest "
        "single process (the cgroup's peak for container runs). The tree's memory, `tree_memory_bytes`, counts "
        "each page once: the largest sum of its processes' PSS (/proc/<pid>/smaps_rollup) read at one sample, "
        "at most once a second and once more after the workers (processes or threads) have joined the tree "
        "(source pss), or the container cgroup's peak (cgroup); `tree_rss_bytes`, the sum "
        "of every process's own peak, counts shared pages once per process. A process that lived shorter than "
        "one interval is missed; none when sampling is off.",
        "Work time: the program's own clock, from its first worker's start to its last worker's join (the "
        "result file's elapsed_s). Start-up = wall − work (runtime start and tear-down, and child processes' "
        "start in processes mode).",
        "Throughput = iterations / work time (duration mode runs each worker for a fixed time; count mode gives "
        "each worker n iterations). Speedup = throughput / median throughput at 1 worker; efficiency = "
        "speedup / min(workers, cores).",
        "Effective parallelism = (user + sys) / wall. Work-phase parallelism (claims a–c, f): from the samples, "
        "the mean over the work window of the cores the run kept busy; without samples it is only bounded by "
        "(user + sys) / wall and (user + sys) / work time. Work window = [wall − work, wall] (the program's "
        "loop time, placed at the end of the run, as tear-down is short). Measured over its interior: its whole "
        f"sample intervals less the first and the last where it has {tidy.INTERIOR_MIN_INTERVALS} or more, since "
        "tear-down is not nothing (a JVM's is about 0.1 s) and an edge interval holding it, one core idle, "
        "would lower a 1-s run's parallelism by a tenth of a core and lift its per-core spread tenfold.",
        f"Sampling at {rate}, from a separate sampler process: per core, the machine's busy share of each "
        f"interval from /proc/stat (system_pct, counted in USER_HZ ticks of 1/{ticks} s"
        + (f", so one {1000 / rates[0]:g} ms interval moves in steps of {100 * rates[0] / ticks:g} %" if rates else "")
        + "); per thread of the run's process tree, from "
        "/proc/<pid>/task/<tid>/: run time and run-queue wait (schedstat's first two fields, ns: the time it "
        "ran, and the time it was ready to run while no core ran it; stat fields 14–15 utime + stime in ticks, "
        "and no wait, where schedstat is missing), the core it last ran on (stat field 39, processor), context switches and "
        "migrations (sched: nr_voluntary_switches, nr_involuntary_switches, se.nr_migrations; status has no "
        "migrations). A thread's CPU since the previous sample is placed on the core it last ran on: that is "
        "workload_pct. The rest of the machine = system_pct − workload_pct. /proc/stat charges a core's time by the "
        "tick, so a program that sleeps and wakes thousands of times a second (a printing one) shows there as up to "
        "a third of a core more than its threads ran, which no process used: the quiet filter below counts each "
        "process's CPU instead.",
        "Blind spots: a thread or child process shorter than one interval is never seen (its CPU is still in the "
        "process totals and is placed on its process's core, as unplaced_cpu_s); children that exit between two "
        "samples keep the counters they had when last read; a thread's CPU between two samples goes to the last "
        "core it ran on even if it ran on several, so the per-core picture is blurred at the interval's scale; "
        "core changes between samples undercount migrations (a move and a move back are not seen); "
        "system_pct is machine-wide (other programs and the sampler too), workload_pct is only what was "
        "attributed to the run.",
        *_trace_method(results),
        _order_note(results),
        f"Statistics use measured runs only: status ok, warm-ups excluded. Spread is min–max over the "
        f"repetitions, with n; medians are of the repetitions. Busy thread: ≥ {tidy.BUSY_THREAD_SHARE:.0%} of the "
        f"CPU time of its run's busiest thread. Representative run (figures showing one run): the repetition "
        f"nearest the median speed, among the quiet ones when there are any. Quiet run: {tidy.QUIET_NOTE} "
        f"(sets written before schema 6: the cores' busy share less the run's and the lab's, over its work).",
        f"Cores: {results.cores} (the orchestrator's CPU affinity), or a run's `cpus` when it was pinned; "
        "thresholds in the claims are relative to them. The lab assumes nothing of their speed: on a VM or with "
        "frequency scaling a core's speed varies from run to run, and can be lower for one busy core alone than "
        "for each of several busy ones, which puts speedups above their ideal.",
    ]


def interleaved(runs: pd.DataFrame) -> bool:
    """Whether every experiment's measured runs were recorded round by round (repetition numbers never going
    back), as the planner orders them; sets written before it was ran each configuration's back to back."""
    measured = runs[~runs["warmup"].astype(bool)]
    return all(group["rep"].is_monotonic_increasing
               for _, group in measured.groupby("experiment", observed=True, sort=False))


def _order_note(results: ResultsSet) -> str:
    if interleaved(results.runs):
        return ("Run order: within each experiment, warm-ups first, then round by round — repetition 1 of every "
                "runtime and configuration, then repetition 2, and so on — so that a machine whose speed drifts "
                "spreads its drift over every configuration alike instead of into whichever ran during a slow "
                "spell.")
    return ("Run order: each configuration's repetitions ran back to back (this set predates interleaved rounds): "
            "a drift of the machine's speed can fall on one configuration's runs and not on another's, so "
            "ratios between configurations (speedups) carry it too.")


def _trace_method(results: ResultsSet) -> list[str]:
    """How the exact scheduler trace's numbers are obtained, when the set has traced runs."""
    runs = results.runs
    if "trace_events" not in runs or runs["trace_events"].isna().all():
        return []
    lost = int(runs["trace_lost"].fillna(0).sum())
    return [
        "Scheduler trace (trace: sched): perf record -a of the kernel's sched_switch and sched_migrate_task "
        "tracepoints on CLOCK_MONOTONIC, switched on just before the spawn and off after the reap; the run's "
        "events are those of its process tree, followed from the spawned pid through perf's fork records. "
        "trace_switches counts every switch-out of the tree's threads (wait4's count plus each ended task's "
        "last schedules; at least perf stat's); trace_migrations every migration; trace_threads the threads on "
        "a core ≥ 1 ms; trace_migrations_per_busy_thread those threads' migrations per thread. The exact Task "
        "Manager view bins each thread's in → out slices into 10 ms per core. "
        + (f"perf lost {lost} events machine-wide in this set: those counts are lower bounds." if lost else
           "perf lost no events in this set."),
    ]


def machine_facts(machine: dict) -> dict[str, str]:
    """A machine's description as a reader sees it: memory in GiB, a fact it did not expose as 'unknown'."""
    facts = {key: _machine_value(key, value) for key, value in machine.items()}
    if machine.get("memory_bytes"):
        facts["memory_bytes"] = f"{machine['memory_bytes'] / 2**30:.1f} GiB"
    return facts


def machine_table(results: ResultsSet) -> pd.DataFrame:
    rows = [{"key": "profile", "value": results.meta.get("profile", "")},
            {"key": "planned runs", "value": results.meta.get("planned_runs", "")},
            {"key": "recorded runs", "value": len(results.runs)}]
    rows += [{"key": key, "value": value} for key, value in machine_facts(results.machine).items()]
    return pd.DataFrame(rows, columns=["key", "value"])


def _machine_value(key: str, value) -> str:
    """A fact the machine did not expose reads 'unknown': a VM has no governor, and psutil gives its maximum
    frequency as 0.0 (sets written before that was recorded as none)."""
    if value is None or value == "" or (key == "cpu_mhz_max" and value == 0):
        return "unknown"
    return str(value)


def toolchain_table(meta: dict) -> pd.DataFrame:
    """One row per variant: its shown name, folder, backend, toolchain candidate, version, path and the thread
    model its manifest declares (the article's reading for sets that recorded none)."""
    toolchains = meta.get("toolchains", {})
    names, threads = variant_labels(meta, list(toolchains)), thread_models(meta, list(toolchains))
    columns = ["backend", "toolchain", "version", "path"]
    rows = [{"language": names[key], "folder": f"langs/{info.get('lang') or key}",
             **{k: info.get(k, "") for k in columns}, "threads": threads[key]} for key, info in toolchains.items()]
    return pd.DataFrame(rows, columns=["language", "folder", *columns, "threads"])


def experiment_table(meta: dict) -> pd.DataFrame:
    rows = []
    for experiment in meta.get("config", {}).get("experiments", []):
        amount = f"{experiment['seconds']:g} s" if experiment.get("seconds") else f"n = {experiment.get('n')}"
        rows.append({"experiment": experiment.get("name"), "workload": experiment.get("workload"),
                     "modes": ", ".join(experiment.get("modes") or []),
                     "workers": ", ".join(str(w) for w in experiment.get("workers") or []), "amount": amount,
                     "repetitions": experiment.get("repetitions"), "warm-ups": experiment.get("warmup"),
                     "sink": experiment.get("sink"), "sample Hz": experiment.get("sample_hz")})
    return pd.DataFrame(rows)
