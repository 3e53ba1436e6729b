"""SIGINT or SIGTERM during a matrix: what finished is saved, the exit code names the signal, and
`invoke all --resume DIR` runs only what is missing, ending with exactly the planned runs, once each.
The signal goes to a real `invoke all` once its second row is in runs.jsonl, so a run is in flight.
Also: a SIGKILL (no clean-up at all) loses at most the run in flight, and a signal inside the spawn leaves
no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from invoke_harness import FAULTY, children_of_this_process, read_rows, write_experiments
from polylab.run import runner
from polylab.config.experiments import load_config
from polylab.run.plan import RunSpec, plan

LANGS = ["python:cpython", "go"]   # one variant each: the run ids below name it
EXPERIMENTS = {"cpu": {"workload": "sum", "modes": ["threads"], "workers": [1], "seconds": 0.5}}
REPETITIONS = 3
ROWS_BEFORE_SIGNAL = 2


def wait_for_rows(results, count: int, process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    runs = results / "runs.jsonl"
    while not (runs.exists() and len(runs.read_text().splitlines()) >= count):
        assert process.poll() is None, f"invoke ended early: {process.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, f"no {count} rows in {timeout_s:g} s"
        time.sleep(0.02)


def run_ids_of_parts(results) -> set[str]:
    return {part.name.rsplit(".", 2)[0] for part in (results / "parts").iterdir()}


def start_matrix(session, task: str):
    """(the `invoke TASK` process, its results folder, the planned run ids, the arguments that resume it)."""
    config = write_experiments(session.workdir / "experiments.yaml", EXPERIMENTS, repetitions=REPETITIONS,
                               timeout_s=30)
    planned = [spec.run_id for spec in plan(load_config(config).profile("p"), LANGS)]
    results = session.workdir / "set"
    args = ("--config", config, "--langs", ",".join(LANGS))
    matrix = session.start(task, *args, "--out", results, langs=False)
    wait_for_rows(results, ROWS_BEFORE_SIGNAL, matrix)
    return matrix, results, planned, (*args, "--resume", results)


def resume_completes(session, task: str, resume_args, planned: list[str], saved: list[dict]) -> None:
    resumed = session.run(task, *resume_args, langs=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{len(saved)} already done, {len(planned) - len(saved)} to go" in resumed.stderr
    rows = read_rows(resume_args[-1])
    assert [row["run_id"] for row in rows] == planned          # nothing lost, nothing doubled, plan order
    assert rows[:len(saved)] == saved                          # what was saved is left as it was
    assert run_ids_of_parts(resume_args[-1]) == set(planned)


# `all` and `run` share the matrix and its resume; `all` adds the report, whose cost is paid once here.
@pytest.mark.parametrize("signals, exit_code, resume_task", [
    ([signal.SIGINT], 130, "all"),
    ([signal.SIGTERM], 143, "run"),
    ([signal.SIGINT, signal.SIGTERM], 130, "run"),     # the second, while the first is handled, changes nothing
], ids=["SIGINT", "SIGTERM", "SIGINT+SIGTERM"])
def test_interrupted_matrix_keeps_what_finished_and_resume_completes_it(session, signals, exit_code, resume_task):
    matrix, results, planned, resume_args = start_matrix(session, "all")
    for signum in signals:
        matrix.send_signal(signum)
    _, stderr = matrix.communicate(timeout=60)
    assert matrix.returncode == exit_code, stderr[-2000:]
    assert "Traceback" not in stderr
    assert (f"interrupted: finished runs are saved in {results}; continue with `invoke all --resume {results}`"
            in stderr)
    saved = read_rows(results)
    saved_ids = [row["run_id"] for row in saved]
    assert ROWS_BEFORE_SIGNAL <= len(saved) < len(planned) and saved_ids == planned[:len(saved)]
    # The run in flight left no sample part, complete or partial, and the gathered tables hold only saved runs.
    assert run_ids_of_parts(results) <= set(saved_ids)
    assert not [path.name for path in results.rglob("*.tmp")]
    assert set(pd.read_parquet(results / "samples.parquet")["run_id"]) <= set(saved_ids)
    assert session.stray_processes() == []
    resume_completes(session, resume_task, resume_args, planned, saved)


def test_a_killed_orchestrator_loses_at_most_the_run_in_flight(session):
    """SIGKILL leaves no chance to clean up in the orchestrator (the sampler then kills the run in flight),
    and if the kill cut a row short, the torn line is dropped when the set is resumed."""
    matrix, results, planned, resume_args = start_matrix(session, "run")
    matrix.kill()
    matrix.communicate(timeout=60)
    with open(results / "runs.jsonl", "a") as runs:
        runs.write('{"schema_version": 1, "run_id": "cpu.pyth')            # as if killed mid-write
    deadline = time.monotonic() + 30
    while session.live_processes():                                        # the orphaned run, the sampler
        assert time.monotonic() < deadline, "the run in flight did not end"
        time.sleep(0.05)
    saved = [json.loads(line) for line in (results / "runs.jsonl").read_text().splitlines()[:-1]]
    assert len(saved) >= ROWS_BEFORE_SIGNAL
    resume_completes(session, "run", resume_args, planned, saved)


def test_a_killed_orchestrator_takes_its_run_in_flight_with_it(session):
    """The sampler process notices that the orchestrator is gone (its socket closes) and kills the run it
    is attached to: a 30 s run does not go on alone after a SIGKILL."""
    config = write_experiments(session.workdir / "experiments.yaml", {"long": {
        "workload": "sum", "modes": ["threads"], "workers": [1], "seconds": 30}}, repetitions=1, timeout_s=60)
    matrix = session.start("run", "--config", config, "--langs", "python:cpython", "--out", session.workdir / "set",
                           langs=False)
    deadline = time.monotonic() + 60
    while not any("workload.py" in " ".join(p.info["cmdline"] or []) for p in session.live_processes()):
        assert matrix.poll() is None and time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)
    matrix.kill()
    matrix.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while session.live_processes():
        assert time.monotonic() < deadline, [p.info["cmdline"] for p in session.live_processes()]
        time.sleep(0.05)


def test_a_signal_inside_the_spawn_leaves_no_process(tmp_path, monkeypatch):
    """Popen can be interrupted after its child exists, without ever returning it; the runner must still
    find and kill that child. Simulated deterministically: a Popen that starts the child, then raises."""
    real_popen = subprocess.Popen

    def popen_interrupted_after_the_fork(*args, **kwargs):
        real_popen(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.subprocess, "Popen", popen_interrupted_after_the_fork)
    spec = RunSpec(run_id="hang.faulty.threads.w1.r1", experiment="hang", lang="faulty", workload="sum",
                   mode="threads", workers=1, n=10, seconds=None, rep=1, warmup=False, timeout_s=30, sink="devnull",
                   sample_hz=0, perf=False, cpus=None)
    result_path = tmp_path / f"{spec.run_id}.result.json"
    launch = runner.Launch(argv=[sys.executable, str(FAULTY / "faulty.py"), *spec.contract_args(str(result_path))],
                           env={}, cwd=tmp_path, result_path=result_path)
    before = children_of_this_process()
    with pytest.raises(KeyboardInterrupt):
        runner.execute(spec, launch, tmp_path)
    left = children_of_this_process() - before
    for pid in left:                 # so that a failure here leaves nothing behind either
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert not left
