"""The matrix loop: rows are kept when the disk fills mid-matrix, and the error is one clear message; one pass
plans the runs once and hands the plan down."""

import ctypes
import errno
import json

import pytest

from polylab.cli import commands as cli
from polylab.config.errors import UserError
from polylab.results import store
from polylab.run import matrix as matrix_module
from polylab.run.lab import build_all
from polylab.run.matrix import run_matrix

CONFIG = ("profiles:\n  p:\n    defaults: {repetitions: 3, sample_hz: 0}\n    experiments:\n"
          "      x: {workload: sum, workers: [1], n: 1000, modes: [threads]}\n")


def _plan(tmp_path):
    config = tmp_path / "experiments.yaml"
    config.write_text(CONFIG)
    return cli.plan_matrix(profile="p", langs="python:cpython", out=str(tmp_path / "set"), config=str(config),
                           backend="local")


def test_disk_full_mid_matrix_keeps_finished_rows_and_says_what_to_do(tmp_path, monkeypatch):
    matrix = _plan(tmp_path)
    real_append, calls = store.append_run, []

    def append_until_full(directory, record):
        calls.append(record.run_id)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(directory, record)

    monkeypatch.setattr(store, "append_run", append_until_full)
    out = matrix.out
    with pytest.raises(UserError) as caught:
        run_matrix(matrix, build_all(matrix.lab, matrix.choices))
    assert str(caught.value) == (f"cannot write to {out}: No space left on device — finished runs are saved; free "
                                 f"space and continue with `invoke all --resume {out}`")
    rows = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in rows] == ["x.python:cpython.threads.w1.r1"] and rows[0]["status"] == "ok"


def test_one_pass_plans_once_and_the_matrix_runs_that_plan(tmp_path, monkeypatch):
    planned = []
    real_plan = cli.plan

    def counting_plan(*args, **kwargs):
        planned.append(args[0].name)
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(cli, "plan", counting_plan)
    config = tmp_path / "experiments.yaml"
    config.write_text(CONFIG)
    out, code = cli.run(profile="p", langs="python:cpython", out=str(tmp_path / "set"), config=str(config),
                        backend="local")
    assert code == 0 and planned == ["p"] and not hasattr(matrix_module, "plan")
    rows = store.read_runs(out)
    assert [r["run_id"] for r in rows] == [f"x.python:cpython.threads.w1.r{k}" for k in (1, 2, 3)]
    assert json.loads((out / "meta.json").read_text())["planned_runs"] == 3
    flag = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0)   # PR_GET_CHILD_SUBREAPER
    assert flag.value == 0     # the matrix was a subreaper while it ran, not for the rest of this process's life
