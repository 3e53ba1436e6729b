"""Processes without psutil: /proc readers, a pid pinned to its start time, waiting for processes to end."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Callable, Sequence


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, start time) of a live, non-zombie pid, else None."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])


def proc_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        st = _proc_stat(pid)
        if st:
            children.setdefault(st[0], []).append(pid)
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class Proc:
    """A pid pinned to its start time, so a recycled pid is never signalled."""

    def __init__(self, pid: int):
        self.pid = pid
        st = _proc_stat(pid)
        self.start = st[1] if st else None
        self.name = (proc_cmdline(pid) or ["?"])[0]

    def alive(self) -> bool:
        st = _proc_stat(self.pid)
        return st is not None and st[1] == self.start

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def __repr__(self) -> str:
        return f"{os.path.basename(self.name)}[{self.pid}]"


def wait_gone(procs: Sequence[Proc], timeout: float, reap: Callable[[], None] = lambda: None) -> list[Proc]:
    deadline = time.monotonic() + timeout
    while True:
        reap()
        alive = [p for p in procs if p.alive()]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.1)
