"""Load a results set (docs/results-format.md) into typed pandas tables.

Category orders are fixed here, once, so every table and figure agrees on them: languages in the order of
meta.json's `toolchains` (then any other language the runs name, alphabetically), modes [threads,
processes], workloads [sum, sum-print], experiments in the profile's order, statuses from best to worst.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from polylab.results import store

MODES = ["threads", "processes"]
WORKLOADS = ["sum", "sum-print"]
STATUSES = ["ok", "failed", "timeout", "invalid"]

RUN_NUMBERS = ["workers", "n", "seconds", "rep", "sample_hz", "cpus", "wall_s", "inner_s", "startup_s", "user_s",
               "sys_s", "max_rss_bytes", "tree_rss_bytes", "ctx_voluntary", "ctx_involuntary", "parallelism",
               "iterations", "stdout_lines", "stdout_bytes", "exit_code", "samples", "workload_cpu_s",
               "unplaced_cpu_s", "migrations", "threads_max", "sampler_cpu_s", "interval_s"]
RUN_TEXTS = ["run_id", "variant", "toolchain_version", "backend", "sink", "reason", "stderr_tail", "started_at",
             "cpu_source"]
SAMPLE_COLUMNS = ["run_id", "t_s", "core", "system_pct", "workload_pct"]
THREAD_COLUMNS = ["run_id", "t_s", "pid", "tid", "name", "core", "cpu_s", "ctx_voluntary", "ctx_involuntary",
                  "migrations"]


@dataclass(frozen=True)
class ResultsSet:
    """One results folder, loaded: `runs` has every row of runs.jsonl (warm-ups and failures included)."""

    directory: Path
    meta: dict
    runs: pd.DataFrame
    samples: pd.DataFrame
    threads: pd.DataFrame

    @property
    def machine(self) -> dict:
        return self.meta.get("machine", {})

    @property
    def cores(self) -> int:
        """Cores the runs could use: the orchestrator's CPU affinity, else the logical core count."""
        return machine_cores(self.machine)

    @property
    def core_ids(self) -> list[int]:
        """The numbers of those cores, as /proc/stat names them."""
        return usable_core_ids(self.machine)

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def has_samples(self) -> bool:
        return not self.samples.empty


def machine_cores(machine: dict) -> int:
    return len(machine.get("cpu_affinity") or []) or int(machine.get("logical_cores") or 1)


def usable_core_ids(machine: dict) -> list[int]:
    return sorted(machine.get("cpu_affinity") or range(machine_cores(machine)))


def ordered(values, order: list) -> pd.Categorical:
    return pd.Categorical(values, categories=order, ordered=True)


def language_order(meta: dict, seen) -> list[str]:
    declared = list(meta.get("toolchains", {}))
    return declared + sorted(set(str(x) for x in seen if pd.notna(x)) - set(declared))


def experiment_order(meta: dict, seen) -> list[str]:
    declared = [e["name"] for e in meta.get("config", {}).get("experiments", [])]
    return declared + sorted(set(str(x) for x in seen if pd.notna(x)) - set(declared))


def _read_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    frame = pd.read_parquet(path) if path.exists() and path.stat().st_size else pd.DataFrame()
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).astype({"run_id": "object"})
    return frame[columns]


def type_runs(rows: list[dict], meta: dict) -> pd.DataFrame:
    """runs.jsonl rows → one typed frame, every documented column present, plus per-run derived numbers."""
    runs = pd.DataFrame(rows)
    for column in [*RUN_NUMBERS, *RUN_TEXTS, "experiment", "lang", "mode", "workload", "status", "warmup"]:
        if column not in runs:
            runs[column] = np.nan
    for column in RUN_NUMBERS:
        runs[column] = pd.to_numeric(runs[column], errors="coerce").astype("float64")
    runs["workers"] = runs["workers"].astype("Int64")
    runs["rep"] = runs["rep"].astype("Int64")
    runs["warmup"] = runs["warmup"].fillna(False).astype(bool)
    runs["lang"] = ordered(runs["lang"], language_order(meta, runs["lang"]))
    runs["experiment"] = ordered(runs["experiment"], experiment_order(meta, runs["experiment"]))
    runs["mode"] = ordered(runs["mode"], MODES)
    runs["workload"] = ordered(runs["workload"], WORKLOADS)
    runs["status"] = ordered(runs["status"], STATUSES)
    return derive(runs, machine_cores(meta.get("machine", {})))


def derive(runs: pd.DataFrame, machine_cores_count: int) -> pd.DataFrame:
    """Per-run numbers every analysis uses; NaN where an input is missing (failed runs, no sampler)."""
    runs = runs.copy()
    # CPU seconds of the run: wait4 or the container's cgroup; the sampler's total where neither was readable
    cpu = (runs["user_s"] + runs["sys_s"]).fillna(runs["workload_cpu_s"].where(runs["cpu_source"] == "sampler"))
    inner = runs["inner_s"].where(runs["inner_s"] > 0)
    wall = runs["wall_s"].where(runs["wall_s"] > 0)
    runs["cores"] = runs["cpus"].fillna(machine_cores_count).clip(upper=machine_cores_count).astype(int)
    runs["cpu_s"] = cpu
    runs["duration_mode"] = runs["seconds"].notna()
    runs["throughput"] = runs["iterations"] / inner  # iterations per second of the program's own clock
    runs["parallelism_upper"] = cpu / inner  # every CPU second charged to the work phase: an upper bound
    runs["sys_share"] = runs["sys_s"] / cpu.where(cpu > 0)
    runs["voluntary_per_s"] = runs["ctx_voluntary"] / wall
    runs["involuntary_per_s"] = runs["ctx_involuntary"] / wall
    runs["switches_per_s"] = runs["voluntary_per_s"] + runs["involuntary_per_s"]
    runs["max_rss_mib"] = runs["max_rss_bytes"] / 2**20
    runs["tree_rss_mib"] = runs["tree_rss_bytes"] / 2**20
    runs["measured"] = (runs["status"] == "ok") & ~runs["warmup"]
    return runs


def load_results(directory: Path) -> ResultsSet:
    directory = Path(directory)
    meta = store.read_meta(directory)
    runs = type_runs(store.read_runs(directory), meta)
    samples = _read_parquet(directory / "samples.parquet", SAMPLE_COLUMNS)
    threads = _read_parquet(directory / "threads.parquet", THREAD_COLUMNS)
    samples = samples.astype({"t_s": "float64", "core": "int64", "system_pct": "float64", "workload_pct": "float64"})
    # Only the cores the runs could use: on a machine lent in part (a container, taskset) the others are noise.
    samples = samples[samples["core"].isin(usable_core_ids(meta.get("machine", {})))].reset_index(drop=True)
    threads = threads.astype({"t_s": "float64", "core": "int64", "cpu_s": "float64", "tid": "int64",
                              "pid": "int64", "ctx_voluntary": "float64", "ctx_involuntary": "float64",
                              "migrations": "float64"})
    return ResultsSet(directory, meta, runs, samples, threads)
