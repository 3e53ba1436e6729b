"""Pool and async modes through the real `invoke run`, before any language implements them: the faulty language
(tests/faulty/) answers right in both (every task on its one thread) and once without a task's `tids`; a
variant whose toolchain is too old for a mode has that mode left out with one note, never a failed row."""

from __future__ import annotations

import pytest

from invoke_harness import read_rows, single_error_line, write_experiments

N = 10
MODES = ["threads", "pool", "async"]


@pytest.fixture(scope="module")
def task_matrix(module_session):
    """(the finished `invoke run`, its rows by (experiment, mode))."""
    module_session.add_language()
    experiments = {"v2+sum": {"workload": "sum", "workers": [3], "n": N, "modes": MODES},
                   "v2+io": {"workload": "io", "workers": [3], "n": N, "modes": ["pool", "async"]},
                   "v2-no-tids+sum": {"workload": "sum", "workers": [3], "n": N, "modes": ["pool"]}}
    config = write_experiments(module_session.workdir / "tasks.yaml",
                               {name: {**settings, "langs": ["faulty"]} for name, settings in experiments.items()},
                               repetitions=1, sample_hz=0, perf=False, timeout_s=20)
    results = module_session.workdir / "results"
    done = module_session.run("run", "--config", config, "--out", results)
    return done, {(row["experiment"], row["mode"]): row for row in read_rows(results)}


def test_right_task_results_record_threads_used_and_pool_size(task_matrix):
    _, rows = task_matrix
    assert {key: row["status"] for key, row in rows.items()} == {
        ("v2+sum", "threads"): "ok", ("v2+sum", "pool"): "ok", ("v2+sum", "async"): "ok",
        ("v2+io", "pool"): "ok", ("v2+io", "async"): "ok", ("v2-no-tids+sum", "pool"): "invalid"}
    for experiment in ("v2+sum", "v2+io"):
        pool, loop = rows[(experiment, "pool")], rows[(experiment, "async")]
        assert (pool["workers"], pool["threads_used"], pool["pool_size"]) == (3, 1, 1)   # three tasks, one thread
        assert (loop["threads_used"], "pool_size" in loop) == (1, False)                 # null: not written
    assert not {"threads_used", "pool_size"} & set(rows[("v2+sum", "threads")])   # faulty lists no tids there


def test_a_task_without_tids_is_invalid(task_matrix):
    done, rows = task_matrix
    row = rows[("v2-no-tids+sum", "pool")]
    assert row["reason"] == "worker #2 has no tids (the kernel thread ids it ran on; required in pool mode)"
    assert "threads_used" not in row and done.returncode == 1 and "Traceback" not in done.stderr


def test_a_mode_the_toolchain_is_too_old_for_is_left_out_with_one_note(session):
    session.add_language(edits={"modes: [threads, processes, pool, async]":
                                "modes: [threads, processes, pool, {mode: async, min_version: \"99\"}]"})
    experiments = {name: {"workload": workload, "workers": [2], "n": N, "modes": ["pool", "async"],
                          "langs": ["faulty"]} for name, workload in (("v2+sum", "sum"), ("v2+io", "io"))}
    config = write_experiments(session.workdir / "tasks.yaml", experiments, repetitions=1, sample_hz=0, perf=False)
    results = session.workdir / "results"
    done = session.run("run", "--config", config, "--out", results)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted((row["experiment"], row["mode"]) for row in read_rows(results)) == [("v2+io", "pool"),
                                                                                    ("v2+sum", "pool")]
    notes = [line for line in done.stderr.splitlines() if "async mode left out" in line]
    assert len(notes) == 1 and notes[0].startswith(
        "faulty: async mode left out (needs toolchain version 99 or later, found 3.") and \
        notes[0].endswith(") in experiments v2+sum, v2+io")


def test_pool_mode_for_a_workload_without_it_is_one_line(session):
    session.add_language()
    config = write_experiments(session.workdir / "tasks.yaml", {"ring": {"workload": "pingpong", "workers": [2],
                                                                        "n": N, "modes": ["pool"]}})
    done = session.run("run", "--config", config, "--out", session.workdir / "results")
    assert single_error_line(done) == (
        f"error: ==> File {config} ==> At profile 'p' / experiment 'ring' ==> At key: modes =====> pingpong runs in "
        "threads, processes mode only (pool and async modes run sum and io only: langs/README.md section 10): "
        "remove pool")
    assert not (session.workdir / "results").exists()
