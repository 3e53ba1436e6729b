"""Run totals of a container from its cgroup: CPU user/system and peak memory, read after it exits.

The container is started under a parent cgroup of our own (`--cgroup-parent`). The kernel charges CPU and
memory to every ancestor as it is used, so the parent keeps the totals after the engine removes the
container's cgroup on exit. That works with the engine's `cgroupfs` driver on cgroup v1 (cpuacct, memory)
and on v2; elsewhere (the systemd driver) the totals come from the sampler and the row says so.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from polylab.results.schema import CpuSource, Totals
from polylab.run.backends.engine import engine

ROOT = Path("/sys/fs/cgroup")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@lru_cache(maxsize=1)
def engine_cgroup_driver() -> str:
    done = engine("info", "--format", "{{.CgroupDriver}}")
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _read_keyed(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    return values


class CgroupTotals:
    def __init__(self, relative: str | None):
        self.relative = relative   # e.g. polylab/polylab-1a2b3c, or None when not usable

    @classmethod
    def for_engine(cls, token: str) -> "CgroupTotals":
        return cls(f"polylab/{token}" if engine_cgroup_driver() == "cgroupfs" else None)

    def engine_args(self) -> list[str]:
        return ["--cgroup-parent", f"/{self.relative}"] if self.relative else []

    def _dirs(self) -> list[Path]:
        if not self.relative:
            return []
        candidates = [ROOT / controller / self.relative for controller in ("cpuacct", "cpu,cpuacct", "memory")]
        candidates += [ROOT / self.relative, ROOT / "unified" / self.relative]
        return [path for path in candidates if path.is_dir()]

    def read(self) -> Totals:
        """The container's CPU and peak memory (no switches: a cgroup does not count them); when unreadable,
        no totals at all, and the run's CPU comes from the sampler."""
        totals: dict = {}
        for folder in self._dirs():
            try:
                if (folder / "cpuacct.stat").exists():
                    stat = _read_keyed(folder / "cpuacct.stat")
                    totals.update(user_s=stat["user"] / CLOCK_TICKS, sys_s=stat["system"] / CLOCK_TICKS)
                elif (folder / "cpu.stat").exists() and "user_s" not in totals:
                    stat = _read_keyed(folder / "cpu.stat")
                    if "user_usec" in stat:
                        totals.update(user_s=stat["user_usec"] / 1e6, sys_s=stat["system_usec"] / 1e6)
                for name in ("memory.max_usage_in_bytes", "memory.peak"):
                    if (folder / name).exists():
                        totals["max_rss_bytes"] = int((folder / name).read_text().split()[0])
            except (OSError, KeyError, ValueError):
                continue
        if "user_s" not in totals:   # wait4 only saw the engine's client: its numbers would mislead
            return Totals(user_s=None, sys_s=None, max_rss_bytes=None, ctx_voluntary=None, ctx_involuntary=None,
                          cpu_source=CpuSource.SAMPLER)
        return Totals(user_s=totals["user_s"], sys_s=totals["sys_s"], max_rss_bytes=totals.get("max_rss_bytes"),
                      ctx_voluntary=None, ctx_involuntary=None, cpu_source=CpuSource.CGROUP)

    def remove(self) -> None:
        for folder in self._dirs():
            try:
                folder.rmdir()
            except OSError:
                pass
