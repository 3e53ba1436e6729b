"""The lab's side of contract 2's workloads, proven before any language implements them: one `invoke run` of
the faulty language (tests/faulty/), answering as a contract-2 program, right for every workload and wrong
in one way per experiment. Each wrong result must be caught with its reason, each right one recorded with
what its workload adds to the row; a crash whose process dies is a finding (ok), not a failure."""

from __future__ import annotations

import hashlib

import pytest

from invoke_harness import read_rows, write_experiments

N = 10
THREE = {"workers": [3], "n": N, "modes": ["threads"]}
# experiment (the fault before any `+`) → its settings, then the expected status and reason (None: ok)
CASES = {
    "v2+sum": ({"workload": "sum", **THREE}, "ok", None),
    "v2+pingpong": ({"workload": "pingpong", **THREE}, "ok", None),
    "v2+contended": ({"workload": "contended", **THREE}, "ok", None),
    "v2+io": ({"workload": "io", **THREE, "modes": ["processes"]}, "ok", None),
    "v2+native": ({"workload": "native", **THREE}, "ok", None),
    "v2+crash": ({"workload": "crash", **THREE}, "ok", None),
    "v2-crash-dies+crash": ({"workload": "crash", **THREE}, "ok", None),
    "v2-crash-dies+pingpong": ({"workload": "pingpong", **THREE}, "failed", "program failed: killed by signal 6"),
    "v2-crash-result-then-dies+crash": ({"workload": "crash", **THREE}, "failed", "program failed: exit code 1"),
    "v2-crash-all-finished+crash": ({"workload": "crash", **THREE}, "invalid",
                                    "worker #0 finished is True, expected false: worker 0 is the one that fails"),
    "v2-crash-wrong-sum+crash": ({"workload": "crash", **THREE}, "invalid",
                                 "worker #1 checksum 1 != c(c-1)/2 = 45 for c = 10"),
    "v2-as-contract-1+pingpong": ({"workload": "pingpong", **THREE}, "invalid", "contract version 1, expected 2"),
    "v2-wrong-token+pingpong": ({"workload": "pingpong", **THREE}, "invalid",
                                "token is 11, expected 10 (the workers' iterations added up)"),
    "v2-wrong-ring-share+pingpong": ({"workload": "pingpong", **THREE}, "invalid",
                                     "worker #0 did 10 iterations, expected 4"),
    "v2-lost-update+contended": ({"workload": "contended", **THREE}, "invalid",
                                 "counter is 29, expected 30 (the workers' iterations added up)"),
    "v2-wrong-digest+native": ({"workload": "native", **THREE}, "invalid", "worker #1 digest '"),
    "v2+contended-modes-left-out": ({"workload": "contended", "workers": [2], "n": N}, "ok", None),
}


@pytest.fixture(scope="module")
def workload_matrix(module_session):
    """(the finished `invoke run`, its rows by experiment)."""
    module_session.add_language()
    experiments = {name: {**settings, "langs": ["faulty"]} for name, (settings, _, _) in CASES.items()}
    config = write_experiments(module_session.workdir / "workloads.yaml", experiments, repetitions=1, sample_hz=0,
                               perf=False, timeout_s=20)
    results = module_session.workdir / "results"
    done = module_session.run("run", "--config", config, "--out", results)
    rows = read_rows(results)
    return done, {row["experiment"]: row for row in rows}, rows


@pytest.mark.parametrize("experiment", CASES)
def test_each_result_is_judged_by_its_workload(workload_matrix, experiment):
    _, rows, _ = workload_matrix
    _, status, reason = CASES[experiment]
    row = rows[experiment]
    assert (row["status"], row["reason"] if reason is None else row["reason"][:len(reason)]) == (status, reason)


def test_a_wrong_digest_names_the_worker_and_both_digests(workload_matrix):
    reason = workload_matrix[1]["v2-wrong-digest+native"]["reason"]
    after_one, after_ten = bytearray(65536), bytearray(65536)
    for rounds, buffer in ((1, after_one), (N, after_ten)):
        for _ in range(rounds):
            buffer[:32] = hashlib.sha256(buffer).digest()
    assert reason == (f"worker #1 digest '{after_one[:8].hex()}'… is not the SHA-256 chain's after {N} iterations, "
                      f"'{after_ten[:8].hex()}'…")


def test_what_each_workload_adds_to_the_row(workload_matrix):
    _, rows, _ = workload_matrix
    pingpong = rows["v2+pingpong"]
    assert pingpong["token"] == N and pingpong["iterations"] == N       # 4 + 3 + 3 hand-offs round the ring
    assert pingpong["handoffs_per_s"] == pytest.approx(N / 0.01) and pingpong["ns_per_handoff"] == pytest.approx(1e6)
    assert rows["v2+contended"]["counter"] == 3 * N
    assert rows["v2+native"]["checksum_ok"] and rows["v2+io"]["mode"] == "processes"
    for other in ("v2+sum", "v2+contended", "v2+native", "v2+io"):
        assert not {"token", "handoffs_per_s", "workers_started", "process_survived"} & set(rows[other]), other
    assert "counter" not in rows["v2+pingpong"]


def test_a_crash_records_who_survived(workload_matrix):
    _, rows, _ = workload_matrix
    survived, died = rows["v2+crash"], rows["v2-crash-dies+crash"]
    assert (survived["workers_started"], survived["workers_finished"], survived["process_survived"]) == (3, 2, True)
    assert survived["checksum_ok"] and survived["iterations"] == N // 2 + 2 * N
    assert (died["workers_started"], died["workers_finished"], died["process_survived"]) == (3, 0, False)
    assert died["exit_code"] == -6 and died["iterations"] is None and not died["checksum_ok"]
    failed = rows["v2-crash-result-then-dies+crash"]
    assert "process_survived" not in failed       # a contract breach, not a finding


def test_contended_without_modes_runs_threads_only_and_says_why(workload_matrix):
    done, _, rows = workload_matrix
    modes = {row["mode"] for row in rows if row["experiment"] == "v2+contended-modes-left-out"}
    assert modes == {"threads"}
    assert ("experiment 'v2+contended-modes-left-out': processes mode left out: contended runs in threads mode "
            "only (processes share no memory, so there is no counter to contend for)") in done.stderr.splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr
