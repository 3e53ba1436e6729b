"""A fake but realistic results set in the documented format (docs/results-format.md), for the analysis tests.

The machine has 2 cores and is sampled at 10 Hz. Each language has a start-up time and a per-core loop speed;
in the work phase a run keeps min(workers, cores) cores busy, except Python threads (the GIL): one core's
worth, handed back and forth between the cores at every sample, with many voluntary switches. Printing
(sum-print) cuts throughput and moves CPU into the kernel. Contract 2's workloads, when a scenario asks for
them, behave as synthetic_workloads.py says. Everything is drawn from a seeded generator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labpaths import load_by_path

contract_2 = load_by_path("polylab_tests_analysis_synthetic_workloads", Path(__file__).parent / "synthetic_workloads.py")

CORES, HZ = 2, 10.0
LANGS = ("csharp", "go", "java", "python")
# per-core iterations/s, start-up s, extra start-up per child process s, idle runtime threads, RSS MiB
PROFILE = {
    "csharp": (6e8, 0.06, 0.05, 3, 30.0),
    "go": (1e9, 0.005, 0.004, 3, 5.0),
    "java": (8e8, 0.30, 0.25, 8, 45.0),
    "python": (2.5e7, 0.04, 0.03, 0, 10.0),
}
DISPLAY = {"csharp": "C#", "go": "Go", "java": "Java", "python": "Python"}  # the manifests' display names
TOOLCHAINS = {"csharp": ("mono", "6.8.0.105"), "go": ("go", "1.22.2"), "java": ("openjdk", "17.0.15"),
              "python": ("cpython", "3.11.7")}


@dataclass(frozen=True)
class Scenario:
    langs: tuple = LANGS
    reps: int = 3
    workers: tuple = (1, 2, 4, 8)
    samples: bool = True
    gil: bool = True  # False: Python threads run in parallel, as on a free-threaded build
    print_slows: bool = True  # False: sum-print behaves like sum
    speed: float = 1.0  # multiplies every loop speed (to compare two sets)
    noise: float = 0.02  # relative spread of throughputs between repetitions
    failures: bool = True  # one timed-out run, one warm-up and one skipped language
    seed: int = 1
    machine: dict = field(default_factory=dict)  # overrides of meta.json's machine
    displays: bool = True  # False: meta.json's toolchains without display names, as sets written before them
    workloads: tuple = ()  # contract 2's workloads to add (contract_2.CONTRACT_2: all), each its own experiment
    behaviour: object = contract_2.Behaviour()  # how the runtimes behave in them
    hosts: dict = field(default_factory=dict)  # host name → speed factor: a set run on these hosts, merged


def _experiments(scenario: Scenario) -> list[dict]:
    common = {"modes": ["threads", "processes"], "n": None, "seconds": 1.0, "langs": None, "warmup": 0,
              "repetitions": scenario.reps, "timeout_s": 60.0, "sink": "devnull",
              "sample_hz": HZ if scenario.samples else 0.0, "perf": False, "cpus": None}
    return [{"name": "cpu", "workload": "sum", "workers": list(scenario.workers), **common},
            {"name": "print", "workload": "sum-print", "workers": [max(scenario.workers)], **common, "sink": "tty"},
            *contract_2.experiments(scenario.workloads, common)]


def _meta(scenario: Scenario, experiments: list[dict], planned: int) -> dict:
    machine = {"hostname": "synthetic", "cpu_model": "Synthetic CPU", "logical_cores": CORES, "physical_cores": CORES,
               "cpu_affinity": list(range(CORES)), "cpu_mhz_max": 0.0, "memory_bytes": 8 * 2**30,
               "kernel": "6.1.0-synthetic", "os": "Debian 12.11", "governor": None, "clock_ticks_per_s": 100,
               "python": "3.11.7", "polylab_version": "0.1.0", "git_commit": "0" * 40, "in_container": False,
               **scenario.machine}
    toolchains = {lang: {**({"display": DISPLAY[lang]} if scenario.displays else {}), "backend": "local",
                         "variant": TOOLCHAINS[lang][0], "path": f"/usr/bin/{lang}", "version": TOOLCHAINS[lang][1],
                         "build": "f" * 64} for lang in scenario.langs}
    skipped = {"rust": "cargo not found — apt-get install cargo"} if scenario.failures else {}
    return {"schema_version": 1, "polylab_version": "0.1.0", "profile": "quick", "config_file": "experiments.yaml",
            "config": {"description": "synthetic", "experiments": experiments}, "planned_runs": planned,
            "machine": machine, "toolchains": toolchains, "skipped": skipped}


class _Run:
    """One synthetic run: its runs.jsonl row and, when sampled, its samples and threads rows."""

    def __init__(self, rng, scenario, experiment, lang, mode, workers, rep, warmup=False):
        speed, startup, per_child, idle_threads, rss = PROFILE[lang]
        self.rng, self.lang, self.mode, self.workers = rng, lang, mode, workers
        printing = experiment["workload"] == "sum-print" and scenario.print_slows
        self.gil = lang == "python" and mode == "threads" and scenario.gil
        self.capacity = 1.0 if self.gil else float(min(workers, CORES))
        self.base_startup = startup
        self.startup = startup + (per_child * workers if mode == "processes" else 0.0)
        self.inner = (experiment["seconds"] or 0.05) + 0.002 * workers
        self.level = 0.97 * (0.75 if printing else 1.0)  # share of the capacity the loop keeps busy
        slowdown = (4.0 if lang == "python" else 60.0) if printing else 1.0
        wobble = rng.normal(1.0, scenario.noise)
        self.throughput = speed * scenario.speed * self.capacity * self.level * wobble / slowdown
        work_cpu = self.capacity * self.level * self.inner
        startup_cpu = self.startup * (1.5 if lang == "java" else 1.0)
        sys_share = 0.45 if printing else 0.02
        self.wall = self.startup + self.inner + 0.01
        oversubscribed = workers > CORES and not (lang == "go" and mode == "threads")
        voluntary = (900.0 if self.gil else 30.0) * self.wall
        involuntary = (150.0 if self.gil else 250.0 * CORES if oversubscribed else 10.0) * self.wall
        self.row = {
            "run_id": f"{experiment['name']}.{lang}.{mode}.w{workers}." + (f"warmup{rep}" if warmup else f"r{rep}"),
            "experiment": experiment["name"], "lang": lang, "variant": TOOLCHAINS[lang][0],
            "toolchain_version": TOOLCHAINS[lang][1], "backend": "local", "workload": experiment["workload"],
            "mode": mode, "workers": workers, "n": experiment["n"], "seconds": experiment["seconds"], "rep": rep,
            "warmup": warmup, "sink": experiment["sink"], "sample_hz": experiment["sample_hz"], "cpus": None,
            "started_at": "2026-01-01T00:00:00", "wall_s": self.wall,
            "user_s": (work_cpu + startup_cpu) * (1 - sys_share), "sys_s": (work_cpu + startup_cpu) * sys_share,
            "max_rss_bytes": int(rss * (1.1 if mode == "processes" else 1.0 + 0.02 * workers) * 2**20),
            "tree_rss_bytes": int(rss * (1.1 * (workers + 1) if mode == "processes" else 1.0 + 0.02 * workers)
                                  * 2**20),
            "ctx_voluntary": int(voluntary), "ctx_involuntary": int(involuntary), "exit_code": 0,
            "stderr_tail": "", "cpu_source": "wait4", "checksum_ok": True, "inner_s": self.inner,
            "runtime": {"name": lang, "version": TOOLCHAINS[lang][1]},
            "iterations": int(self.throughput * self.inner), "worker_elapsed_s": [self.inner] * workers,
            "startup_s": self.wall - self.inner, "status": "ok", "reason": None}
        self.row["parallelism"] = (self.row["user_s"] + self.row["sys_s"]) / self.wall
        self.idle_threads = idle_threads

    def _phase_overlap(self, start: float, end: float) -> tuple[float, float]:
        """Fractions of [start, end] spent in start-up and in the work phase."""
        width = end - start
        startup = max(0.0, min(end, self.startup) - start) / width
        work = max(0.0, min(end, self.startup + self.inner) - max(start, self.startup)) / width
        return startup, work

    def sample(self) -> tuple[list[tuple], list[tuple]]:
        rng, run_id = self.rng, self.row["run_id"]
        times = list(np.arange(1, int(self.wall * HZ) + 1) / HZ) + [self.wall]
        busy_threads = max(1, min(self.workers, CORES)) if self.lang == "go" and self.mode == "threads" \
            else self.workers
        threads = [{"pid": 1000 if self.mode == "threads" else 1001 + i, "tid": 1001 + i, "cpu": 0.0, "vol": 0,
                    "invol": 0, "mig": 0, "core": int(rng.integers(CORES))} for i in range(busy_threads)]
        idle = [{"pid": 1000, "tid": 2000 + i, "cpu": 0.0, "vol": 0, "invol": 0, "mig": 0, "core": 0}
                for i in range(self.idle_threads + 1)]
        sample_rows, thread_rows, start, holder = [], [], 0.0, 0
        for t in times:
            startup, work = self._phase_overlap(start, t)
            if self.gil:  # one core's worth, split unevenly between the cores as the GIL changes hands
                holder = 1 - holder
                split = rng.uniform(0.15, 0.85)
                shares = [split, 1 - split] if holder else [1 - split, split]
            else:
                shares = [self.capacity / CORES] * CORES
            for core in range(CORES):
                noise = rng.normal(0, 0.02)
                workload = 100 * np.clip(work * self.level * shares[core] + noise * work
                                         + (0.9 * startup if core == 0 else 0), 0, 1)
                rest = rng.uniform(2, 8)
                sample_rows.append((run_id, t, core, min(100.0, workload + rest), workload))
            for thread in threads:
                thread["cpu"] += (t - start) * work * self.capacity * self.level / len(threads)
                thread["vol"] += int(rng.poisson(900 / HZ / len(threads) if self.gil else 2))
                thread["invol"] += int(rng.poisson(25 if self.workers > CORES else 1))
                moves = int(rng.poisson(3 if self.gil or self.workers > CORES else 0.3))
                thread["mig"] += moves
                if moves:
                    thread["core"] = int(rng.integers(CORES))
            idle[0]["cpu"] += (t - start) * startup * 0.9 * self.base_startup / self.startup
            for thread in threads + idle:
                thread_rows.append((run_id, t, thread["pid"], thread["tid"], self.lang, thread["core"], thread["cpu"],
                                    thread["vol"], thread["invol"], thread["mig"]))
            start = t
        return sample_rows, thread_rows


def write_results_set(directory: Path, scenario: Scenario = Scenario()) -> Path:
    if scenario.hosts:
        return _write_hosts_set(Path(directory), scenario)
    directory = Path(directory)
    (directory / "raw").mkdir(parents=True, exist_ok=True)
    (directory / "parts").mkdir(exist_ok=True)
    rng = np.random.default_rng(scenario.seed)
    experiments = _experiments(scenario)
    runs = []
    for experiment in experiments:
        for workers in experiment["workers"]:
            for lang in scenario.langs:
                for mode in experiment["modes"]:
                    if scenario.failures and experiment["name"] == "cpu" and workers == 1 and lang == "go":
                        runs.append(_Run(rng, scenario, experiment, lang, mode, workers, 1, warmup=True))
                    runs += [_Run(rng, scenario, experiment, lang, mode, workers, rep)
                             for rep in range(1, scenario.reps + 1)]
    for run in runs:
        if run.row["workload"] in contract_2.CONTRACT_2:
            contract_2.shape(run.row, PROFILE[run.lang][0] * scenario.speed, CORES, run.gil,
                             rng.normal(1.0, scenario.noise), scenario.behaviour)
    rows = [run.row for run in runs]
    if scenario.failures:
        lang = "java" if "java" in scenario.langs else scenario.langs[0]
        failed = next(r for r in rows if r["run_id"] == f"cpu.{lang}.processes.w{max(scenario.workers)}.r1")
        failed.update(status="timeout", reason="killed after the 60 s timeout", wall_s=60.0, inner_s=None,
                      startup_s=None, iterations=None, checksum_ok=False, exit_code=-9, parallelism=0.02)
    samples, threads = [], []
    if not scenario.samples:  # peak memory is the sampler's reading
        for row in rows:
            row.update(max_rss_bytes=None, tree_rss_bytes=None)
    if scenario.samples:
        for run in runs:
            if run.row["status"] == "ok" and run.row["sample_hz"]:
                sample_rows, thread_rows = run.sample()
                samples += sample_rows
                threads += thread_rows
                run.row.update(samples=len(sample_rows) // CORES, interval_s=1 / HZ, migrations=0,
                               workload_cpu_s=run.row["user_s"] + run.row["sys_s"], unplaced_cpu_s=0.0)
    pd.DataFrame(samples, columns=["run_id", "t_s", "core", "system_pct", "workload_pct"]).to_parquet(
        directory / "samples.parquet", index=False)
    pd.DataFrame(threads, columns=["run_id", "t_s", "pid", "tid", "name", "core", "cpu_s", "ctx_voluntary",
                                   "ctx_involuntary", "migrations"]).to_parquet(directory / "threads.parquet",
                                                                                 index=False)
    with open(directory / "runs.jsonl", "w") as handle:
        for row in rows:
            handle.write(json.dumps({"schema_version": 1, **row}) + "\n")
    (directory / "meta.json").write_text(json.dumps(_meta(scenario, experiments, len(rows)), indent=2))
    return directory


def _write_hosts_set(directory: Path, scenario: Scenario) -> Path:
    """A set run on scenario.hosts as `invoke all --hosts` leaves it: each host's own set (the scenario at that
    host's speed, its own seed and hostname) in hosts/<host>/, merged by polylab's own merge."""
    from dataclasses import replace

    from polylab.hosts.merge import merge
    from polylab.results import store
    records = {}
    for number, (host, speed) in enumerate(scenario.hosts.items()):
        machine = {**scenario.machine, "hostname": host}
        write_results_set(directory / "hosts" / host, replace(scenario, hosts={}, speed=scenario.speed * speed,
                                                              seed=scenario.seed + 100 * number, machine=machine))
        records[host] = {"name": host, "ssh": f"lab@127.0.0.{number + 2}:2222", "label": f"synthetic {host}",
                         "status": "ok", "reason": None}
    request = {"profile": "quick", "langs": None, "backend": None, "strict": False, "config": None,
               "commit": "0" * 40, "set_id": "synthetic"}
    store.write_meta(directory, {"profile": "quick", "hosts_request": request, "hosts": records})
    merge(directory)
    return directory
