"""Per-core and per-thread sampling of one run's process tree, and its peak memory, from a process of its own.

Each sample reads the machine's per-core times (/proc/stat) and, once a run is attached, every thread of
the run's process tree: its run time (schedstat), and, when that moved, the core it last ran on (stat)
and its context switches and migrations (sched). A thread's CPU since the previous sample is attributed
to its last core. CPU that the processes' totals hold but no live thread accounts for (threads or children
that ended between samples) is "unplaced": it goes to the core where the departed thread or process was
last seen. /proc is listed for new children only when a pid was allocated somewhere since the last sample;
a process's own stat (thread count, totals) is re-read only then, or when one of its threads or children
ended.

Peak memory is each process's VmHWM (status): the peak resident set of its address space, read at most once per
PEAK_RSS_MAX_AGE_S and only if the process ran since (its memory grows only by its own page faults), and for
every live process at ``final()``. In between, the current resident set that each stat read above carries (a
thread's, when it ran; the process's) raises it. A process that execs gets a new address space whose peak starts
afresh: its value is then its latest program's. An exec is told by where code and stack now lie (stat); what was
noted of a child between its fork and its exec, its parent's pages, is dropped then. ``peak_rss_bytes`` is the
largest single process's peak: what ``ru_maxrss`` is meant to be, without the orchestrator's own peak that Linux
carries into a child's ``ru_maxrss`` when it forks and execs it. ``tree_peak_rss_bytes`` is the sum of every
process's peak: pages they share (libraries, copy-on-write after fork) count in each, and the peaks need not
have coincided, so it overstates what the tree held at once. What running as several processes costs is
``tree_pss_bytes``: the largest sum over the tree's processes of their PSS (/proc/<pid>/smaps_rollup, each
resident page divided among the processes that map it, so a shared page counts once), all read at one sample.
That read walks page tables (about 4 ms of the sampler's CPU for 64 MB), so the tree is read at most once per
PEAK_RSS_MAX_AGE_S, less often when a reading costs more than PSS_CPU_SHARE_MAX of the interval, once more at the
first sample after workers (processes or threads) stop joining the tree, and at ``final()``: a peak shorter than
that interval can be missed, and a tree that lived shorter than one sample has no reading (None). Pages shared
with processes outside the tree count only in part.

What the rest of the machine did is counted per process: every process's CPU (and its reaped children's) is
read from /proc/<pid>/stat at ``begin()``, before the run exists, and at ``final()``, after its root exited;
the difference (a process that ended in between counts through its parent's reaped-children CPU, less what it
had at ``begin()``), less the run's tree and the lab (this process, the orchestrator), is the summary's
``other_programs_cpu_s`` and, for the kernel's own threads, ``kernel_threads_cpu_s``. Neither read falls
inside the run. /proc/stat's per-core times cannot tell this: they charge by the tick, and a program that
sleeps and wakes thousands of times a second shows there as time no process used.

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
- A process's address space is gone once it exits (the run's root included: a zombie at ``final()``), so
  its peak is the last one read while it lived: up to one interval late for memory it kept, up to
  PEAK_RSS_MAX_AGE_S late for a rise that fell back before the next sample. A process shorter than an
  interval may not be seen at all: its peak is then unknown and left out of both figures, which are None
  when no process was seen. A process that execs is seen to have done so only once one of its threads has
  run CORE_REREAD_MIN_NS since (its stat is read then): one that execs and ends sooner keeps the peak of its
  previous program (for a child forked in the tree, that of a copy of its parent).
- When the cores are saturated the sampler can wake late; ``t_s`` is the actual time, percentages are
  over the actual interval, and grid slots that passed meanwhile are skipped rather than bunched.

The sampler process (polylab.sample.loop) records each run; polylab.sample.tree follows its process tree.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from dataclasses import dataclass
from multiprocessing.connection import Connection

from polylab.results.schema import SamplerSummary
from polylab.sample.loop import serve
from polylab.sample.rates import MAX_HZ, MIN_HZ

__all__ = ["MAX_HZ", "MIN_HZ", "RunSamples", "Sampler"]

_REPLY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunSamples:
    """What the sampler saw of one run; times are seconds since the run's spawn (t0).

    ``samples`` rows follow schema.SAMPLE_COLUMNS (one per sample interval and core, stamped at the
    interval's end), ``threads`` rows follow schema.THREAD_COLUMNS (cumulative values per thread at each
    sample). ``summary`` goes into the run's record as it is; ``peak_rss_bytes`` is the largest single
    process's peak (None where no process was seen), the run's peak memory unless a cgroup measured it.
    """

    samples: list[tuple]
    threads: list[tuple]
    summary: SamplerSummary
    peak_rss_bytes: int | None


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

    def attach(self, pid: int, t0: float, wrapper: bool = False) -> None:
        """Also sample pid's process tree from now on; t0 is the spawn time on time.monotonic(). A wrapper pid
        (perf stat) runs the program as its child: its CPU is counted (it collects its child's as it reaps it),
        its own threads and memory are not."""
        self._connection.send(("attach", pid, t0, wrapper))

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
        package_parent = str(Path(__file__).resolve().parents[2])
        python_path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
        with child_end:
            self._process = subprocess.Popen(
                [sys.executable, "-c", f"from {serve.__module__} import {serve.__name__}; {serve.__name__}()",
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
