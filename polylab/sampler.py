"""Per-core and per-thread sampling of one run's process tree, from a process of its own.

Every sample reads the machine's per-core times (/proc/stat) and, once a run is attached, every thread of
the run's process tree: its run time, and, when that changed, the core it last ran on, its context
switches and migrations. Each thread's CPU since the previous sample is attributed to its last core; CPU
that no live thread accounts for (threads or children that ended between samples) is "unplaced" and goes
to the core where the departed thread or process was last seen.

Blind spots, by design:
- A thread or child process that lives shorter than one interval is never seen. Its CPU is still counted
  (its process's thread-group total keeps dead threads' time, and a parent's cutime/cstime keeps the
  children it reaped), but it is placed on the core of its process (or of the departed task) and shows
  in ``unplaced_cpu_s``; it has no row in ``threads``. For totals, trust ``os.wait4``'s rusage.
- A child that its parent never waits for is lost from the totals once it is gone, as it is for wait4.
- A thread's CPU between two samples lands on the core it ran on last, even if it ran on several. Where
  that puts more than a full interval on one core, the excess is carried into the next interval, so
  ``workload_pct`` stays within 0..100 while the totals keep every nanosecond.
- ``system_pct`` is the whole machine's use of a core (anything running, the sampler included);
  ``workload_pct`` is only the part attributed to the run's tree.
- Process totals come in USER_HZ ticks of 10 ms (thread run times are in ns where the kernel has
  schedstat), so totals can be short by a few ticks per process.
- Context switches and migrations are re-read only when a thread's run time moved, and at ``final()``:
  a thread that switches without accumulating run time shows stale counts until then, and a thread that
  ended keeps the counts it had when last read.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import statistics
import time
import traceback
from dataclasses import dataclass

from polylab import procfs

SAMPLE_COLUMNS = ("t_s", "core", "system_pct", "workload_pct")
THREAD_COLUMNS = ("t_s", "pid", "tid", "name", "core", "cpu_s", "ctx_voluntary", "ctx_involuntary", "migrations")
MIN_HZ, MAX_HZ = 1.0, 50.0
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
    a run's output, say) never delays a sample, and its own CPU can be measured apart. The child imports
    only the standard library, and leaves when told to, when ``close()`` is called, or when the pipe to
    the orchestrator reaches end-of-file because the orchestrator died.
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
        """Start sampling the machine's cores; call it just before spawning the run."""
        if self._process is None:
            # "spawn" gives a fresh interpreter: nothing of the orchestrator's memory, threads or open pipes.
            context = multiprocessing.get_context("spawn")
            self._connection, child_end = context.Pipe()
            self._process = context.Process(
                target=_serve, args=(child_end, self.interval_s), name="polylab-sampler", daemon=True
            )
            self._process.start()
            child_end.close()
        self._connection.send(("begin",))

    def attach(self, pid: int, t0: float) -> None:
        """Also sample pid's process tree from now on; t0 is the spawn time on time.monotonic()."""
        self._connection.send(("attach", pid, t0))

    def final(self) -> None:
        """Take the run's last sample now, while its root is still an unreaped zombie."""
        self._request(("final",))

    def end(self) -> RunSamples:
        """Stop sampling this run (taking the last sample if final() was not called) and return it."""
        return self._request(("end",))

    def close(self) -> None:
        if self._process is None:
            return
        try:
            self._connection.send(("close",))
        except OSError:
            pass  # the sampler has already gone
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._connection.close()
        self._process = self._connection = None

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

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


def _serve(connection, interval_s: float) -> None:
    """The sampler process: samples on a fixed schedule and answers the orchestrator between samples."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the orchestrator's to handle
    _, hard_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard_limit, hard_limit))  # up to 3 open files per thread
    thread_files = procfs.probe_thread_files()
    run, failure, next_due = None, None, None
    while True:
        timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
        if not connection.poll(timeout):
            try:
                now = time.monotonic()
                run.sample(now)
                # A fixed grid that does not drift; slots missed while the machine was saturated are skipped.
                next_due = run.started + (int((now - run.started) / interval_s) + 1) * interval_s
            except Exception:
                failure, next_due = traceback.format_exc(), None
            continue
        try:
            command, *arguments = connection.recv()
        except EOFError:
            return  # the orchestrator has gone: so do we
        if command == "close":
            return
        try:
            if command == "begin":
                if run:
                    run.close()
                run, failure = _RunRecorder(thread_files, time.monotonic()), None
                next_due = run.started + interval_s
            elif command == "attach":
                run.attach(*arguments)
            elif failure:
                connection.send(("error", failure))
            else:  # "final" or "end"
                if not run.finished:
                    run.sample(time.monotonic(), final=True)
                    next_due = None
                result = run.result() if command == "end" else None
                if command == "end":
                    run.close()
                    run = None
                connection.send(("ok", result))
        except Exception:
            failure, next_due = traceback.format_exc(), None
            if command in ("final", "end"):
                connection.send(("error", failure))


class _Thread:
    __slots__ = ("tid", "runtime_file", "stat_file", "switches_file", "runtime_ns", "core", "name", "switches")

    def __init__(self, tid: int, runtime_file: procfs.PinnedFile):
        self.tid, self.runtime_file = tid, runtime_file
        self.stat_file = self.switches_file = self.switches = None
        self.runtime_ns, self.core, self.name = 0, 0, ""


class _Process:
    __slots__ = ("pid", "stat_file", "ppid", "core", "total_ns", "attributed_ns", "threads", "departed_cores")

    def __init__(self, pid: int, stat_file: procfs.PinnedFile, ppid: int):
        self.pid, self.stat_file, self.ppid = pid, stat_file, ppid
        self.core = self.total_ns = self.attributed_ns = 0
        self.threads: dict[int, _Thread] = {}
        self.departed_cores: list[int] = []


class _RunRecorder:
    """Sampling state of one run, from begin() to end(); all CPU bookkeeping is in integer ns."""

    def __init__(self, thread_files: procfs.ThreadFiles, started: float):
        self.files = thread_files
        self.started = started
        self.finished = False
        self._t0 = started
        self._machine_file = procfs.PinnedFile(f"{procfs.PROC}/stat", 65536)
        core_slots = os.cpu_count() or 1
        self._core_backlog_ns = [0] * core_slots
        self._core_busy_ns = [0] * core_slots
        self._processes: dict[int, _Process] = {}  # insertion order puts parents before their children
        self._known_pids = procfs.list_pids()
        self._sample_rows: list[tuple] = []
        self._thread_rows: list[tuple] = []
        self._tree_sample_times: list[float] = []
        self._unplaced_ns = 0
        self._departed_migrations = 0
        self._threads_max = 0
        self._sampler_cpu_at_attach = None
        self._sampler_cpu_s = 0.0
        self._last_time = started
        self._last_core_ticks = procfs.parse_core_ticks(self._machine_file.read())

    def attach(self, pid: int, t0: float) -> None:
        self._t0 = t0
        self._sampler_cpu_at_attach = time.process_time()
        stat_file = procfs.PinnedFile.open_if_present(f"{procfs.PROC}/{pid}/stat")
        if stat_file is None:
            raise RuntimeError(f"process {pid} had gone before the sampler attached to it")
        self._processes[pid] = _Process(pid, stat_file, ppid=0)  # the orchestrator's, which is not sampled

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
            self._core_busy_ns[core] += attributed_ns[core]
            self._sample_rows.append((now, core, system_pct, 100.0 * shown_ns / interval_ns))
        self._last_time, self._last_core_ticks = now, core_ticks
        if final:
            self.finished = True
            if self._sampler_cpu_at_attach is not None:
                self._sampler_cpu_s = time.process_time() - self._sampler_cpu_at_attach

    def _sample_tree(self, now: float, final: bool, attributed_ns: list[int]) -> None:
        self._discover_children()
        vanished, threads_alive = [], 0
        for process in self._processes.values():
            data = process.stat_file.read()
            if data is None:
                vanished.append(process)
                continue
            stat = procfs.parse_stat(data)
            process.ppid, process.core = stat.ppid, stat.processor
            process.total_ns = (stat.cpu_ticks + stat.reaped_children_ticks) * procfs.NS_PER_TICK
            threads_alive += self._sample_threads(process, stat.num_threads, now, final, attributed_ns)
        self._threads_max = max(self._threads_max, threads_alive)
        # Children first: a parent that reaped a child (or whose own parent reaps it) accounts for its CPU.
        for process in reversed(vanished):
            del self._processes[process.pid]
            for thread in list(process.threads.values()):
                self._forget_thread(process, thread)
            process.stat_file.close()
            parent = self._processes.get(process.ppid)
            if parent:
                parent.attributed_ns += process.attributed_ns
                parent.departed_cores.append(process.core)
        for process in self._processes.values():
            self._place_remainder(process, attributed_ns)

    def _discover_children(self) -> None:
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

    def _sample_threads(self, process, num_threads, now, final, attributed_ns) -> int:
        known = list(process.threads.values())
        alive = sum(self._sample_thread(process, thread, now, final, attributed_ns) for thread in known)
        if alive != num_threads:  # threads were born (or one died and another was born) since last time
            for tid in procfs.list_tids(process.pid):
                if tid not in process.threads:
                    runtime_path = self._thread_path(process, tid, self.files.runtime_file)
                    runtime_file = procfs.PinnedFile.open_if_present(runtime_path)
                    if runtime_file:
                        thread = process.threads[tid] = _Thread(tid, runtime_file)
                        alive += self._sample_thread(process, thread, now, final, attributed_ns)
        return alive

    def _sample_thread(self, process, thread, now, final, attributed_ns) -> bool:
        data = thread.runtime_file.read()
        runtime_ns = self.files.parse_runtime(data) if data else None
        if runtime_ns is not None and (runtime_ns != thread.runtime_ns or final or thread.switches is None):
            runtime_ns = self._refresh_thread(process, thread, runtime_ns)
        if runtime_ns is None:
            self._forget_thread(process, thread)
            return False
        delta_ns = runtime_ns - thread.runtime_ns
        thread.runtime_ns = runtime_ns
        attributed_ns[thread.core] += delta_ns
        process.attributed_ns += delta_ns
        switches = thread.switches
        self._thread_rows.append(
            (now, process.pid, thread.tid, thread.name, thread.core, runtime_ns,
             switches.voluntary, switches.involuntary, switches.migrations)
        )
        return True

    def _refresh_thread(self, process, thread, runtime_ns) -> int | None:
        """Read the thread's core, name and switch counters; None if it ended meanwhile."""
        if thread.stat_file is None:
            thread.stat_file = procfs.PinnedFile.open_if_present(self._thread_path(process, thread.tid, "stat"))
            thread.switches_file = procfs.PinnedFile.open_if_present(
                self._thread_path(process, thread.tid, self.files.switches_file), 16384
            )
        stat_data = thread.stat_file.read() if thread.stat_file else None
        switches_data = thread.switches_file.read() if thread.switches_file else None
        if stat_data is None or switches_data is None:
            return None
        stat = procfs.parse_stat(stat_data)
        thread.core, thread.name = stat.processor, stat.comm
        thread.switches = self.files.parse_switches(switches_data)
        return runtime_ns

    @staticmethod
    def _thread_path(process, tid, file_name) -> str:
        return f"{procfs.PROC}/{process.pid}/task/{tid}/{file_name}"

    def _forget_thread(self, process, thread) -> None:
        del process.threads[thread.tid]
        process.departed_cores.append(thread.core)
        if thread.switches and thread.switches.migrations is not None:
            self._departed_migrations += thread.switches.migrations
        for file in (thread.runtime_file, thread.stat_file, thread.switches_file):
            if file:
                file.close()

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

    def result(self) -> RunSamples:
        t0 = self._t0
        times = self._tree_sample_times
        live_threads = [thread for process in self._processes.values() for thread in process.threads.values()]
        live_migrations = sum(thread.switches.migrations or 0 for thread in live_threads if thread.switches)
        counts_migrations = self.files.switches_file == "sched"
        return RunSamples(
            samples=[(t - t0, core, system, workload) for t, core, system, workload in self._sample_rows],
            threads=[(row[0] - t0, *row[1:5], row[5] / _NS, *row[6:]) for row in self._thread_rows],
            summary={
                "samples": len(times),
                "workload_cpu_s": sum(self._core_busy_ns) / _NS,
                "unplaced_cpu_s": self._unplaced_ns / _NS,
                "migrations": self._departed_migrations + live_migrations if counts_migrations else None,
                "threads_max": self._threads_max,
                "per_core_busy_s": [busy / _NS for busy in self._core_busy_ns],
                "sampler_cpu_s": self._sampler_cpu_s,
                "interval_s": statistics.median(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else None,
            },
        )

    def close(self) -> None:
        for process in self._processes.values():
            for thread in list(process.threads.values()):
                self._forget_thread(process, thread)
            process.stat_file.close()
        self._processes.clear()
        self._machine_file.close()
