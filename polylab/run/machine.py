"""Machine metadata, recorded once per results set so two sets from two machines can be compared."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import psutil

from polylab import __version__


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str:
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def git_commit(repo: Path) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL).stdout.strip()
    return done.stdout.strip() + ("-dirty" if dirty else "")


def describe(repo: Path) -> dict:
    frequency = psutil.cpu_freq()
    return {
        "hostname": platform.node(),
        "cpu_model": cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "cpu_mhz_max": frequency.max if frequency and frequency.max > 0 else None,   # 0.0: not exposed (a VM)
        "memory_bytes": psutil.virtual_memory().total,
        "kernel": platform.release(),
        "os": _read("/etc/debian_version") and f"Debian {_read('/etc/debian_version')}" or platform.platform(),
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or None,
        "clock_ticks_per_s": os.sysconf("SC_CLK_TCK"),
        "python": platform.python_version(),
        "polylab_version": __version__,
        "git_commit": git_commit(repo),
        "in_container": Path("/.dockerenv").exists(),
    }
