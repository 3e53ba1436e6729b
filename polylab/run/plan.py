"""Expand a profile into the ordered list of runs (the matrix)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from polylab.config.experiments import Experiment, Profile
from polylab.config.errors import ConfigError
from polylab.results.schema import Mode, split_key, variant_key


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
    variant: str | None = None      # None: the language's only variant, which bears its name
    trace: str = "none"             # `sched`: recorded by the scheduler trace where it runs locally

    @property
    def key(self) -> str:
        """The variant this run is of, as --langs, meta.json and the lab's choices name it."""
        return variant_key(self.lang, self.variant or self.lang)

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
        return f"{self.experiment}: {self.key} {self.mode} ×{self.workers} {self.workload} {amount} ({kind})"


# variant key → {mode: why that variant cannot run it}; a variant or mode not in it runs (see unsupported_modes)
Unsupported = dict[str, dict[str, str]]


def unsupported_modes(choices) -> Unsupported:
    """The modes each chosen variant cannot run, with why: its manifest's `modes`, or the toolchain version its
    detection found below a mode's `min_version` (langs/README.md section 10)."""
    found = {}
    for choice in choices:
        variant, version = choice.detection.variant, choice.detection.version
        found[choice.key] = {mode.value: problem for mode in Mode
                             if (problem := variant.mode_problem(mode, version)) is not None}
    return found


def left_out_notes(profile: Profile, langs: list[str], unsupported: Unsupported) -> list[str]:
    """One note per variant and mode that some experiment asks for and the variant cannot run, naming the
    experiments that leave it out."""
    experiments: dict[tuple[str, str], list[str]] = {}
    for experiment in profile.experiments:
        for key in [key for key in langs if _named_in(key, experiment.langs)]:
            for mode in experiment.modes:
                if mode in unsupported.get(key, {}):
                    experiments.setdefault((key, mode), []).append(experiment.name)
    return [f"{key}: {mode} mode left out ({unsupported[key][mode]}) in experiment{'s' if len(names) > 1 else ''} "
            f"{', '.join(names)}" for (key, mode), names in experiments.items()]


def _runs_of(experiment: Experiment, key: str, unsupported: dict[str, str]) -> list[RunSpec]:
    lang, variant = split_key(key)
    runs = []
    for mode in [mode for mode in experiment.modes if mode not in unsupported]:
        for workers in experiment.workers:
            base = f"{experiment.name}.{key}.{mode}.w{workers}"   # a one-variant language: ids as before variants
            labels = [(f"warmup{k}", True, k) for k in range(1, experiment.warmup + 1)]
            labels += [(f"r{k}", False, k) for k in range(1, experiment.repetitions + 1)]
            for suffix, warmup, rep in labels:
                runs.append(RunSpec(
                    run_id=f"{base}.{suffix}", experiment=experiment.name, lang=lang,
                    workload=experiment.workload, mode=mode, workers=workers, n=experiment.n,
                    seconds=experiment.seconds, rep=rep, warmup=warmup, timeout_s=experiment.timeout_s,
                    sink=experiment.sink, sample_hz=experiment.sample_hz, perf=experiment.perf,
                    cpus=experiment.cpus, variant=variant, trace=experiment.trace))
    return runs


def interleaved(runs: list[RunSpec]) -> list[RunSpec]:
    """One experiment's runs in rounds: its warm-ups first, then repetition 1 of every variant and configuration,
    then repetition 2, and so on. A machine whose speed drifts (this shared VM: up to 2× between runs, measured) then
    spreads its drift over every configuration alike, rather than into whichever ran during a slow spell; run
    back to back, one configuration's repetitions could all land in one."""
    return sorted(runs, key=lambda run: (not run.warmup, 0 if run.warmup else run.rep))   # stable: order kept within


def _named_in(key: str, langs: tuple[str, ...] | None) -> bool:
    """Whether an experiment's `langs` takes this variant: by its language's name or by its own key."""
    return langs is None or key in langs or split_key(key)[0] in langs


def plan(profile: Profile, langs: list[str], file: str = "experiments.yaml",
         unsupported: Unsupported | None = None) -> list[RunSpec]:
    """Experiments in profile order; within each, its runs interleaved (warm-ups, then round by round of
    repetitions), each round in variant order (keys: `go`, `python:pypy`, as given), mode and workers. A
    variant's `unsupported` modes are left out (left_out_notes says which and why)."""
    runs = []
    for experiment in profile.experiments:
        grouped = [run for key in langs if _named_in(key, experiment.langs)
                   for run in _runs_of(experiment, key, (unsupported or {}).get(key, {}))]
        runs.extend(interleaved(grouped))
    available = len(os.sched_getaffinity(0))
    for experiment in profile.experiments:
        if experiment.cpus and experiment.cpus > available:
            raise ConfigError(file, f"profile '{profile.name}' / experiment '{experiment.name}'", "cpus",
                              f"{experiment.cpus} cores asked for, {available} available here")
    if not runs:
        raise ConfigError(file, f"profile '{profile.name}'", "experiments",
                          f"nothing to run for languages {', '.join(langs) or '(none)'} — check --langs and the "
                          f"experiments' `langs` keys" + ("; the modes they ask for are left out (see the notes)"
                                                          if left_out_notes(profile, langs, unsupported or {}) else ""))
    return runs
