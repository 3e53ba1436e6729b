"""`experiments.yaml`: profiles of experiments, validated into frozen records with defaults filled in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from polylab.config.errors import ConfigError
from polylab.config.validation import Fields, load_yaml

WORKLOADS = ("sum", "sum-print")
MODES = ("threads", "processes")
SINKS = ("devnull", "pipe", "file")
BACKENDS = ("local", "container", "auto")
MAX_SAMPLE_HZ = 50.0

# Every experiment setting that a profile's `defaults` or the top-level `defaults` may set, with its default.
SETTING_DEFAULTS = {
    "repetitions": 3,
    "warmup": 0,
    "timeout_s": 120.0,
    "sink": "devnull",
    "sample_hz": 10.0,
    "perf": False,
    "cpus": None,
}


@dataclass(frozen=True)
class Experiment:
    name: str
    workload: str
    modes: tuple[str, ...]
    workers: tuple[int, ...]
    n: int | None
    seconds: float | None
    langs: tuple[str, ...] | None
    repetitions: int
    warmup: int
    timeout_s: float
    sink: str
    sample_hz: float
    perf: bool
    cpus: int | None


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


def _settings(fields: Fields, inherited: dict) -> dict:
    """Read the shared settings of `fields`, falling back to `inherited`."""
    return {
        "repetitions": fields.get("repetitions", "int", inherited["repetitions"], _positive),
        "warmup": fields.get("warmup", "int", inherited["warmup"], _non_negative),
        "timeout_s": fields.get("timeout_s", "number", inherited["timeout_s"], _positive),
        "sink": fields.choice("sink", SINKS, inherited["sink"]),
        "sample_hz": fields.get("sample_hz", "number", inherited["sample_hz"],
                                lambda v: None if 0 <= v <= MAX_SAMPLE_HZ else
                                f"Expected 0 (off) to {MAX_SAMPLE_HZ:g} Hz, got {v:g}"),
        "perf": fields.get("perf", "bool", inherited["perf"]),
        "cpus": fields.get("cpus", "int", inherited["cpus"], _positive),
    }


def _experiment(fields: Fields, name: str, inherited: dict) -> Experiment:
    fields.warn_unknown(["workload", "modes", "workers", "n", "seconds", "langs", *SETTING_DEFAULTS])
    n = fields.get("n", "int", None, _positive)
    seconds = fields.get("seconds", "number", None, _positive)
    if (n is None) == (seconds is None):
        raise fields.error("n", "Set exactly one of 'n' (count mode) or 'seconds' (duration mode)")
    workers = fields.get("workers", "list[int]", check=lambda v: None if v and all(w > 0 for w in v)
                         else "Expected a non-empty list of positive worker counts")
    return Experiment(
        name=name,
        workload=fields.choice("workload", WORKLOADS),
        modes=fields.choices("modes", MODES, MODES),
        workers=workers,
        n=n,
        seconds=seconds,
        langs=fields.get("langs", "list[str]", None),
        **_settings(fields, inherited),
    )


def _profile(fields: Fields, name: str, inherited: dict) -> Profile:
    fields.warn_unknown(["description", "defaults", "experiments"])
    defaults_fields = fields.child("defaults", f"profile '{name}' / defaults")
    defaults_fields.warn_unknown(SETTING_DEFAULTS)
    settings = _settings(defaults_fields, inherited)
    raw = fields.data.get("experiments")
    if not isinstance(raw, dict) or not raw:
        raise fields.error("experiments", "Expected a non-empty mapping of experiment name to settings")
    experiments = tuple(
        _experiment(Fields.of(spec, fields.file, f"profile '{name}' / experiment '{exp_name}'"), str(exp_name),
                    settings)
        for exp_name, spec in raw.items())
    return Profile(name=name, description=fields.get("description", "str", ""), experiments=experiments)


def load_config(path: Path, display: str | None = None) -> Config:
    shown = display or path.name
    top = Fields.of(load_yaml(path, shown), shown, "top level")
    top.warn_unknown(["version", "default_profile", "defaults", "profiles", "backend", "backends", "images"])
    version = top.get("version", "int", 1)
    if version != 1:
        raise top.error("version", f"Expected version 1, got {version}")
    defaults_fields = top.child("defaults", "defaults")
    defaults_fields.warn_unknown(SETTING_DEFAULTS)
    settings = _settings(defaults_fields, SETTING_DEFAULTS)
    raw_profiles = top.data.get("profiles")
    if not isinstance(raw_profiles, dict) or not raw_profiles:
        raise top.error("profiles", "Expected a non-empty mapping of profile name to profile")
    profiles = {str(name): _profile(Fields.of(spec, shown, f"profile '{name}'"), str(name), settings)
                for name, spec in raw_profiles.items()}
    default_profile = top.get("default_profile", "str", next(iter(profiles)),
                              lambda v: None if v in profiles else f"'{v}' is not one of the profiles")
    return Config(
        file=shown,
        default_profile=default_profile,
        profiles=profiles,
        backend=top.choice("backend", BACKENDS, "auto"),
        backends=top.get("backends", "dict[str]", {}, lambda v: next(
            (f"backend of '{lang}' must be one of {', '.join(BACKENDS)}, got {value!r}"
             for lang, value in v.items() if value not in BACKENDS), None)),
        images=top.get("images", "dict[str]", {}),
    )
