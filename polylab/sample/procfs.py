"""Parsing and cheap re-reading of the Linux /proc files the sampler needs.

Process CPU counters in ``stat`` are in USER_HZ ticks (``CLOCK_TICKS`` per second, 100 on Linux): one tick
is 10 ms, so they move in 10 ms steps. A thread's ``schedstat`` gives its run time in nanoseconds. Memory sizes
are converted to bytes: ``stat`` counts pages, ``status`` kB.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass

PROC = "/proc"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NS_PER_S = 1_000_000_000
NS_PER_TICK = NS_PER_S // CLOCK_TICKS
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# Fields of /proc/<pid>/stat, numbered as in proc(5); numbering restarts after the ")" that closes comm.
_FIRST_FIELD_AFTER_COMM = 3
_PPID, _UTIME, _STIME, _CUTIME, _CSTIME, _NUM_THREADS, _RSS, _PROCESSOR = 4, 14, 15, 16, 17, 20, 24, 39
_STARTCODE, _ENDCODE, _STARTSTACK = 26, 27, 28
_FLAGS, _STARTTIME = 9, 22
_PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread


@dataclass(frozen=True)
class TaskStat:
    """What /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat says about a process or a thread.

    In a process's file ``cpu_ticks`` (utime + stime) is the thread group's total, which keeps the time of
    threads that have exited; in a thread's file it is that thread's own. ``reaped_children_ticks``
    (cutime + cstime) is the CPU of the children the process has waited for, and of their reaped children.
    ``processor`` is the core the task last ran on. ``rss_bytes`` is the resident set of the address space
    the task runs in, shared by all threads of a process; 0 once the process has exited. ``address_space``
    (where its code and stack start and end) changes when the process execs a program (with address-space
    randomisation, even the same one again); it is all zeros once the process has exited.
    """

    comm: str
    state: str
    ppid: int
    cpu_ticks: int
    reaped_children_ticks: int
    num_threads: int
    rss_bytes: int
    processor: int
    address_space: tuple[int, int, int]
    kernel_thread: bool
    start_ticks: int  # when it started, in ticks since boot: with the pid, it names the process for good


@dataclass(frozen=True)
class SwitchCounters:
    """Cumulative context switches and CPU migrations of one thread; migrations is None where unknown."""

    voluntary: int
    involuntary: int
    migrations: int | None


def parse_stat(data: bytes) -> TaskStat:
    # comm may hold spaces and parentheses: it runs from the first "(" to the *last* ")".
    open_paren = data.index(b"(")
    close_paren = data.rindex(b")")
    fields = data[close_paren + 2 :].split()

    def field(number: int) -> int:
        return int(fields[number - _FIRST_FIELD_AFTER_COMM])

    return TaskStat(
        comm=data[open_paren + 1 : close_paren].decode("utf-8", "replace"),
        state=fields[0].decode(),
        ppid=field(_PPID),
        cpu_ticks=field(_UTIME) + field(_STIME),
        reaped_children_ticks=field(_CUTIME) + field(_CSTIME),
        num_threads=field(_NUM_THREADS),
        rss_bytes=field(_RSS) * PAGE_SIZE,
        processor=field(_PROCESSOR),
        address_space=(field(_STARTCODE), field(_ENDCODE), field(_STARTSTACK)),
        kernel_thread=bool(field(_FLAGS) & _PF_KTHREAD),
        start_ticks=field(_STARTTIME),
    )


def parse_schedstat(data: bytes) -> tuple[int, int]:
    """(run time, run-queue wait) in ns from /proc/<pid>/task/<tid>/schedstat ("runtime_ns wait_ns timeslices"):
    the wait is the time the thread was ready to run while no core ran it."""
    runtime, wait = data.split(None, 2)[:2]
    return int(runtime), int(wait)


def parse_stat_runtime(data: bytes) -> tuple[int, None]:
    """(run time in ns, to the tick; no run-queue wait) from a thread's stat: the fallback where schedstat is
    missing."""
    return parse_stat(data).cpu_ticks * NS_PER_TICK, None


def _value_of(data: bytes, key: bytes) -> int:
    # "key<spaces>:<spaces>value" at the start of a line; the first line (the task's name) is never a key.
    key_end = data.index(b"\n" + key) + 1 + len(key)
    colon = data.index(b":", key_end)
    line_end = data.find(b"\n", colon)
    return int(data[colon + 1 : line_end if line_end >= 0 else len(data)])


def parse_sched(data: bytes) -> SwitchCounters:
    """Parse /proc/<pid>/task/<tid>/sched, the scheduler's debug view of one thread."""
    return SwitchCounters(
        voluntary=_value_of(data, b"nr_voluntary_switches"),
        involuntary=_value_of(data, b"nr_involuntary_switches"),
        migrations=_value_of(data, b"se.nr_migrations"),
    )


def parse_status(data: bytes) -> SwitchCounters:
    """Parse /proc/<pid>/task/<tid>/status: context switches only, it has no migration count."""
    return SwitchCounters(
        voluntary=_value_of(data, b"voluntary_ctxt_switches"),
        involuntary=_value_of(data, b"nonvoluntary_ctxt_switches"),
        migrations=None,
    )


def parse_peak_rss(data: bytes) -> int | None:
    """Bytes from the VmHWM line of /proc/<pid>/status, or None where the process has no address space left.

    VmHWM is the peak resident set of the process's address space, which starts afresh at each exec. A process
    that has exited (a zombie) has none, and its status no Vm lines.
    """
    return _kilobytes_of(data, b"VmHWM")


def parse_pss(data: bytes) -> int | None:
    """Bytes from the Pss line of /proc/<pid>/smaps_rollup: the process's proportional share of the memory it
    maps (each resident page divided by the number of processes that map it); None where the line is missing.
    """
    return _kilobytes_of(data, b"Pss")


def _kilobytes_of(data: bytes, key: bytes) -> int | None:
    start = data.find(b"\n" + key + b":")
    if start < 0:
        return None
    value, unit = data[start + len(key) + 2 :].split(None, 2)[:2]
    if unit != b"kB":
        raise ValueError(f"{key.decode()} in an unexpected unit: {unit!r}")
    return int(value) * 1024


@dataclass(frozen=True)
class ThreadFiles:
    """Which per-thread files this kernel offers for run time and for switch counters, with their parsers.

    ``schedstat`` and ``sched`` exist where the kernel keeps scheduler statistics (most distributions);
    elsewhere run time comes from ``stat`` in ticks, without run-queue wait, and switches from ``status``,
    without migrations.
    """

    runtime_file: str
    parse_runtime: Callable[[bytes], tuple[int, int | None]]   # (run time, run-queue wait or None), ns
    switches_file: str
    parse_switches: Callable[[bytes], SwitchCounters]


def probe_thread_files() -> ThreadFiles:
    has_schedstat = os.path.exists(f"{PROC}/self/schedstat")
    has_sched = os.path.exists(f"{PROC}/self/sched")
    return ThreadFiles(
        runtime_file="schedstat" if has_schedstat else "stat",
        parse_runtime=parse_schedstat if has_schedstat else parse_stat_runtime,
        switches_file="sched" if has_sched else "status",
        parse_switches=parse_sched if has_sched else parse_status,
    )


def parse_core_ticks(data: bytes) -> dict[int, tuple[int, int]]:
    """Per core from /proc/stat: (busy ticks, total ticks), counted as psutil counts busy time.

    Guest time is already inside user and nice, so only the first eight counters are summed; idle and
    iowait are not busy. Offline cores have no line.
    """
    per_core = {}
    for line in data.splitlines():
        if not line.startswith(b"cpu"):
            break  # the cpu lines come first; the rest (interrupt counts) is long and not needed
        if line.startswith(b"cpu "):
            continue
        name, *counters = line.split()
        user, nice, system, idle, iowait, irq, softirq, steal = (int(c) for c in counters[:8])
        total = user + nice + system + idle + iowait + irq + softirq + steal
        per_core[int(name[3:])] = (total - idle - iowait, total)
    return per_core


def parse_steal_ticks(data: bytes) -> int:
    """The machine's steal ticks from /proc/stat's `cpu` line, Σ over its cores: time a hypervisor ran something
    else while a core of this machine had work. 0 where the line is missing or too short."""
    for line in data.splitlines():
        if line.startswith(b"cpu "):
            counters = line.split()[1:]
            return int(counters[7]) if len(counters) > 7 else 0
    return 0


class PinnedFile:
    """A /proc file kept open and re-read from offset 0: one system call per read.

    The open descriptor also pins the task's identity: once the task has gone, reads return None instead
    of describing a new task that reused its number.
    """

    __slots__ = ("_fd", "_size")

    def __init__(self, path: str, size: int = 4096):
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._size = size

    @classmethod
    def open_if_present(cls, path: str, size: int = 4096) -> PinnedFile | None:
        try:
            return cls(path, size)
        except (FileNotFoundError, ProcessLookupError):
            return None

    def read(self) -> bytes | None:
        """The file's current text, or None once its task has gone."""
        try:
            return os.pread(self._fd, self._size, 0) or None
        except OSError as error:
            if error.errno in (errno.ESRCH, errno.ENOENT):
                return None
            raise

    def close(self) -> None:
        os.close(self._fd)


def read_memory_map_file(path: str, size: int = 4096) -> bytes | None:
    """A file of the smaps family, opened afresh: its open takes hold of the address space the process has then,
    so a pinned one would go blank once the process execs. None where the process has gone or has no address
    space left, where the kernel lacks the file, or where reading it needs ptrace access we lack."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    try:
        return os.pread(fd, size, 0) or None
    except OSError as error:
        if error.errno in (errno.ESRCH, errno.ENOENT, errno.EACCES):
            return None
        raise
    finally:
        os.close(fd)


def parse_newest_pid(data: bytes) -> int:
    """The most recently allocated pid (process or thread), the last field of /proc/loadavg."""
    return int(data.rsplit(None, 1)[1])


def list_pids() -> set[int]:
    return {int(name) for name in os.listdir(PROC) if name.isdigit()}


@dataclass(frozen=True)
class ProcessCpu:
    """A process's CPU and that of the children it reaped (ticks), whether it is a kernel thread, its parent."""

    ticks: int
    kernel_thread: bool
    ppid: int


def cpu_ticks_by_process() -> dict[tuple[int, int], ProcessCpu]:
    """Every live process, by (pid, start_ticks). A process that ends while /proc is being read is left out."""
    by_process = {}
    for pid in list_pids():
        try:
            with open(f"{PROC}/{pid}/stat", "rb") as file:
                stat = parse_stat(file.read())
        except (FileNotFoundError, ProcessLookupError):
            continue
        by_process[pid, stat.start_ticks] = ProcessCpu(stat.cpu_ticks + stat.reaped_children_ticks,
                                                       stat.kernel_thread, stat.ppid)
    return by_process


def list_tids(pid: int) -> list[int]:
    """Thread ids of a process; empty once it has gone."""
    try:
        return [int(name) for name in os.listdir(f"{PROC}/{pid}/task")]
    except (FileNotFoundError, ProcessLookupError):
        return []
