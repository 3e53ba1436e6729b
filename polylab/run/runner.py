"""Run one program once: spawn in its own process group, sample it, reap it with rusage, check its output.

A run never raises for the program's faults: a crash, a hang, garbage on stdout or a wrong checksum all
become a recorded status (`failed`, `timeout`, `invalid`) so the rest of the matrix goes on. The runner
fills two parts of the run's record: what it measured (Measured) and what the judge decided (Verdict).
"""

from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from polylab.results.schema import ContainerRun, CpuSource, Measured, ProgramResult, Sink, Status, Totals, Verdict
from polylab.run.checks import check_result, check_stdout, task_threads
from polylab.run.plan import RunSpec
from polylab.run.printed import PrintedDigest, digest_file
from polylab.run.reaper import child_pids, kill_run_group, reap_escaped, reap_group
from polylab.workloads import workload_spec

if TYPE_CHECKING:   # the sampler's and the tracer's handles are only passed through here
    from polylab.sample.sampler import RunSamples, Sampler
    from polylab.sample.schedtrace import SchedTracer

STDERR_TAIL_CHARS = 2000
READ_CHUNK = 1 << 20
BATCH_BYTES = 1 << 20
READER_JOIN_S = 30   # after the run's group is gone the reader needs only to finish its last chunks


@dataclass(frozen=True)
class Launch:
    """What a backend hands the runner: the argv to spawn and how to find the processes to sample."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    result_path: Path                      # where the program writes its result, as seen from the host
    # popen -> the pid whose tree is the workload, None if it never appeared (default: popen.pid)
    sample_root: Callable[[subprocess.Popen], int | None] | None = None
    sample_wrapper: bool = False           # the root runs the program as its child (perf stat): Sampler.attach
    # t0 -> the totals that replace wait4's (a container's cgroup), and the container's own facts
    finish: Callable[[float], tuple[Totals, ContainerRun]] | None = None
    # always called once the run is over (e.g. remove the container)
    cleanup: Callable[[], None] | None = None
    # `tty` sink: the program's terminal is made by the backend (a container's own); the runner then reads its
    # output, CR-LF included, through a pipe rather than giving it a terminal of the host's
    terminal_inside: bool = False


class _StdoutReader(threading.Thread):
    """Drains the program's stdout as it is written — a pipe (`pipe` sink) or the master side of a
    pseudo-terminal (`tty` sink) — into a PrintedDigest, on a thread of its own so the program never waits on
    the check. The thread's own CPU time is kept: the reader's cost is recorded beside the program's.

    It waits for data, then takes everything already there (up to BATCH_BYTES) before digesting: a terminal
    hands over a few KiB per read, and digesting each read alone doubled the reader's CPU.
    A terminal's line discipline turns each "\n" into "\r\n" (ONLCR), as on the article's console; the
    reader folds it back before counting, so `tty` is checked exactly like `pipe`."""

    def __init__(self, fd: int, terminal: bool):
        super().__init__(daemon=True, name="stdout-reader")
        self.fd, self.terminal = fd, terminal
        self.digest, self.cpu_s = PrintedDigest(), 0.0
        self._held_cr = b""

    def run(self):
        started = time.thread_time()
        os.set_blocking(self.fd, False)
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        try:
            ended = False
            while not ended:
                poller.poll()
                batch, ended = self._take_available()
                if batch:
                    self.digest.feed(self._fold_crlf(batch) if self.terminal else batch)
            self.digest.feed(self._held_cr)
            self.digest.finish()
        finally:
            self.cpu_s = time.thread_time() - started

    def _take_available(self) -> tuple[bytes, bool]:
        """(what can be read without waiting, whether stdout has ended)."""
        batch = bytearray()
        while len(batch) < BATCH_BYTES:
            try:
                chunk = os.read(self.fd, READ_CHUNK)
            except BlockingIOError:
                return bytes(batch), False
            except OSError as exc:
                if exc.errno == errno.EIO:   # a pseudo-terminal whose slave side every process has closed
                    return bytes(batch), True
                raise
            if not chunk:
                return bytes(batch), True
            batch += chunk
        return bytes(batch), False

    def _fold_crlf(self, chunk: bytes) -> bytes:
        chunk, self._held_cr = self._held_cr + chunk, b""
        if chunk.endswith(b"\r"):       # its "\n" may come in the next read
            chunk, self._held_cr = chunk[:-1], b"\r"
        return chunk.replace(b"\r\n", b"\n")


def _read_file(path: Path) -> tuple[PrintedDigest, float]:
    """The `file` sink, checked after the run (off the hot path): the digest and the CPU it took."""
    started = time.thread_time()
    digest = digest_file(path)
    return digest, time.thread_time() - started


def _stdout_target(sink: Sink, stdout_path: Path, terminal_inside: bool) -> tuple[int | None, int | None]:
    """(what the child's stdout is, the fd the reader drains) for a sink; the child's end is closed by the
    caller once the child has it."""
    if sink == Sink.PIPE or (sink == Sink.TTY and terminal_inside):
        read_end, write_end = os.pipe()
        return write_end, read_end
    if sink == Sink.TTY:
        master, slave = os.openpty()
        return slave, master
    if sink == Sink.FILE:
        return os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), None
    return subprocess.DEVNULL, None


def _wait_exit(pid: int, deadline: float) -> bool:
    """Block until the child exits (leaving it a zombie, not reaped) or the deadline passes."""
    pidfd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if poller.poll(remaining_ms):
                return True
            if time.monotonic() >= deadline:
                return False
    finally:
        os.close(pidfd)


def _wrapped_signal(stderr_tail: str, exit_code: int) -> int:
    """A wrapper (perf stat) exits 0 when its program dies by a signal, and reports the death only as psignal()'s
    last line on stderr, "<program>: <signal's description>": read the signal back from it (-N, as wait4 says)."""
    lines = stderr_tail.rstrip("\n").splitlines()
    if exit_code != 0 or not lines:
        return exit_code
    description = lines[-1].rpartition(": ")[2]
    for number in signal.valid_signals():
        if signal.strsignal(number) == description:
            return -int(number)
    return exit_code


def _stderr_tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - STDERR_TAIL_CHARS))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def execute(spec: RunSpec, launch: Launch, raw_dir: Path, sampler: Sampler | None = None,
            tracer: SchedTracer | None = None) -> tuple[Measured, Verdict, RunSamples | None]:
    """Run once; return what was measured, the verdict, and the sampler's RunSamples (None when not sampled).
    A tracer records the run's scheduler events: it starts before the spawn and stops once the run is reaped."""
    stderr_path = raw_dir / f"{spec.run_id}.stderr"
    stdout_path = raw_dir / f"{spec.run_id}.stdout"
    launch.result_path.unlink(missing_ok=True)
    child_stdout, reader_fd = _stdout_target(Sink(spec.sink), stdout_path, launch.terminal_inside)
    reader = None
    samples = None
    timed_out = False
    container = None
    with open(stderr_path, "wb") as stderr_file:
        if tracer:
            tracer.begin()      # perf's own start-up (~0.5 s) before the run's clock starts
        if sampler:
            sampler.begin()
        children_before = child_pids()
        started_at = time.time()
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(launch.argv, cwd=launch.cwd, env={**os.environ, **launch.env},
                                    stdin=subprocess.DEVNULL, stdout=child_stdout,
                                    stderr=stderr_file, start_new_session=True)
        except OSError as exc:
            if sampler:
                sampler.end()
            if tracer:
                tracer.end()
            if reader_fd is not None:
                os.close(reader_fd)
            return (Measured(exit_code=None, stderr_tail="", started_at=_timestamp(started_at)),
                    Verdict(Status.FAILED, f"could not start the program: {exc}", checksum_ok=False), None)
        except BaseException:
            reap_escaped(children_before)     # interrupted mid-spawn: the child may exist, unknown to us
            if tracer:
                tracer.end()
            raise
        finally:
            if child_stdout != subprocess.DEVNULL:
                os.close(child_stdout)     # the child has it; our copy would keep the pipe or terminal open
        try:
            if tracer:
                tracer.attach(proc.pid, t0, wrapper=launch.sample_wrapper)
            if sampler:
                root = launch.sample_root(proc) if launch.sample_root else proc.pid
                if root is not None:
                    sampler.attach(root, t0, wrapper=launch.sample_wrapper)
            if reader_fd is not None:
                reader = _StdoutReader(reader_fd, terminal=spec.sink == Sink.TTY)
                reader.start()
            timed_out = not _wait_exit(proc.pid, t0 + spec.timeout_s)
            if timed_out:
                kill_run_group(proc.pid)
                _wait_exit(proc.pid, time.monotonic() + 30)
            if sampler:
                sampler.final()
            _, status, usage = os.wait4(proc.pid, 0)
            wall_s = time.monotonic() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            # Not ru_maxrss: on Linux a child inherits the orchestrator's own peak RSS at fork, so the sampler's
            # per-process VmHWM gives the peak instead (matrix.run_one).
            totals = Totals(user_s=usage.ru_utime, sys_s=usage.ru_stime, max_rss_bytes=None,
                            ctx_voluntary=usage.ru_nvcsw, ctx_involuntary=usage.ru_nivcsw, cpu_source=CpuSource.WAIT4)
            if launch.finish:
                totals, container = launch.finish(t0)
        finally:
            # Whatever happened (even Ctrl-C), nothing of this run may outlive it.
            kill_run_group(proc.pid)
            if proc.returncode is None:
                os.wait4(proc.pid, 0)
                proc.returncode = -signal.SIGKILL
            reap_group(proc.pid)
            reap_escaped(children_before)
            if launch.cleanup:
                launch.cleanup()
            if sampler:
                samples = sampler.end()
            if tracer:
                tracer.end()
        if reader:
            reader.join(timeout=READER_JOIN_S)
            os.close(reader_fd)
    printed, reader_cpu_s = None, None
    if reader:
        printed, reader_cpu_s = reader.digest, reader.cpu_s
    elif spec.sink == Sink.FILE:
        printed, reader_cpu_s = _read_file(stdout_path)
    stderr_tail = _stderr_tail(stderr_path)
    exit_code = _wrapped_signal(stderr_tail, proc.returncode) if launch.sample_wrapper else proc.returncode
    measured = Measured(exit_code=exit_code, stderr_tail=stderr_tail,
                        started_at=_timestamp(started_at), wall_s=wall_s, totals=totals, container=container,
                        stdout_lines=printed.lines if printed else None, stdout_bytes=printed.size if printed else None,
                        stdout_reader_cpu_s=reader_cpu_s)
    if stderr_path.stat().st_size == 0:
        stderr_path.unlink()
    return measured, _judge(spec, launch, measured, printed, timed_out), samples


LAST_WORDS_CHARS = 160


def _last_words(stderr_tail: str) -> str:
    """The last non-blank line the program wrote to stderr, shortened: on the run's one console line, most often
    what the failure was (a missing file, an exception's message); the whole of it is in raw/<run_id>.stderr."""
    lines = [line.strip() for line in stderr_tail.splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last if len(last) <= LAST_WORDS_CHARS else last[:LAST_WORDS_CHARS - 1] + "…"


def _timestamp(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch_s))


def _judge(spec: RunSpec, launch: Launch, measured: Measured, printed: PrintedDigest | None,
           timed_out: bool) -> Verdict:
    """Decide the status from exit, timeout, result file and stdout, most severe first. A workload whose
    process may die (crash) is ok when it died without writing a result: what the runtime did is the finding."""
    unverified = ProgramResult(inner_s=None, runtime=None, iterations=None)
    workload = workload_spec(spec.workload)
    if timed_out:
        return Verdict(Status.TIMEOUT, f"killed after the {spec.timeout_s:g} s timeout", False, unverified)
    exit_code = measured.exit_code
    if exit_code != 0:
        how = f"killed by signal {-exit_code}" if exit_code < 0 else f"exit code {exit_code}"
        if not (workload.death_is_a_finding and not launch.result_path.exists()):
            said = _last_words(measured.stderr_tail)
            return Verdict(Status.FAILED, f"program failed: {how}" + (f" — stderr: {said}" if said else ""), False,
                           unverified)
        died = workload.outcome(None, spec.workers)
        return _with_stdout(Verdict(Status.OK, None, False, unverified, crash=died), spec.workload, [], printed)
    checked = check_result(launch.result_path, spec.lang, spec.workload, spec.mode, spec.workers, spec.n)
    if not checked.ok:
        return Verdict(Status.INVALID, checked.problem, False, unverified)
    data = checked.data
    result = ProgramResult(inner_s=data["elapsed_s"], runtime=data["runtime"], iterations=sum(checked.iterations),
                           worker_elapsed_s=[worker["elapsed_s"] for worker in data["workers"]],
                           **{key: data[key] for key in workload.recorded}, **task_threads(data, spec.mode))
    survived = workload.outcome(data, spec.workers) if workload.death_is_a_finding else None
    return _with_stdout(Verdict(Status.OK, None, True, result, crash=survived), spec.workload, checked.iterations,
                        printed)


def _with_stdout(verdict: Verdict, workload: str, iterations: list[int], printed: PrintedDigest | None) -> Verdict:
    """An ok verdict, judged on stdout too when a sink kept it."""
    if printed is None:
        return verdict
    problem = check_stdout(workload, iterations, printed)
    if problem is not None:
        return replace(verdict, status=Status.INVALID, reason=problem, stdout_ok=False)
    return replace(verdict, stdout_ok=True)
