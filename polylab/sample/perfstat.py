"""Kernel counters for a whole run from ``perf stat``: task clock, context switches, migrations.

perf counts every thread and child of the command in the kernel, so it sees what sampling misses (threads
shorter than an interval, migrations of threads that ended): where it can count, the run's totals of
migrations and switches come from it (results/schema.py `run_totals`). Local runs are wrapped by default
(`perf: auto`); perf's own process is then the run's root, which the sampler follows as a wrapper: for the CPU
it collects from the program as it reaps it, not for its own threads and memory. Hardware counters are not
asked for: many virtual machines do not support them.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from polylab.results.schema import PerfCounters

# duration_time is perf's own wall clock for the command: an external timer for the lab's wall time.
EVENTS = ("task-clock", "context-switches", "cpu-migrations", "duration_time")


@functools.cache
def available() -> bool:
    """perf is on PATH and may count software events here (perf_event_paranoid can forbid it)."""
    if shutil.which("perf") is None:
        return False
    try:
        probe = subprocess.run(["perf", "stat", "-x", ",", "-e", "task-clock", "true"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def wrap(argv: list[str], out_path: str | Path) -> list[str]:
    """argv run under perf stat, which writes its counts as CSV to out_path when the command ends."""
    return ["perf", "stat", "-x", ",", "-e", ",".join(EVENTS), "-o", str(out_path), "--", *argv]


def parse(out_path: str | Path) -> PerfCounters:
    """The run's counters from perf's CSV; None where an event was not counted.

    A CSV line is "value,unit,event,...", value being "<not supported>" or "<not counted>" when the
    event could not be counted; an event may carry a modifier such as ":u" when only user space counts.
    perf gives task-clock in msec and duration_time in ns.
    """
    counts: dict[str, float | None] = dict.fromkeys(EVENTS)
    for line in Path(out_path).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        value, _unit, event = line.split(",")[:3]
        event = event.split(":")[0]
        if event in counts and not value.startswith("<"):
            counts[event] = float(value)
    task_clock_ms = counts["task-clock"]
    return PerfCounters(
        perf_task_clock_s=None if task_clock_ms is None else task_clock_ms / 1000,
        perf_context_switches=_whole(counts["context-switches"]),
        perf_cpu_migrations=_whole(counts["cpu-migrations"]),
        perf_duration_s=None if counts["duration_time"] is None else counts["duration_time"] / 1e9,
    )


def _whole(count: float | None) -> int | None:
    return None if count is None else round(count)
