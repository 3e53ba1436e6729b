"""The matrix loop: rows are kept when the disk fills mid-matrix, and the error is one clear message."""

import errno
import json

import pytest

from polylab.results import store
from polylab.config.errors import UserError
from polylab.run.lab import build_all, choose, load_lab
from polylab.run.matrix import MatrixRequest, run_matrix


def test_disk_full_mid_matrix_keeps_finished_rows_and_says_what_to_do(tmp_path, monkeypatch):
    config = tmp_path / "experiments.yaml"
    config.write_text("profiles:\n  p:\n    defaults: {repetitions: 3, sample_hz: 0}\n    experiments:\n"
                      "      x: {workload: sum, workers: [1], n: 1000, modes: [threads]}\n")
    lab = load_lab(str(config))
    choices = choose(lab, ["python"], "local")
    builds = build_all(lab, choices)
    real_append, calls = store.append_run, []

    def append_until_full(directory, row):
        calls.append(row["run_id"])
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(directory, row)

    monkeypatch.setattr(store, "append_run", append_until_full)
    out = tmp_path / "set"
    with pytest.raises(UserError) as caught:
        run_matrix(lab, MatrixRequest(profile="p", langs=["python"], out=out), choices, builds, {})
    assert str(caught.value) == (f"cannot write to {out}: No space left on device — finished runs are saved; free "
                                 f"space and continue with `invoke all --resume {out}`")
    rows = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in rows] == ["x.python.threads.w1.r1"] and rows[0]["status"] == "ok"
