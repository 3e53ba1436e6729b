"""One run's process tree as the sampler process follows it: its processes and threads, their CPU placed on
cores, each process's peak memory and the tree's memory counted once (PSS). What this sees and what it misses
is told in polylab.sample.sampler.

All CPU bookkeeping is in integer ns; times are on time.monotonic().
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from polylab.results.schema import SWITCH_COUNTERS_MAX_AGE_S
from polylab.sample import procfs

# Reading a thread's run time is the one read per thread per sample. Its core (stat) is re-read only when it
# ran at least CORE_REREAD_MIN_NS since the last look: most threads of a JVM wake for microseconds every few
# ms, and less than that is credited to the core the thread was last seen on. Its scheduler counters (sched,
# the costliest read, ~10 us) are re-read along with its core at most every SWITCH_COUNTERS_MAX_AGE_S.
CORE_REREAD_MIN_NS = 1_000_000
# A process's peak resident set (VmHWM in status, ~10 us like sched) is read at most every PEAK_RSS_MAX_AGE_S,
# and only if it ran since: its memory grows only by its own page faults. In between, the current resident
# set that every stat read gives raises the peak.
PEAK_RSS_MAX_AGE_S = 1.0
# The tree's memory counted once is the sum of its processes' PSS, all read at one sample (smaps_rollup). That
# read walks the process's page tables, ~65 ns per resident page (4 ms for 64 MB here), so the tree is read
# at most every PEAK_RSS_MAX_AGE_S, and less often when one reading costs more than PSS_CPU_SHARE_MAX of the time
# until the next. The workers (processes or threads, each with its own memory: a JVM, a Node.js isolate) are
# what the reading is for, yet they mostly start after the first sample: the first sample at which none has
# joined since the last reading reads it again, an extra reading outside the budget and the periodic times, at
# most once every PEAK_RSS_MAX_AGE_S (a 0.5 s Java run read one JVM's 36 MB, not its three JVMs' 75 MB). Both
# modes get it, so that neither is read earlier in its run than the other.
PSS_CPU_SHARE_MAX = 0.005


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
    status_file: procfs.PinnedFile | None
    ppid: int
    core: int = 0
    total_ns: int = 0  # own CPU (thread-group total) plus reaped children's, as last read
    attributed_ns: int = 0  # how much of it has been put on cores so far
    threads: dict[int, _Thread] = field(default_factory=dict)
    departed_cores: list[int] = field(default_factory=list)  # of threads and children gone since last placed
    totals_stale: bool = True  # a thread or child ended since total_ns was read (or it never was)
    peak_rss_bytes: int | None = None  # of its current program, as far as seen
    address_space: tuple[int, int, int] | None = None  # of its current program: a new one means it exec'd
    peak_read_at: float = float("-inf")  # when VmHWM was last read
    attributed_ns_at_peak_read: int = -1  # unchanged since: it has not run, so its peak has not grown
    wrapper: bool = False  # runs the program (perf stat): its CPU counts, its threads and memory are not the program's

    @classmethod
    def open(cls, pid: int, stat_file: procfs.PinnedFile, ppid: int) -> _Process:
        return cls(pid, stat_file, procfs.PinnedFile.open_if_present(f"{procfs.PROC}/{pid}/status", 16384), ppid)

    def note_stat(self, stat: procfs.TaskStat) -> None:
        """Raise the peak to the current resident set that a stat read of the process or a thread gave.

        A child seen between its fork and its exec still maps its parent's pages: once it has exec'd, what was
        noted of it before is forgotten, and its new program's peak is read at once.
        """
        if any(stat.address_space):  # else it has exited
            if self.address_space not in (None, stat.address_space):
                self.peak_rss_bytes, self.peak_read_at, self.attributed_ns_at_peak_read = None, float("-inf"), -1
            self.address_space = stat.address_space
        if stat.rss_bytes > (self.peak_rss_bytes or 0) and not self.wrapper:
            self.peak_rss_bytes = stat.rss_bytes

    def read_peak_rss(self, now: float) -> None:
        data = self.status_file.read() if self.status_file else None
        peak_bytes = procfs.parse_peak_rss(data) if data else None
        if peak_bytes is not None:  # else it has exited: the last reading while it lived stands
            # The latest reading, not the largest: after an exec the address space, and its peak, are new.
            self.peak_rss_bytes = peak_bytes
        self.peak_read_at, self.attributed_ns_at_peak_read = now, self.attributed_ns


class ProcessTree:
    """The processes and threads of one run, from its root down; none that existed at its creation is adopted.

    Create it just before the run is spawned, attach() its root, then sample() it on every tick.
    """

    def __init__(self, thread_files: procfs.ThreadFiles):
        self.files = thread_files
        self._loadavg_file = procfs.PinnedFile(f"{procfs.PROC}/loadavg")
        self._newest_pid = procfs.parse_newest_pid(self._loadavg_file.read())
        self._known_pids = procfs.list_pids()
        self._processes: dict[int, _Process] = {}  # insertion order puts parents before their children
        self._thread_rows: list[tuple] = []
        self._migrations_by_tid: dict[int, int | None] = {}
        self._departed_peaks: list[int] = []  # peak_rss_bytes of the processes that have gone
        self._pss_due_at = float("-inf")
        self._joined_since_pss = False   # a process or thread joined the tree since its PSS was last read
        self._joined_read_at = float("-inf")
        self.tree_pss_peak_bytes: int | None = None  # the largest Σ PSS read at one sample
        self.unplaced_ns = self.threads_max = 0
        self.pids_followed: set[int] = set()  # every process of the run seen, gone or not

    def attach(self, pid: int, wrapper: bool = False) -> None:
        """Follow pid's tree; a wrapper root (perf stat) is followed for the CPU its reaped child hands it, but its
        own threads, their counters and its memory are left out."""
        stat_file = procfs.PinnedFile.open_if_present(f"{procfs.PROC}/{pid}/stat")
        if stat_file:  # a root that has already gone (not one's own child) leaves an empty tree
            self._processes[pid] = _Process.open(pid, stat_file, ppid=0)  # its parent is not sampled
            self.pids_followed.add(pid)
            self._processes[pid].wrapper = wrapper

    def sample(self, now: float, final: bool, attributed_ns: list[int]) -> None:
        """Add the tree's CPU since the last sample to attributed_ns, per core."""
        count = len(self._processes)
        pid_allocated = self._discover_children()
        joined_now = len(self._processes) > count
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
                process.note_stat(stat)
                if alive != stat.num_threads:  # threads were born (or one ended and another was born)
                    born = self._adopt_new_threads(process, now, final, attributed_ns)
                    alive, joined_now = alive + born, joined_now or born > 0
            if process.wrapper:
                continue
            threads_alive += alive
            if final or (now - process.peak_read_at >= PEAK_RSS_MAX_AGE_S
                         and process.attributed_ns != process.attributed_ns_at_peak_read):
                process.read_peak_rss(now)
        self.threads_max = max(self.threads_max, threads_alive)
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
        joined_due = (self._joined_since_pss and not joined_now
                      and now - self._joined_read_at >= PEAK_RSS_MAX_AGE_S)   # once the joining has paused
        self._joined_since_pss |= joined_now
        if self._processes and (final or now >= self._pss_due_at):
            self._read_tree_pss(now)
        elif self._processes and joined_due:   # an extra reading: the periodic ones keep their times
            self._read_tree_pss(now, periodic=False)
            self._joined_read_at = now

    def _read_tree_pss(self, now: float, periodic: bool = True) -> None:
        """Sum the PSS of every live process of the tree, read together so that the sum is of one moment; a
        periodic reading sets when the next is due."""
        started = time.process_time()
        readings = [procfs.read_memory_map_file(f"{procfs.PROC}/{process.pid}/smaps_rollup")
                    for process in self._processes.values() if not process.wrapper]
        pss = [procfs.parse_pss(data) for data in readings if data]
        known = [value for value in pss if value is not None]
        if known:
            self.tree_pss_peak_bytes = max(self.tree_pss_peak_bytes or 0, sum(known))
        if periodic:
            cost_s = time.process_time() - started
            self._pss_due_at = now + max(PEAK_RSS_MAX_AGE_S, cost_s / PSS_CPU_SHARE_MAX)
        self._joined_since_pss = False

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
                    self._processes[pid] = _Process.open(pid, stat_file, ppid)
                    self.pids_followed.add(pid)
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
        runtime_ns, wait_ns = self.files.parse_runtime(data) if data else (None, None)
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
        if not process.wrapper:
            self._thread_rows.append(
                (now, process.pid, thread.tid, thread.name, thread.core, runtime_ns,
                 switches.voluntary, switches.involuntary, switches.migrations, wait_ns)
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
        process.note_stat(stat)
        if final or thread.switches is None or now - thread.switches_read_at >= SWITCH_COUNTERS_MAX_AGE_S:
            switches_data = thread.switches_file.read() if thread.switches_file else None
            if switches_data is None:
                return False
            thread.switches, thread.switches_read_at = self.files.parse_switches(switches_data), now
            if not process.wrapper:
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
        if process.peak_rss_bytes is not None:
            self._departed_peaks.append(process.peak_rss_bytes)
        for file in (process.stat_file, process.status_file):
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
        self.unplaced_ns += remainder_ns

    def thread_rows(self, t0: float) -> list[tuple]:
        """Rows of schema.THREAD_COLUMNS, times in seconds since t0."""
        return [(row[0] - t0, *row[1:5], row[5] / procfs.NS_PER_S, *row[6:9],
                 None if row[9] is None else row[9] / procfs.NS_PER_S) for row in self._thread_rows]

    def migrations(self) -> int | None:
        """All threads' migrations as last read; None where the kernel does not count them."""
        migrations = list(self._migrations_by_tid.values())
        return None if None in migrations else sum(migrations)

    def peak_rss(self) -> tuple[int | None, int | None]:
        """(the largest single process's peak, the sum of every process's peak), None where none was seen."""
        live = [process.peak_rss_bytes for process in self._processes.values()]
        peaks = self._departed_peaks + [peak for peak in live if peak is not None]
        return (max(peaks), sum(peaks)) if peaks else (None, None)

    def close(self) -> None:
        for process in list(self._processes.values()):
            self._forget_process(process)
        self._loadavg_file.close()
