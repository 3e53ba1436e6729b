"""Mounts: unmount everything below a directory before deleting it, and tmpfs mounts when RAM allows."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from .common import Log, stderr_log


def _mounts_under(root: Path, include_root: bool = True) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    out = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[1])
        if mp.startswith(prefix) or (include_root and mp == str(root)):
            out.append(mp)
    return sorted(set(out), key=lambda p: p.count("/"), reverse=True)


def unmount_under(root: Path, log: Log = stderr_log, include_root: bool = True) -> list[str]:
    """Unmount everything mounted below (and, with include_root, at) `root`, deepest first.
    Returns what is still mounted."""
    for _ in range(3):
        mounts = _mounts_under(root, include_root)
        if not mounts:
            return []
        for mp in mounts:
            r = subprocess.run(["umount", mp], capture_output=True, text=True)
            if r.returncode != 0:
                r = subprocess.run(["umount", "-l", mp], capture_output=True, text=True)
            log(f"unmounted {mp}" if r.returncode == 0 else f"could not unmount {mp}: {r.stderr.strip()}")
    return _mounts_under(root, include_root)


def remove_tree(root: Path, log: Log = stderr_log) -> None:
    """rm -rf `root`, but only after nothing is mounted below it (never descend into /proc, /sys, /dev)."""
    if not root.exists():
        return
    left = unmount_under(root, log)
    if left:
        log(f"NOT deleting {root}: still mounted below it: {left}")
        return
    shutil.rmtree(root, ignore_errors=True)


def mem_available_mb() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def mount_tmpfs(path: Path, size: str, switch: str, log: Log, mode: str = "0755",
                min_avail_mb: int = 4096) -> bool:
    """Mount a tmpfs at `path` if RAM allows and env `switch` is not "0". False: stay on disk."""
    if os.environ.get(switch, "1") == "0":
        return False
    avail = mem_available_mb()
    if avail < min_avail_mb:
        log(f"only {avail} MB RAM available: {path} stays on disk")
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode={mode}", "polylab-test", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"cannot mount a tmpfs at {path} ({r.stderr.strip()}): it stays on disk")
        return False
    return True
