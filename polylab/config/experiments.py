"""`experiments.yaml`: profiles of experiments, validated into frozen records with defaults filled in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cfgv

from polylab.config.errors import ConfigError
from polylab.config.validation import (Across, Named, Record, Section, check_and, check_int,
                                       check_int_list, check_number, check_one_of, check_problem, check_str,
                                       check_str_list, check_str_map, check_type, check_values_from, load_yaml,
                                       str_map, validate)
from polylab.results.schema import Mode, Sink, Workload
from polylab.sample.rates import MAX_HZ, MIN_HZ
from polylab.sample.schedtrace import TRACE_MODES
from polylab.workloads import workload_spec

WORKLOADS = tuple(workload.value for workload in Workload)
MODES = tuple(mode.value for mode in Mode)
SINKS = tuple(sink.value for sink in Sink)
BACKENDS = ("local", "container", "auto")
INT64_MAX = 2 ** 63 - 1     # the contract passes --n as a 64-bit integer
# No CPU core sums faster than this: a loop vectorised with AVX-512 (8 additions per instruction, two or
# three vector additions per cycle, one of them stepping i) at 6 GHz does under 7*10^10 iterations a second,
# and the shipped languages do about 10^9. A count above timeout_s times this can only time out, so it is
# refused before anything runs; anything below it is left to try.
MAX_ITERATIONS_PER_S = 1e11

# Every experiment setting that a profile's `defaults` or the top-level `defaults` may set, with its default.
SETTING_DEFAULTS = {
    "repetitions": 3,
    "warmup": 0,
    "timeout_s": 120.0,
    "sink": "devnull",
    "sample_hz": 10.0,
    "perf": "auto",
    "cpus": None,
    "trace": "none",
}


@dataclass(frozen=True)
class Experiment:
    name: str
    workload: str
    modes: tuple[str, ...]          # those asked for, else every mode the workload runs in
    workers: tuple[int, ...]
    n: int | None
    seconds: float | None
    langs: tuple[str, ...] | None
    repetitions: int
    warmup: int
    timeout_s: float
    sink: str
    sample_hz: float
    perf: bool          # wrap local runs in perf stat where it can count (`auto`, `true`), or never (`false`)
    cpus: int | None
    trace: str = "none"     # `sched`: an exact scheduler trace of each local run (sample/schedtrace.py)
    left_out: tuple[str, ...] = ()  # modes the workload does not run in, each with why (when none were asked for)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    experiments: tuple[Experiment, ...]


@dataclass(frozen=True)
class Config:
    file: str
    default_profile: str
    profiles: dict
    backend: str
    backends: dict
    images: dict

    def profile(self, name: str | None) -> Profile:
        name = name or self.default_profile
        if name not in self.profiles:
            raise ConfigError(self.file, "profiles", name,
                              f"unknown profile '{name}'; known: {', '.join(self.profiles)}")
        return self.profiles[name]


def _positive(value) -> str | None:
    return None if value > 0 else f"Expected a positive value, got {value}"


def _non_negative(value) -> str | None:
    return None if value >= 0 else f"Expected zero or more, got {value}"


def _sample_rate(hz) -> str | None:
    """0 turns sampling off; otherwise the sampler's own limits."""
    return None if hz == 0 or MIN_HZ <= hz <= MAX_HZ else \
        f"Expected 0 (off) or {MIN_HZ:g} to {MAX_HZ:g} Hz, got {hz:g}"


def _within_int64(n) -> str | None:
    return None if n <= INT64_MAX else f"Expected at most {INT64_MAX} (the largest 64-bit integer), got {n}"


def _one_mode(spec: dict) -> str | None:
    return None if ("n" in spec) != ("seconds" in spec) else \
        "Set exactly one of 'n' (count mode) or 'seconds' (duration mode)"


def count_fits_timeout(n: int, timeout_s: float) -> str | None:
    """A count that no core could loop through within the timeout is a mistake (see MAX_ITERATIONS_PER_S)."""
    if n <= timeout_s * MAX_ITERATIONS_PER_S:
        return None
    return (f"{n} iterations cannot finish within timeout_s ({timeout_s:g} s), even at {MAX_ITERATIONS_PER_S:.0e} "
            "iterations/s (faster than any CPU core): lower n or raise timeout_s")


check_perf = check_type("auto or bool", lambda value: isinstance(value, bool) or value == "auto")


def _number(check):
    """A check of a number as the record will hold it: a float."""
    return check_and(check_number, check_problem(lambda value: check(float(value))))


# Settings that an experiment, its profile's `defaults` and the top-level `defaults` may set; they cascade
# (experiment > profile > top level > SETTING_DEFAULTS), so none has a default of its own here.
SETTINGS = (
    cfgv.OptionalNoDefault("repetitions", check_and(check_int, check_problem(_positive))),
    cfgv.OptionalNoDefault("warmup", check_and(check_int, check_problem(_non_negative))),
    cfgv.OptionalNoDefault("timeout_s", _number(_positive)),
    cfgv.OptionalNoDefault("sink", check_one_of(SINKS)),
    cfgv.OptionalNoDefault("sample_hz", _number(_sample_rate)),
    cfgv.OptionalNoDefault("perf", check_perf),
    cfgv.OptionalNoDefault("cpus", check_and(check_int, check_problem(_positive))),
    cfgv.OptionalNoDefault("trace", check_one_of(TRACE_MODES)),
)
EXPERIMENT = Record(
    cfgv.OptionalNoDefault("n", check_and(check_int, check_problem(_positive), check_problem(_within_int64))),
    cfgv.OptionalNoDefault("seconds", _number(_positive)),
    Across("n", _one_mode),
    cfgv.Required("workers", check_and(check_int_list, check_problem(
        lambda workers: None if workers and all(w > 0 for w in workers) else
        "Expected a non-empty list of positive worker counts"))),
    cfgv.Required("workload", check_one_of(WORKLOADS)),
    cfgv.OptionalNoDefault("modes", check_values_from(MODES)),   # default: the workload's (polylab/workloads)
    cfgv.OptionalNoDefault("langs", check_str_list),
    *SETTINGS,
)
PROFILE = Record(
    Section("defaults", Record(*SETTINGS)),
    Named("experiments", "experiment", EXPERIMENT, "Expected a non-empty mapping of experiment name to settings"),
    cfgv.Optional("description", check_str, ""),
)
CONFIG = Record(
    cfgv.Optional("version", check_and(check_int, check_problem(
        lambda version: None if version == 1 else f"Expected version 1, got {version}")), 1),
    Section("defaults", Record(*SETTINGS)),
    Named("profiles", "profile", PROFILE, "Expected a non-empty mapping of profile name to profile"),
    cfgv.OptionalNoDefault("default_profile", check_str),
    Across("default_profile", lambda config: None if config.get("default_profile", next(iter(config["profiles"])))
           in config["profiles"] else f"'{config['default_profile']}' is not one of the profiles"),
    cfgv.Optional("backend", check_one_of(BACKENDS), "auto"),
    cfgv.Optional("backends", check_and(check_str_map, check_problem(lambda backends: next(
        (f"backend of '{lang}' must be one of {', '.join(BACKENDS)}, got {value!r}"
         for lang, value in backends.items() if value not in BACKENDS), None))), {}),
    cfgv.Optional("images", check_str_map, {}),
)


def _settings(spec: dict, inherited: dict) -> dict:
    """The settings `spec` sets, over those it inherits."""
    settings = {**inherited, **{key: spec[key] for key in SETTING_DEFAULTS if key in spec}}
    return {**settings, "timeout_s": float(settings["timeout_s"]), "sample_hz": float(settings["sample_hz"]),
            "perf": settings["perf"] is not False}


def _experiment(file: str, profile: str, name: str, spec: dict, inherited: dict) -> Experiment:
    settings = _settings(spec, inherited)
    workload = workload_spec(spec["workload"])
    asked = tuple(spec["modes"]) if "modes" in spec else None
    unfit = workload.setting_problem(asked, tuple(spec["workers"]), spec.get("n"))
    if unfit:
        raise ConfigError(file, f"profile '{profile}' / experiment '{name}'", *unfit)
    modes, left_out = workload.modes_for(asked)
    if "n" in spec:
        problem = count_fits_timeout(spec["n"], settings["timeout_s"])
        if problem:
            raise ConfigError(file, f"profile '{profile}' / experiment '{name}'", "n", problem)
    return Experiment(
        name=name,
        workload=spec["workload"],
        modes=modes,
        workers=tuple(spec["workers"]),
        n=spec.get("n"),
        seconds=float(spec["seconds"]) if "seconds" in spec else None,
        langs=tuple(spec["langs"]) if "langs" in spec else None,
        **settings,
        left_out=left_out,
    )


def _profile(file: str, name: str, spec: dict, inherited: dict) -> Profile:
    settings = _settings(spec.get("defaults", {}), inherited)
    experiments = tuple(_experiment(file, name, experiment, experiment_spec, settings)
                        for experiment, experiment_spec in spec["experiments"].items())
    return Profile(name=name, description=spec["description"], experiments=experiments)


def load_config(path: Path, display: str | None = None) -> Config:
    shown = display or path.name
    config = validate(load_yaml(path, shown), CONFIG, shown)
    settings = _settings(config.get("defaults", {}), SETTING_DEFAULTS)
    profiles = {name: _profile(shown, name, spec, settings) for name, spec in config["profiles"].items()}
    return Config(
        file=shown,
        default_profile=config.get("default_profile", next(iter(profiles))),
        profiles=profiles,
        backend=config["backend"],
        backends=str_map(config["backends"]),
        images=str_map(config["images"]),
    )
