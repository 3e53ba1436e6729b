"""Bad settings for contract 2's workloads, through the real `invoke run`: each is one line naming the file,
the experiment and the key, exit code 1, no traceback, and nothing is built or run (the workloads' needs are
declared in polylab/workloads/catalog.py)."""

from __future__ import annotations

import pytest

from invoke_harness import single_error_line, write_experiments

CASES = {
    "pingpong with one worker": (
        {"workload": "pingpong", "workers": [1, 2], "seconds": 0.5},
        "At key: workers =====> pingpong passes a token around a ring of workers: it needs at least 2 workers, got 1"),
    "contended in processes mode": (
        {"workload": "contended", "workers": [2], "seconds": 0.5, "modes": ["threads", "processes"]},
        "At key: modes =====> contended runs in threads mode only (processes share no memory, so there is no "
        "counter to contend for): remove processes"),
    "crash with n too small to fail midway": (
        {"workload": "crash", "workers": [2], "n": 1},
        "At key: n =====> crash fails worker 0 after n/2 of its iterations: it needs n ≥ 2 in count mode, got 1"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_workload_setting_no_run_could_use(session, case):
    experiment, problem = CASES[case]
    session.add_language()
    config = write_experiments(session.workdir / "experiments.yaml", {"bad": experiment}, repetitions=1)
    done = session.run("run", "--config", config, "--out", session.workdir / "results")
    assert single_error_line(done) == f"error: ==> File {config} ==> At profile 'p' / experiment 'bad' ==> {problem}"
    assert not (session.workdir / "results").exists()
