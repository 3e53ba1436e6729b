"""An exact scheduler trace of a run (`trace: sched`): every context switch and migration, with its time.

Sampling at 10 Hz cannot see what happens between samples; the kernel's scheduler tracepoints can. A traced run
is recorded by `perf record -a` on `sched:sched_switch` and `sched:sched_migrate_task`, machine-wide (a
migration is often done by another task, so a per-task recording would miss it), on CLOCK_MONOTONIC so its
times line up with the runner's and the sampler's. perf is started before the program, with its events off,
and switched on through its control pipe (`--control`, `enable` → `ack`) just before the program is spawned:
its start-up (about half a second) and its stop stay outside the run's wall time, and the program is not
perf's child, so wait4's CPU and switches stay the program's own. The run's own events are then picked out of
`perf script` by the tree of the spawned pid (sample/schedparse.py), written to raw/<run_id>.sched.parquet,
and perf.data is deleted. perf's own CPU for the recording is kept as `tracer_cpu_s`.

What it costs the program (the kernel's work at each tracepoint, perf draining its buffers on the same cores)
is measured by `invoke bench-trace`. Local runs only: a container's program is traced as a host process would
be, but the runner cannot wait for a container's engine to fork it, so container runs are left untraced (said
once, before the matrix runs).
"""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from polylab.results.schema import TraceSummary
from polylab.sample.schedparse import ParsedTrace, parse, summarize

SCHED = "sched"
NONE = "none"
TRACE_MODES = (NONE, SCHED)
EVENTS = ("sched:sched_switch", "sched:sched_migrate_task")
# no build ids (they are for symbols, and collecting them reads every mapped file), only task records synthesised
# at start (no mmaps of every process), no BPF events: what keeps perf's start and stop short
RECORD_OPTIONS = ("-a", "-q", "-m", "1024", "-B", "-N", "--synth=task", "--no-bpf-event", "-k", "CLOCK_MONOTONIC")
SCRIPT_OPTIONS = ("--ns", "--show-task-events", "--show-lost-events", "-F", "trace:comm,tid,cpu,time,event,trace")
CONTROL_TIMEOUT_S = 30
STOP_TIMEOUT_S = 60


@functools.cache
def problem() -> str | None:
    """Why perf cannot record the scheduler's tracepoints here, or None when it can (a short recording of `true`)."""
    with tempfile.TemporaryDirectory(prefix="polylab-trace-probe-") as folder:
        data = Path(folder) / "probe.data"
        try:
            probe = subprocess.run(["perf", "record", *RECORD_OPTIONS, "-e", ",".join(EVENTS), "-o", str(data),
                                    "--", "true"], capture_output=True, text=True, timeout=CONTROL_TIMEOUT_S)
        except FileNotFoundError:
            return "perf is not installed (Debian: linux-perf)"
        except subprocess.TimeoutExpired:
            return f"perf record did not finish within {CONTROL_TIMEOUT_S} s"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or [f"exit code {probe.returncode}"])[-1]
        return f"perf record cannot trace the scheduler here: {last.strip()}"
    return None


class SchedTracer:
    """One run's recording: begin() before the spawn, attach() after it, end() once the run is reaped, then
    finish() parses and stores the run's events. end() is safe to call in any state, so the runner calls it in
    its cleanup whatever happened."""

    def __init__(self, data_path: Path):
        self.data_path = data_path
        self.process: subprocess.Popen | None = None
        self.root: int | None = None
        self.t0 = 0.0
        self.wrapper = False
        self.cpu_s: float | None = None
        self._control: int | None = None
        self._ack: int | None = None

    def begin(self) -> None:
        """Start perf with its events off, then switch them on and wait for perf to say they are."""
        self.data_path.unlink(missing_ok=True)
        control_read, self._control = os.pipe()
        self._ack, ack_write = os.pipe()
        self.process = subprocess.Popen(
            ["perf", "record", *RECORD_OPTIONS, "-D", "-1", "--control", f"fd:{control_read},{ack_write}",
             "-e", ",".join(EVENTS), "-o", str(self.data_path)],
            pass_fds=(control_read, ack_write), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        os.close(control_read)
        os.close(ack_write)
        self._command("enable")

    def attach(self, root: int, t0: float, wrapper: bool = False) -> None:
        """The spawned pid whose tree is the run, the monotonic time it was spawned, and whether it is a wrapper."""
        self.root, self.t0, self.wrapper = root, t0, wrapper

    def end(self) -> None:
        """Switch the events off and stop perf (it writes perf.data as it exits); keep its CPU time."""
        if self.process is None or self.process.returncode is not None:
            return
        try:
            try:
                self._command("disable")
                os.write(self._control, b"stop\n")
            except (OSError, TraceError):
                os.killpg(self.process.pid, signal.SIGINT)    # perf writes what it has and exits
            status, usage = self._reap()
            self.cpu_s = usage.ru_utime + usage.ru_stime
            self.process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            for fd in (self._control, self._ack):
                if fd is not None:
                    os.close(fd)
            self._control = self._ack = None

    def finish(self) -> tuple[ParsedTrace, TraceSummary]:
        """(the run's events, its TraceSummary) from perf.data, which is then deleted. A recording that cannot be
        read raises TraceError with perf's last line."""
        try:
            if self.process is None or self.root is None:
                raise TraceError("the run was never traced")
            if self.process.returncode not in (0, None) and not self.data_path.exists():
                raise TraceError(f"perf record failed: {self._perf_stderr()}")
            script = subprocess.Popen(["perf", "script", "-i", str(self.data_path), *SCRIPT_OPTIONS],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            parsed = parse(script.stdout, self.root, self.t0, self.wrapper)
            _, error = script.communicate()
            if script.returncode != 0:
                raise TraceError(f"perf script failed: {(error.strip().splitlines() or ['?'])[-1]}")
            return parsed, summarize(parsed, self.cpu_s)
        finally:
            if self.process is not None and self.process.stderr is not None:
                self.process.stderr.close()
            self.data_path.unlink(missing_ok=True)
            self.data_path.with_name(self.data_path.name + ".old").unlink(missing_ok=True)

    def _command(self, command: str) -> None:
        """Send perf a control command and wait for its ack."""
        os.write(self._control, f"{command}\n".encode())
        answered, deadline = b"", time.monotonic() + CONTROL_TIMEOUT_S
        while b"ack" not in answered:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._ack], [], [], left)[0]:
                raise TraceError(f"perf record did not {command} its events within {CONTROL_TIMEOUT_S} s")
            chunk = os.read(self._ack, 64)
            if not chunk:
                raise TraceError(f"perf record ended before it could {command} its events: {self._perf_stderr()}")
            answered += chunk

    def _reap(self):
        """(wait status, rusage) of perf once it exits; killed if it has not within STOP_TIMEOUT_S."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                return status, usage
            time.sleep(0.01)
        os.killpg(self.process.pid, signal.SIGKILL)
        _, status, usage = os.wait4(self.process.pid, 0)
        return status, usage

    def _perf_stderr(self) -> str:
        """perf's last line on stderr, once it has exited (while it runs, reading could block)."""
        if self.process is None or self.process.poll() is None:
            return "perf is still running"
        text = self.process.stderr.read().decode(errors="replace")
        return (text.strip().splitlines() or ["no output"])[-1]


class TraceError(Exception):
    """A traced run whose recording could not be made or read: the run stands, its trace does not."""
