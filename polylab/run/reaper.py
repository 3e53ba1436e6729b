"""Make sure no process of a run survives it.

Every run is the leader of its own process group. The orchestrator becomes a child subreaper, so a
grandchild whose parent exits is re-parented to us instead of init: we can kill and reap it too, even when
it has left the run's group (setsid, a daemon's double fork) where a group kill cannot reach it.
"""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager
import signal
import time

import psutil

PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
SETTLE_TIMEOUT_S = 5.0


@contextmanager
def subreaper():
    """Be a child subreaper while the block runs, then what the process was before: a matrix run from a
    longer-lived process (a test session, say) must not leave it adopting the orphans of everything it
    starts afterwards. Where prctl is unavailable the block runs without it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        before = ctypes.c_int(0)
        usable = libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(before), 0, 0, 0) == 0
    except (OSError, AttributeError):
        usable = False
    if usable:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        if usable:
            libc.prctl(PR_SET_CHILD_SUBREAPER, before.value, 0, 0, 0)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def kill_run_group(pgid: int) -> None:
    """SIGKILL every process in the run's group (the leader included, if it is still running)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def reap_group(pgid: int, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """After the leader has been reaped: kill the rest of its group and reap the orphans that came to us."""
    deadline = time.monotonic() + timeout_s
    while _group_exists(pgid) and time.monotonic() < deadline:
        kill_run_group(pgid)
        try:
            while os.waitpid(-pgid, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.005)


def child_pids() -> set[int]:
    """This process's children now. Taken just before a run, it tells the run's escaped processes from ours."""
    return {child.pid for child in psutil.Process().children()}


def reap_escaped(known_children: set[int], timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """After reap_group: kill and reap the processes that left the run's group and were re-parented to us.

    As the subreaper we inherit such a process when its parent dies, so once the run's leader is reaped,
    every child we gained during the run is one of them (nothing else here starts processes meanwhile).
    Each goes with its group; what it had started comes back to us in turn, so repeat until none is new.
    It also serves when a spawn is interrupted: the leader may exist without a Popen to show for it.
    """
    deadline = time.monotonic() + timeout_s
    while (escaped := child_pids() - known_children) and time.monotonic() < deadline:
        for pid in escaped:
            try:
                group = os.getpgid(pid)
                if group == os.getpgrp():     # a child caught between fork and setsid: never kill our own group
                    os.kill(pid, signal.SIGKILL)
                else:
                    os.killpg(group, signal.SIGKILL)          # a group of the run's session, or its own
                os.waitpid(pid, os.WNOHANG)
            except (ProcessLookupError, PermissionError, ChildProcessError):
                pass
        time.sleep(0.005)
