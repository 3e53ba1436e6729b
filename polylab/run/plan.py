"""Expand a profile into the ordered list of runs (the matrix)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from polylab.config.experiments import Experiment, Profile
from polylab.config.errors import ConfigError


@dataclass(frozen=True)
class RunSpec:
    """One execution of one program. `run_id` is deterministic so that a resumed matrix finds what is done."""

    run_id: str
    experiment: str
    lang: str
    workload: str
    mode: str
    workers: int
    n: int | None
    seconds: float | None
    rep: int
    warmup: bool
    timeout_s: float
    sink: str
    sample_hz: float
    perf: bool
    cpus: int | None

    def contract_args(self, result_path: str) -> list[str]:
        """The workload contract's arguments (langs/README.md)."""
        amount = ["--n", str(self.n)] if self.n is not None else ["--seconds", f"{self.seconds:g}"]
        return ["--workload", self.workload, "--mode", self.mode, "--workers", str(self.workers),
                *amount, "--result", result_path]

    def cpu_list(self) -> str | None:
        """The CPUs a core-limited run is pinned to: the first `cpus` of those this process may use."""
        if not self.cpus:
            return None
        return ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0))[:self.cpus])

    @property
    def label(self) -> str:
        amount = f"n={self.n:,}" if self.n is not None else f"{self.seconds:g}s"
        kind = "warm-up" if self.warmup else f"rep {self.rep}"
        return f"{self.experiment}: {self.lang} {self.mode} ×{self.workers} {self.workload} {amount} ({kind})"


def _runs_of(experiment: Experiment, lang: str) -> list[RunSpec]:
    runs = []
    for mode in experiment.modes:
        for workers in experiment.workers:
            base = f"{experiment.name}.{lang}.{mode}.w{workers}"
            labels = [(f"warmup{k}", True, k) for k in range(1, experiment.warmup + 1)]
            labels += [(f"r{k}", False, k) for k in range(1, experiment.repetitions + 1)]
            for suffix, warmup, rep in labels:
                runs.append(RunSpec(
                    run_id=f"{base}.{suffix}", experiment=experiment.name, lang=lang,
                    workload=experiment.workload, mode=mode, workers=workers, n=experiment.n,
                    seconds=experiment.seconds, rep=rep, warmup=warmup, timeout_s=experiment.timeout_s,
                    sink=experiment.sink, sample_hz=experiment.sample_hz, perf=experiment.perf,
                    cpus=experiment.cpus))
    return runs


def plan(profile: Profile, langs: list[str], file: str = "experiments.yaml") -> list[RunSpec]:
    """Experiments in profile order, then languages in the given order."""
    runs = []
    for experiment in profile.experiments:
        chosen = [lang for lang in langs if experiment.langs is None or lang in experiment.langs]
        for lang in chosen:
            runs.extend(_runs_of(experiment, lang))
    available = len(os.sched_getaffinity(0))
    for experiment in profile.experiments:
        if experiment.cpus and experiment.cpus > available:
            raise ConfigError(file, f"profile '{profile.name}' / experiment '{experiment.name}'", "cpus",
                              f"{experiment.cpus} cores asked for, {available} available here")
    if not runs:
        raise ConfigError(file, f"profile '{profile.name}'", "experiments",
                          f"nothing to run for languages {', '.join(langs) or '(none)'} — check --langs and the "
                          f"experiments' `langs` keys")
    return runs
