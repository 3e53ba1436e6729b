"""Per-core and per-thread sampling of one run's process tree, from a process of its own.

Each sample reads the machine's per-core times (/proc/stat) and, once a run is attached, every thread of
the run's process tree: its run time (schedstat), and, when that moved, the core it last ran on (stat)
and its context switches and migrations (sched). A thread's CPU since the previous sample is attributed
to its last core. CPU that the processes' totals hold but no live thread accounts for (threads or children
that ended between samples) is "unplaced": it goes to the core where the departed thread or process was
last seen. /proc is listed for new children only when a pid was allocated somewhere since the last sample;
a process's own stat (thread count, totals) is re-read only then, or when one of its threads or children
ended.

Blind spots, by design:
- A thread or child that lives shorter than one interval is never seen. Its CPU is still counted (a
  process's thread-group total keeps dead threads' time; cutime/cstime keep the children it reaped) but
  it is placed on its process's core, shows in ``unplaced_cpu_s`` and has no row in ``threads``. A child
  whose parent never waits for it, or a grandchild orphaned before it was seen, is lost, as for wait4.
  For totals, trust ``os.wait4``'s rusage.
- A thread's CPU between two samples lands on the core it ran on last, even if it ran on several. Where
  that puts more than a full interval on one core, the excess is carried into the next interval, so
  ``workload_pct`` stays within 0..100 while the totals keep every nanosecond.
- ``system_pct`` is the whole machine's use of a core (anything running, the sampler included);
  ``workload_pct`` is only the part attributed to the run's tree.
- Process totals come in USER_HZ ticks (10 ms), thread run times in ns (in ticks too where the kernel
  has no schedstat), so the tail of a process that ended between samples can be short by a tick or two.
- A thread's core and name are re-read only when it ran CORE_REREAD_MIN_NS or more since the last look,
  and its context switches and migrations then at most once per SWITCH_COUNTERS_MAX_AGE_S, and for all
  threads at ``final()``: in between they can lag, and a thread that ended keeps the counts it had when
  last read.
- When the cores are saturated the sampler can wake late; ``t_s`` is the actual time, percentages are
  over the actual interval, and grid slots that passed meanwhile are skipped rather than bunched.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from polylab import procfs

SAMPLE_COLUMNS = ("t_s", "core", "system_pct", "workload_pct")
THREAD_COLUMNS = ("t_s", "pid", "tid", "name", "core", "cpu_s", "ctx_voluntary", "ctx_involuntary", "migrations")
MIN_HZ, MAX_HZ = 1.0, 50.0
# Reading a thread's run time is the one read per thread per sample. Its core (stat) is re-read only when it
# ran at least CORE_REREAD_MIN_NS since the last look: most threads of a JVM wake for microseconds every few
# ms, and less than that is credited to the core the thread was last seen on. Its scheduler counters (sched,
# the costliest read, ~10 us) are re-read along with its core at most every SWITCH_COUNTERS_MAX_AGE_S.
CORE_REREAD_MIN_NS = 1_000_000
SWITCH_COUNTERS_MAX_AGE_S = 1.0
_REPLY_TIMEOUT_S = 30.0
_NS = 1_000_000_000


@dataclass(frozen=True)
class RunSamples:
    """What the sampler saw of one run; times are seconds since the run's spawn (t0).

    ``samples`` rows follow SAMPLE_COLUMNS (one per sample interval and core, stamped at the interval's
    end), ``threads`` rows follow THREAD_COLUMNS (cumulative values per thread at each sample).
    ``summary`` keys: samples, workload_cpu_s, unplaced_cpu_s, migrations, threads_max, per_core_busy_s,
    sampler_cpu_s, interval_s.
    """

    samples: list[tuple]
    threads: list[tuple]
    summary: dict


class Sampler:
    """The orchestrator's handle on the sampler process; see the module docstring for what it measures.

    The sampler runs in a child process rather than a thread so that the orchestrator's GIL (busy reading
    a run's output, say) never delays a sample, and its own CPU can be measured apart. It is a fresh
    interpreter started with subprocess, not multiprocessing: "fork" would copy the orchestrator's memory,
    threads and open pipes, and "spawn" re-runs the orchestrator's main script. It needs only the standard
    library, and leaves on ``close()`` or when its socket to the orchestrator reaches end-of-file because
    the orchestrator died.
    """

    def __init__(self, hz: float = 10.0):
        if not MIN_HZ <= hz <= MAX_HZ:
            raise ValueError(f"sampling rate must be between {MIN_HZ:g} and {MAX_HZ:g} Hz, got {hz:g}")
        self.interval_s = 1.0 / hz
        self._process = None
        self._connection = None

    @property
    def pid(self) -> int | None:
        """The sampler process's pid, once started."""
        return self._process.pid if self._process else None

    def begin(self) -> None:
        """Start sampling the machine's cores; call it just before spawning the run.

        Returns once the sampler has listed the processes that exist before the run, so that it can tell
        the run's children from them.
        """
        if self._process is None:
            self._start_process()
        self._request(("begin",))

    def attach(self, pid: int, t0: float) -> None:
        """Also sample pid's process tree from now on; t0 is the spawn time on time.monotonic()."""
        self._connection.send(("attach", pid, t0))

    def final(self) -> None:
        """Take the run's last sample now, while its root is still an unreaped zombie."""
        self._request(("final",))

    def end(self) -> RunSamples:
        """Stop sampling this run (taking the last sample if final() was not called) and return it."""
        return RunSamples(*self._request(("end",)))

    def close(self) -> None:
        if self._process is None:
            return
        try:
            self._connection.send(("close",))
        except OSError:
            pass  # the sampler has already gone
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._connection.close()
        self._process = self._connection = None

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start_process(self) -> None:
        own_end, child_end = socket.socketpair()
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        python_path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
        with child_end:
            self._process = subprocess.Popen(
                [sys.executable, "-c", "from polylab.sampler import serve; serve()",
                 str(child_end.fileno()), repr(self.interval_s)],
                pass_fds=[child_end.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": python_path},
            )
        self._connection = Connection(own_end.detach())

    def _request(self, message: tuple):
        self._connection.send(message)
        if not self._connection.poll(_REPLY_TIMEOUT_S):
            raise RuntimeError(f"the sampler did not answer {message[0]!r} within {_REPLY_TIMEOUT_S:g} s")
        try:
            status, payload = self._connection.recv()
        except EOFError:
            raise RuntimeError("the sampler process exited unexpectedly") from None
        if status == "error":
            raise RuntimeError(f"the sampler failed:\n{payload}")
        return payload


def serve() -> None:
    """The sampler process: ``serve FD INTERVAL_S``, FD being its socket to the orchestrator.

    It samples on a fixed grid (start + k * interval, so it never drifts; slots missed while the machine
    was saturated are skipped) and answers the orchestrator's messages between samples.
    """
    connection, interval_s = Connection(int(sys.argv[1])), float(sys.argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the orchestrator's to handle
    _, hard_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard_limit, hard_limit))  # up to 3 open files per thread
    thread_files = procfs.probe_thread_files()
    run = failure = next_due = None
    while True:
        if connection.poll(None if next_due is None else max(0.0, next_due - time.monotonic())):
            try:
                command, *arguments = connection.recv()
            except EOFError:
                return  # the orchestrator has gone: so do we
        else:
            command, arguments = "sample", ()
        try:
            if command == "close":
                return
            if command == "sample":
                now = time.monotonic()
                run.sample(now)
                next_due = run.started + (int((now - run.started) / interval_s) + 1) * interval_s
            elif command == "begin":
                if run:
                    run.close()
                run, failure = _RunRecorder(thread_files, time.monotonic()), None
                next_due = run.started + interval_s
                connection.send(("ok", None))
            elif command == "attach":
                run.attach(*arguments)
            elif failure:
                connection.send(("error", failure))
            else:  # "final" or "end"
                if not run.finished:
                    run.sample(time.monotonic(), final=True)
                    next_due = None
                connection.send(("ok", run.result() if command == "end" else None))
                if command == "end":
                    run.close()
                    run = None
        except Exception:
            failure, next_due = traceback.format_exc(), None
            if command in ("begin", "final", "end"):
                connection.send(("error", failure))


@dataclass(eq=False, slots=True)
class _Thread:
    tid: int
    runtime_file: procfs.PinnedFile
    stat_file: procfs.PinnedFile | None = None
    switches_file: procfs.PinnedFile | None = None
    switches: procfs.SwitchCounters | None = None
    switches_read_at: float = 0.0
    runtime_ns: int = 0
    core: int = 0
    name: str = ""


@dataclass(eq=False, slots=True)
class _Process:
    pid: int
    stat_file: procfs.PinnedFile
    ppid: int
    core: int = 0
    total_ns: int = 0  # own CPU (thread-group total) plus reaped children's, as last read
    attributed_ns: int = 0  # how much of it has been put on cores so far
    threads: dict[int, _Thread] = field(default_factory=dict)
    departed_cores: list[int] = field(default_factory=list)  # of threads and children gone since last placed
    totals_stale: bool = True  # a thread or child ended since total_ns was read (or it never was)


class _RunRecorder:
    """Sampling state of one run, from begin() to end(); all CPU bookkeeping is in integer ns."""

    def __init__(self, thread_files: procfs.ThreadFiles, started: float):
        self.files = thread_files
        self.started = self._t0 = self._last_time = started
        self.finished = False
        self._machine_file = procfs.PinnedFile(f"{procfs.PROC}/stat", 65536)
        self._last_core_ticks = procfs.parse_core_ticks(self._machine_file.read())
        self._loadavg_file = procfs.PinnedFile(f"{procfs.PROC}/loadavg")
        self._newest_pid = procfs.parse_newest_pid(self._loadavg_file.read())
        self._known_pids = procfs.list_pids()
        self._processes: dict[int, _Process] = {}  # insertion order puts parents before their children
        core_slots = os.sysconf("SC_NPROCESSORS_CONF")  # every core that could come online, not just those now
        self._core_backlog_ns = [0] * core_slots
        self._core_busy_ns = [0] * core_slots
        self._sample_rows: list[tuple] = []
        self._thread_rows: list[tuple] = []
        self._tree_sample_times: list[float] = []
        self._migrations_by_tid: dict[int, int | None] = {}
        self._unplaced_ns = self._threads_max = 0
        self._sampler_cpu_at_attach = None
        self._sampler_cpu_s = 0.0

    def attach(self, pid: int, t0: float) -> None:
        self._t0 = t0
        self._sampler_cpu_at_attach = time.process_time()
        stat_file = procfs.PinnedFile.open_if_present(f"{procfs.PROC}/{pid}/stat")
        if stat_file:  # a root that has already gone (not one's own child) leaves an empty tree
            self._processes[pid] = _Process(pid, stat_file, ppid=0)  # its parent is not sampled

    def sample(self, now: float, final: bool = False) -> None:
        core_ticks = procfs.parse_core_ticks(self._machine_file.read())
        attributed_ns = [0] * len(self._core_busy_ns)
        if self._sampler_cpu_at_attach is not None:
            self._sample_tree(now, final, attributed_ns)
            self._tree_sample_times.append(now)
        interval_ns = max(1, int((now - self._last_time) * _NS))
        for core, (busy, total) in core_ticks.items():
            last_busy, last_total = self._last_core_ticks.get(core, (busy, total))
            system_pct = 100.0 * (busy - last_busy) / (total - last_total) if total > last_total else 0.0
            pending_ns = self._core_backlog_ns[core] + attributed_ns[core]
            shown_ns = min(pending_ns, interval_ns)
            self._core_backlog_ns[core] = pending_ns - shown_ns
            self._sample_rows.append((now, core, system_pct, 100.0 * shown_ns / interval_ns))
        self._core_busy_ns = [busy + added for busy, added in zip(self._core_busy_ns, attributed_ns)]
        self._last_time, self._last_core_ticks = now, core_ticks
        if final:
            self.finished = True
            if self._sampler_cpu_at_attach is not None:
                self._sampler_cpu_s = time.process_time() - self._sampler_cpu_at_attach

    def _sample_tree(self, now: float, final: bool, attributed_ns: list[int]) -> None:
        pid_allocated = self._discover_children()
        vanished, threads_alive = [], 0
        for process in self._processes.values():
            known = list(process.threads.values())
            alive = sum(self._sample_thread(process, thread, now, final, attributed_ns) for thread in known)
            # A process's totals hold more than its live threads' run time only once a thread or child has
            # ended, and a child too short to be seen, like a new thread, allocated a pid: else skip the read.
            if process.totals_stale or pid_allocated or final:
                data = process.stat_file.read()
                if data is None:
                    vanished.append(process)
                    continue
                stat = procfs.parse_stat(data)
                process.ppid, process.core, process.totals_stale = stat.ppid, stat.processor, False
                process.total_ns = (stat.cpu_ticks + stat.reaped_children_ticks) * procfs.NS_PER_TICK
                if alive != stat.num_threads:  # threads were born (or one ended and another was born)
                    alive += self._adopt_new_threads(process, now, final, attributed_ns)
            threads_alive += alive
        self._threads_max = max(self._threads_max, threads_alive)
        # Children first, so that a grandchild's account reaches its grandparent through its parent. A parent
        # that reaps a child gets the child's CPU in its cutime: what was already placed is deducted there.
        for process in reversed(vanished):
            self._forget_process(process)
            parent = self._processes.get(process.ppid)
            if parent:
                parent.attributed_ns += process.attributed_ns
                parent.departed_cores.append(process.core)
                parent.totals_stale = True
        for process in self._processes.values():
            self._place_remainder(process, attributed_ns)

    def _discover_children(self) -> bool:
        """Adopt new processes whose parent is in the tree; False if no pid was allocated since last time."""
        newest_pid = procfs.parse_newest_pid(self._loadavg_file.read())
        if newest_pid == self._newest_pid:
            return False  # no process or thread was created anywhere: skip listing /proc
        self._newest_pid = newest_pid
        pids = procfs.list_pids()
        candidates = sorted(pids - self._known_pids)
        self._known_pids = pids
        adopted = True
        while adopted:  # again after adopting, for grandchildren listed before their parent
            adopted = False
            for pid in list(candidates):
                stat_file = procfs.PinnedFile.open_if_present(f"{procfs.PROC}/{pid}/stat")
                data = stat_file.read() if stat_file else None
                ppid = procfs.parse_stat(data).ppid if data else None
                if ppid in self._processes:
                    self._processes[pid] = _Process(pid, stat_file, ppid)
                    candidates.remove(pid)
                    adopted = True
                elif stat_file:
                    stat_file.close()
        return True

    def _adopt_new_threads(self, process, now, final, attributed_ns) -> int:
        adopted = 0
        for tid in set(procfs.list_tids(process.pid)) - process.threads.keys():
            runtime_file = procfs.PinnedFile.open_if_present(self._thread_path(process, tid, self.files.runtime_file))
            if runtime_file:
                thread = process.threads[tid] = _Thread(tid, runtime_file)
                adopted += self._sample_thread(process, thread, now, final, attributed_ns)
        return adopted

    def _sample_thread(self, process, thread, now, final, attributed_ns) -> bool:
        data = thread.runtime_file.read()
        runtime_ns = self.files.parse_runtime(data) if data else None
        delta_ns = 0 if runtime_ns is None else runtime_ns - thread.runtime_ns
        refresh = final or thread.switches is None or delta_ns >= CORE_REREAD_MIN_NS
        if runtime_ns is None or (refresh and not self._refresh_thread(process, thread, now, final)):
            self._forget_thread(process, thread)
            return False
        if delta_ns:
            thread.runtime_ns = runtime_ns
            attributed_ns[thread.core] += delta_ns
            process.attributed_ns += delta_ns
        switches = thread.switches
        self._thread_rows.append(
            (now, process.pid, thread.tid, thread.name, thread.core, runtime_ns,
             switches.voluntary, switches.involuntary, switches.migrations)
        )
        return True

    def _refresh_thread(self, process, thread, now, final) -> bool:
        """Read the thread's core and name, and its switch counters when due; False if it ended meanwhile."""
        if thread.stat_file is None:
            thread.stat_file = procfs.PinnedFile.open_if_present(self._thread_path(process, thread.tid, "stat"))
            thread.switches_file = procfs.PinnedFile.open_if_present(
                self._thread_path(process, thread.tid, self.files.switches_file), 16384
            )
        stat_data = thread.stat_file.read() if thread.stat_file else None
        if stat_data is None:
            return False
        stat = procfs.parse_stat(stat_data)
        thread.core, thread.name = stat.processor, stat.comm
        if final or thread.switches is None or now - thread.switches_read_at >= SWITCH_COUNTERS_MAX_AGE_S:
            switches_data = thread.switches_file.read() if thread.switches_file else None
            if switches_data is None:
                return False
            thread.switches, thread.switches_read_at = self.files.parse_switches(switches_data), now
            self._migrations_by_tid[thread.tid] = thread.switches.migrations
        return True

    @staticmethod
    def _thread_path(process, tid, file_name) -> str:
        return f"{procfs.PROC}/{process.pid}/task/{tid}/{file_name}"

    @staticmethod
    def _forget_thread(process, thread) -> None:
        del process.threads[thread.tid]
        process.departed_cores.append(thread.core)
        process.totals_stale = True
        for file in (thread.runtime_file, thread.stat_file, thread.switches_file):
            if file:
                file.close()

    def _forget_process(self, process) -> None:
        del self._processes[process.pid]
        for thread in list(process.threads.values()):
            self._forget_thread(process, thread)
        process.stat_file.close()

    def _place_remainder(self, process, attributed_ns) -> None:
        """Place CPU that the process's totals hold but no live thread accounted for."""
        remainder_ns = process.total_ns - process.attributed_ns
        if remainder_ns <= 0:
            return  # rounding, or a reaped child's account that its parent's cutime shows next time
        cores = process.departed_cores or [process.core]
        share_ns, left_over_ns = divmod(remainder_ns, len(cores))
        for core in cores:
            attributed_ns[core] += share_ns
        attributed_ns[cores[0]] += left_over_ns
        process.attributed_ns += remainder_ns
        process.departed_cores = []
        self._unplaced_ns += remainder_ns

    def result(self) -> tuple[list, list, dict]:
        """The fields of RunSamples, as plain data for the wire."""
        t0, times = self._t0, self._tree_sample_times
        migrations = list(self._migrations_by_tid.values())
        return (
            [(t - t0, core, system, workload) for t, core, system, workload in self._sample_rows],
            [(row[0] - t0, *row[1:5], row[5] / _NS, *row[6:]) for row in self._thread_rows],
            {
                "samples": len(times),
                "workload_cpu_s": sum(self._core_busy_ns) / _NS,
                "unplaced_cpu_s": self._unplaced_ns / _NS,
                "migrations": None if None in migrations else sum(migrations),
                "threads_max": self._threads_max,
                "per_core_busy_s": [busy / _NS for busy in self._core_busy_ns],
                "sampler_cpu_s": self._sampler_cpu_s,
                "interval_s": statistics.median(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else None,
            },
        )

    def close(self) -> None:
        for process in list(self._processes.values()):
            self._forget_process(process)
        self._machine_file.close()
        self._loadavg_file.close()
