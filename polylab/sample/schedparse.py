"""The scheduler's events of one run, read from `perf script` text: only those of the run's own process tree.

The recording (sample/schedtrace.py) is machine-wide, so it holds every task's switches and migrations. The
run's tree is found from perf's task records, which perf keeps for every task however the events are set:
PERF_RECORD_FORK(pid:tid):(ppid:ptid) adds a thread or process whose parent thread is in the tree, starting
from the root (the pid the runner spawned); PERF_RECORD_EXIT marks one that ended. An ended thread still
switches out after its exit record (at least its last schedule), so it stays in the tree until its tid is
forked again: a tid the kernel hands out again belongs to the tree only if the tree forks it. With a wrapper root
(perf stat) the root's own threads are left out: they are perf's, not the program's.

Each event becomes one or two rows (EVENT_COLUMNS in results/schema.py):
- `in`: a thread of the tree started running on `cpu`; `out`: it stopped (a switch where both sides are the
  tree's gives both rows). `state` is the state it left in: `R` or `R+` preempted (an involuntary switch),
  anything else (`S` sleeping, `D` waiting on I/O, `X`/`Z` dead) a voluntary one.
- `migrate`: the kernel moved the thread from `from_cpu` to `to_cpu` (`cpu` is where the event fired).
- `fork` / `exit`: a thread or process of the tree began or ended (perf's task records).
Times are seconds since the run's spawn on CLOCK_MONOTONIC, the clock of the runner and the sampler.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from polylab.results.schema import TraceSummary

HEADER = re.compile(r"(?P<tid>-?\d+)(?:/\d+)?\s+\[(?P<cpu>\d+)\]\s+(?P<time>\d+\.\d+):\s+(?P<what>.*)$")
SWITCH = re.compile(r"sched:sched_switch: prev_comm=.* prev_pid=(\d+) prev_prio=-?\d+ prev_state=(\S+) ==> "
                    r"next_comm=.* next_pid=(\d+) next_prio=-?\d+$")
MIGRATE = re.compile(r"sched:sched_migrate_task: comm=.* pid=(\d+) prio=-?\d+ orig_cpu=(\d+) dest_cpu=(\d+)$")
TASK = re.compile(r"PERF_RECORD_(FORK|EXIT)\((\d+):(\d+)\):\((\d+):(\d+)\)")
LOST = re.compile(r"PERF_RECORD_LOST lost (\d+)")
BUSY_THREAD_S = 0.001    # a thread that ran this long or longer counts in trace_threads


@dataclass
class ParsedTrace:
    """The tree's events as rows (EVENT_COLUMNS), how many scheduler events they came from, and perf's lost count."""

    rows: list[tuple]
    sched_events: int
    lost: int


class _Tree:
    """The run's threads as perf's task records reveal them: tid → pid, while each belongs to the tree."""

    def __init__(self, root: int, wrapper: bool):
        self.members: dict[int, int] = {root: root}
        self.excluded = {root} if wrapper else set()   # the wrapper's process: its threads are not the program's
        self.root_unborn = root     # the spawn of the root itself (its parent is the runner) is the run's start

    def fork(self, pid: int, tid: int, parent_tid: int) -> bool:
        """A new task: the tree's when its parent thread is; a tid handed out again to another task leaves it."""
        if tid == self.root_unborn:
            self.root_unborn = None
        elif parent_tid not in self.members:
            self.members.pop(tid, None)
            return False
        self.members[tid] = pid
        return self.pid_of(tid) is not None

    def pid_of(self, tid: int) -> int | None:
        """The thread's process, if the thread is the program's (the wrapper's are not)."""
        pid = self.members.get(tid)
        return None if pid is None or pid in self.excluded else pid


def parse(lines: Iterable[str], root: int, t0: float, wrapper: bool = False) -> ParsedTrace:
    """The rows of the tree rooted at `root` (spawned at monotonic time t0) from `perf script --ns
    --show-task-events --show-lost-events` lines, in time order."""
    tree, rows, sched_events, lost = _Tree(root, wrapper), [], 0, 0
    for line in lines:
        header = HEADER.search(line)
        if header is None:
            continue
        what, cpu, t_s = header["what"], int(header["cpu"]), float(header["time"]) - t0
        if what.startswith("sched:sched_switch"):
            sched_events += _switch(SWITCH.match(what), tree, t_s, cpu, rows)
        elif what.startswith("sched:sched_migrate_task"):
            sched_events += _migrate(MIGRATE.match(what), tree, t_s, cpu, rows)
        elif what.startswith("PERF_RECORD_LOST"):
            found = LOST.match(what)
            lost += int(found[1]) if found else 0
        elif (task := TASK.match(what)) is not None:
            _task(task, tree, t_s, cpu, rows)
    return ParsedTrace(rows, sched_events, lost)


def _switch(found, tree: _Tree, t_s: float, cpu: int, rows: list) -> int:
    if found is None:
        return 0
    prev_tid, state, next_tid = int(found[1]), found[2], int(found[3])
    prev_pid, next_pid = tree.pid_of(prev_tid), tree.pid_of(next_tid)
    if prev_pid is not None:
        rows.append((t_s, cpu, "out", prev_tid, prev_pid, state, None, None))
    if next_pid is not None:
        rows.append((t_s, cpu, "in", next_tid, next_pid, None, None, None))
    return int(prev_pid is not None or next_pid is not None)


def _migrate(found, tree: _Tree, t_s: float, cpu: int, rows: list) -> int:
    if found is None:
        return 0
    tid = int(found[1])
    pid = tree.pid_of(tid)
    if pid is None:
        return 0
    rows.append((t_s, cpu, "migrate", tid, pid, None, int(found[2]), int(found[3])))
    return 1


def _task(found, tree: _Tree, t_s: float, cpu: int, rows: list) -> None:
    kind, pid, tid, parent_tid = found[1].lower(), int(found[2]), int(found[3]), int(found[5])
    counted = tree.fork(pid, tid, parent_tid) if kind == "fork" else tree.pid_of(tid) is not None
    if counted:
        rows.append((t_s, cpu, kind, tid, pid, None, None, None))


def summarize(parsed: ParsedTrace, tracer_cpu_s: float | None = None) -> TraceSummary:
    """The run's totals from its rows: switches (switch-outs), migrations, the threads that ran ≥ 1 ms and the
    migrations per such thread."""
    running_since: dict[int, float] = {}
    on_cpu_s: dict[int, float] = defaultdict(float)
    migrations_of: dict[int, int] = defaultdict(int)
    switches = 0
    for t_s, _cpu, kind, tid, *_ in parsed.rows:
        if kind == "in":
            running_since[tid] = t_s
        elif kind == "out":
            switches += 1
            if tid in running_since:
                on_cpu_s[tid] += t_s - running_since.pop(tid)
        elif kind == "migrate":
            migrations_of[tid] += 1
    busy = [tid for tid, seconds in on_cpu_s.items() if seconds >= BUSY_THREAD_S]
    migrations = sum(migrations_of.values())
    return TraceSummary(
        trace_switches=switches, trace_migrations=migrations, trace_threads=len(busy),
        trace_migrations_per_busy_thread=sum(migrations_of[tid] for tid in busy) / len(busy) if busy else None,
        trace_events=parsed.sched_events, trace_lost=parsed.lost, tracer_cpu_s=tracer_cpu_s)
