"""The sampler process itself: ``serve()`` samples on a grid and answers the orchestrator between samples.

Started by polylab.sample.sampler.Sampler, which tells what is measured. It needs only the standard library
(and the results schema, which needs no more).
"""

from __future__ import annotations

import os
import resource
import signal
import statistics
import sys
import time
import traceback
from multiprocessing.connection import Connection

from polylab.results.schema import SamplerSummary
from polylab.sample import procfs
from polylab.sample.tree import ProcessTree


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
            except EOFError:  # the orchestrator has gone (even by SIGKILL): so do we, and its run with us
                if run and not run.finished:
                    run.kill_attached_run()
                return
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
                run, failure = RunRecorder(thread_files, time.monotonic()), None
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


class RunRecorder:
    """Sampling state of one run, from begin() to end(): the machine's cores, and the run's tree once attached."""

    def __init__(self, thread_files: procfs.ThreadFiles, started: float):
        self.started = self._t0 = self._last_time = started
        self.finished = False
        self._machine_file = procfs.PinnedFile(f"{procfs.PROC}/stat", 65536)
        machine = self._machine_file.read()
        self._last_core_ticks = procfs.parse_core_ticks(machine)
        self._steal_at_begin, self._steal_s = procfs.parse_steal_ticks(machine), None
        self._tree = ProcessTree(thread_files)  # before the run exists, so that it knows which pids are older
        core_slots = os.sysconf("SC_NPROCESSORS_CONF")  # every core that could come online, not just those now
        self._core_backlog_ns = [0] * core_slots
        self._core_busy_ns = [0] * core_slots
        self._sample_rows: list[tuple] = []
        self._tree_sample_times: list[float] = []
        self._sampler_cpu_at_attach = None  # set once attached
        self._root = None
        self._sampler_cpu_s = 0.0
        self._processes_at_begin = procfs.cpu_ticks_by_process()  # before the run exists
        self._cpu_outside_run_s: tuple[float, float] | None = None

    def attach(self, pid: int, t0: float, wrapper: bool = False) -> None:
        self._root, self._t0 = pid, t0
        self._sampler_cpu_at_attach = time.process_time()
        self._tree.attach(pid, wrapper)

    def sample(self, now: float, final: bool = False) -> None:
        machine = self._machine_file.read()
        core_ticks = procfs.parse_core_ticks(machine)
        attributed_ns = [0] * len(self._core_busy_ns)
        if self._sampler_cpu_at_attach is not None:
            self._tree.sample(now, final, attributed_ns)
            self._tree_sample_times.append(now)
        interval_ns = max(1, int((now - self._last_time) * procfs.NS_PER_S))
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
            self._steal_s = (procfs.parse_steal_ticks(machine) - self._steal_at_begin) / procfs.CLOCK_TICKS
            if self._sampler_cpu_at_attach is not None:
                self._sampler_cpu_s = time.process_time() - self._sampler_cpu_at_attach
                self._cpu_outside_run_s = self._cpu_outside_the_run()

    def _cpu_outside_the_run(self) -> tuple[float, float]:
        """CPU seconds that every other program, and the kernel's own threads, used from begin() to final(): what
        the processes hold now (their CPU and their reaped children's) less what those of begin() held then.

        A process of begin() that has ended since is subtracted too: its parent's reaped-children CPU now holds its
        whole life, and only the part since begin() is the run's neighbour's (a shell reaping a 20 s job during a
        0.2 s run would otherwise count 20 s). Not when the lab was its parent, as nothing of the lab is counted.
        The run's tree and the lab (this sampler, the orchestrator that started it) are left out. A process that
        both began and ended in between is missed unless its parent reaped it, and one whose parent does not
        wait for children (SIGCHLD ignored) takes its time before begin() away: each total is kept ≥ 0."""
        own = self._tree.pids_followed | {os.getpid(), os.getppid()}
        ticks = {False: 0, True: 0}
        now = procfs.cpu_ticks_by_process()
        for (pid, _), process in now.items():
            if pid not in own:
                ticks[process.kernel_thread] += process.ticks
        for key, process in self._processes_at_begin.items():
            if key[0] not in own and (key in now or process.ppid not in own):
                ticks[process.kernel_thread] -= process.ticks
        return max(0, ticks[False]) / procfs.CLOCK_TICKS, max(0, ticks[True]) / procfs.CLOCK_TICKS

    def result(self) -> tuple[list, list, SamplerSummary, int | None]:
        """The fields of RunSamples: rows of SAMPLE_COLUMNS and THREAD_COLUMNS, the summary, the peak memory."""
        t0, times = self._t0, self._tree_sample_times
        peak_rss_bytes, tree_peak_rss_bytes = self._tree.peak_rss()
        summary = SamplerSummary(
            samples=len(times),
            workload_cpu_s=sum(self._core_busy_ns) / procfs.NS_PER_S,
            unplaced_cpu_s=self._tree.unplaced_ns / procfs.NS_PER_S,
            sampler_migrations=self._tree.migrations(),
            threads_max=self._tree.threads_max,
            per_core_busy_s=[busy / procfs.NS_PER_S for busy in self._core_busy_ns],
            sampler_cpu_s=self._sampler_cpu_s,
            interval_s=statistics.median(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else None,
            tree_rss_bytes=tree_peak_rss_bytes,
            tree_pss_bytes=self._tree.tree_pss_peak_bytes,
            other_programs_cpu_s=self._cpu_outside_run_s[0] if self._cpu_outside_run_s else None,
            kernel_threads_cpu_s=self._cpu_outside_run_s[1] if self._cpu_outside_run_s else None,
            steal_s=self._steal_s,
        )
        samples = [(t - t0, core, system, workload) for t, core, system, workload in self._sample_rows]
        return samples, self._tree.thread_rows(t0), summary, peak_rss_bytes

    def kill_attached_run(self) -> None:
        """SIGKILL the run's process group (a local run leads its own group; a container's init takes its
        container down with it), so an orchestrator that died mid-run leaves nothing running."""
        if self._root is None:
            return
        try:
            if os.getpgid(self._root) == self._root:
                os.killpg(self._root, signal.SIGKILL)
            else:
                os.kill(self._root, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        self._tree.close()
        self._machine_file.close()
