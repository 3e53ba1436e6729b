"""Whether a profile's `trace: sched` can be honoured, said before anything is built (sample/schedtrace.py)."""

from __future__ import annotations

from polylab.config.errors import ConfigError
from polylab.config.experiments import Profile
from polylab.sample import schedtrace


def tracing_notes(profile: Profile, choices, file: str) -> list[str]:
    """Notes for the variants whose runs cannot be traced (containers: local backend only); ConfigError when an
    experiment asks for a trace that perf cannot record here, so no run goes untraced without a word."""
    traced = [experiment.name for experiment in profile.experiments if experiment.trace == schedtrace.SCHED]
    if not traced:
        return []
    local = [choice.key for choice in choices if choice.detection.backend == "local"]
    elsewhere = [choice.key for choice in choices if choice.detection.backend != "local"]
    if local and (problem := schedtrace.problem()) is not None:
        raise ConfigError(file, f"profile '{profile.name}' / experiment '{traced[0]}'", "trace",
                          f"{problem} — set `trace: none`, or see `invoke doctor`")
    return [f"trace: sched (experiment{'s' if len(traced) > 1 else ''} {', '.join(traced)}) records local runs "
            f"only: the container runs of {', '.join(elsewhere)} are not traced"] if elsewhere else []


def doctor_note() -> str:
    """doctor's line on the scheduler trace."""
    problem = schedtrace.problem()
    return "scheduler trace (trace: sched): " + ("available (perf record of sched tracepoints)" if problem is None
                                                 else f"unavailable — {problem}")
