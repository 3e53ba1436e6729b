"""The runner's seam with the backends: a frozen Launch whose finish hook hands over a container's totals, and the
cgroup totals that hook reads, checked without a container engine."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from labpaths import ROOT
from polylab.config.manifests import load_language
from polylab.results.schema import ContainerRun, CpuSource, RunRecord, Status, Totals
from polylab.run import runner
from polylab.run.backends import Detection, cgroups
from polylab.run.matrix import planned
from polylab.run.plan import RunSpec

FAULTY = ROOT / "tests" / "faulty"
SPEC = RunSpec(run_id="well-behaved.faulty.threads.w1.r1", experiment="well-behaved", lang="faulty", workload="sum",
               mode="threads", workers=1, n=1000, seconds=None, rep=1, warmup=False, timeout_s=30, sink="devnull",
               sample_hz=0, perf=False, cpus=None)


def _launch(tmp_path, **hooks) -> runner.Launch:
    result_path = tmp_path / f"{SPEC.run_id}.result.json"
    return runner.Launch(argv=[sys.executable, str(FAULTY / "faulty.py"), *SPEC.contract_args(str(result_path))],
                         env={}, cwd=tmp_path, result_path=result_path, **hooks)


def test_a_launch_is_frozen_and_changed_by_replace(tmp_path):
    launch = _launch(tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        launch.argv = ["true"]
    wrapped = dataclasses.replace(launch, argv=["perf", "stat", "--", *launch.argv])
    assert wrapped.argv[3:] == launch.argv and launch.argv[0] == sys.executable


def test_a_finish_hook_replaces_wait4s_totals_and_adds_the_containers_facts(tmp_path):
    cgroup = Totals(user_s=0.3, sys_s=0.1, max_rss_bytes=5 * 2**20, ctx_voluntary=None, ctx_involuntary=None,
                    cpu_source=CpuSource.CGROUP)
    finished, cleaned = [], []

    def finish(t0: float):
        finished.append(t0)
        return cgroup, ContainerRun(container_start_s=0.001, image="python:3")

    measured, verdict, samples = runner.execute(SPEC, _launch(tmp_path, finish=finish,
                                                              cleanup=lambda: cleaned.append(True)), tmp_path)
    assert verdict.status == Status.OK and samples is None and len(finished) == 1 and cleaned == [True]
    assert measured.totals == cgroup and measured.container.image == "python:3"
    faulty = load_language(FAULTY, ROOT)
    detection = Detection(lang="faulty", backend="container", variant=faulty.variants[0], toolchain="cpython",
                          path="python:3", version="3")
    row = RunRecord(planned(SPEC, detection), measured, verdict).to_row()
    assert row["cpu_source"] == "cgroup" and row["ctx_voluntary"] is None and row["container_start_s"] == 0.001
    assert row["parallelism"] == pytest.approx(0.4 / (measured.wall_s - 0.001))
    assert row["startup_s"] == pytest.approx(measured.wall_s - verdict.result.inner_s)


def _cgroup_file(root, controller: str, name: str, text: str) -> None:
    folder = root / controller / "polylab" / "token"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_cgroup_totals_come_from_cpuacct_and_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    _cgroup_file(tmp_path, "cpuacct", "cpuacct.stat", f"user {3 * cgroups.CLOCK_TICKS}\nsystem {cgroups.CLOCK_TICKS}\n")
    _cgroup_file(tmp_path, "memory", "memory.max_usage_in_bytes", "1048576\n")
    assert cgroups.CgroupTotals("polylab/token").read() == Totals(3.0, 1.0, 1048576, None, None, CpuSource.CGROUP)


def test_unreadable_cgroup_totals_leave_the_cpu_to_the_sampler(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroups, "ROOT", tmp_path)
    assert cgroups.CgroupTotals("polylab/token").read() == Totals(None, None, None, None, None, CpuSource.SAMPLER)
    assert cgroups.CgroupTotals(None).read().cpu_source == CpuSource.SAMPLER


def test_a_death_by_signal_under_perf_is_read_back_from_its_psignal_line():
    """perf stat exits 0 when its program dies by a signal; its last stderr line, from psignal(), tells which."""
    from polylab.run.runner import _wrapped_signal
    assert _wrapped_signal("output\nsh: Segmentation fault\n", 0) == -11
    assert _wrapped_signal("/build/workload: Aborted", 0) == -6
    assert _wrapped_signal("an ordinary last line\n", 0) == 0
    assert _wrapped_signal("sh: Segmentation fault", 3) == 3      # a real exit status is kept


def test_perf_wrapped_program_killed_by_a_signal_is_failed_with_its_signal(tmp_path):
    from polylab.run.plan import RunSpec
    from polylab.run.runner import Launch, execute
    from polylab.sample import perfstat
    if not perfstat.available():
        pytest.fail("perf stat cannot count here: install linux-perf (make toolchains does)")
    spec = RunSpec(run_id="signal.x", experiment="signal", lang="x", workload="sum", mode="threads", workers=1, n=1,
                   seconds=None, rep=1, warmup=False, timeout_s=30, sink="devnull", sample_hz=0, perf=True, cpus=None)
    program = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]
    argv = perfstat.wrap(program, tmp_path / "perf.csv")
    launch = Launch(argv=argv, env={}, cwd=tmp_path, result_path=tmp_path / "r.json", sample_wrapper=True)
    measured, verdict, _ = execute(spec, launch, tmp_path)
    assert measured.exit_code == -11 and verdict.status == "failed"
    assert verdict.reason.startswith("program failed: killed by signal 11 — stderr: ")   # perf's psignal() line
    assert verdict.reason.endswith(": Segmentation fault")


@pytest.mark.parametrize("tail, said", [
    ("Traceback (most recent call last):\n  ...\nLoadError: cannot load such file -- workloads\n\n",
     "LoadError: cannot load such file -- workloads"),
    ("", ""),
    ("x" * 300, "x" * 159 + "…"),
])
def test_a_failed_programs_last_stderr_line_is_on_its_console_line(tail, said):
    from polylab.run.runner import _last_words
    assert _last_words(tail) == said
