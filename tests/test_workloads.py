"""The workloads' lab side (polylab/workloads/): one entry per workload, their settings checks at their edges,
the ring's shares, the SHA-256 chain against the contract's own procedure, and each workload's result check."""

from __future__ import annotations

import hashlib
import json

import pytest

from polylab.results.schema import Workload
from polylab.run.checks import check_result
from polylab.workloads import WORKLOADS, workload_spec
from polylab.workloads import sha_chain
from polylab.workloads.catalog import ring_share


def test_every_workload_of_the_schema_has_its_lab_side():
    assert list(WORKLOADS) == list(Workload)
    assert all(spec.summary for spec in WORKLOADS.values())


@pytest.mark.parametrize("n, workers", [(0, 2), (1, 2), (10, 3), (11, 3), (12, 3), (7, 8), (1000, 4)])
def test_ring_shares_add_up_to_the_hand_offs(n, workers):
    shares = [ring_share(n, workers, index) for index in range(workers)]
    assert sum(shares) == n and max(shares) - min(shares) <= 1 and shares == sorted(shares, reverse=True)


def contract_chain(iterations: int) -> str:
    """The native workload exactly as langs/README.md states it."""
    buffer, digest = bytearray(64 * 1024), b""
    for _ in range(iterations):
        digest = hashlib.sha256(buffer).digest()
        buffer[0:32] = digest
    return digest.hex()


def test_the_chain_is_the_contracts_whatever_order_counts_come_in(monkeypatch):
    monkeypatch.setattr(sha_chain, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(sha_chain, "_checkpoints", [bytes(32)])
    assert sha_chain.digest_at(0) == "" and sha_chain.digest_at(1) == contract_chain(1)
    zeros_64k = "de2f256064a0af797747c2b97505dc0b9f3df0de4f489eac731c23ae9ca9cc31"   # sha256sum of 64 KiB of zeros
    assert sha_chain.digest_at(1) == zeros_64k
    for count in (9, 3, 4, 13, 8, 5):
        assert sha_chain.digest_at(count) == contract_chain(count), count
    assert len(sha_chain._checkpoints) == 13 // 4 + 1      # one per 4 steps walked, never twice
    assert sha_chain.digests_at([2, 7, 2]) == {7: contract_chain(7), 2: contract_chain(2)}


@pytest.mark.parametrize("workload, modes, workers, n, problem", [
    ("pingpong", None, (2, 4), None, None),
    ("pingpong", None, (2, 1), 10, ("workers", "pingpong passes a token around a ring of workers: it needs at least "
                                               "2 workers, got 1")),
    ("contended", ("threads",), (1,), 10, None),
    ("contended", ("processes",), (2,), None, ("modes", "contended runs in threads mode only (processes share no "
                                                        "memory, so there is no counter to contend for): remove "
                                                        "processes")),
    ("crash", None, (1,), 2, None),
    ("crash", None, (1,), None, None),                    # duration mode fails at S/2: any S will do
    ("crash", None, (2,), 1, ("n", "crash fails worker 0 after n/2 of its iterations: it needs n ≥ 2 in count mode, "
                                   "got 1")),
    ("sum", ("processes",), (1,), 0, None),
])
def test_settings_at_their_edges(workload, modes, workers, n, problem):
    assert workload_spec(workload).setting_problem(modes, workers, n) == problem


def test_default_modes_leave_out_what_a_workload_cannot_run_in():
    contended = workload_spec("contended")
    assert contended.modes_for(None) == (("threads",), (
        "processes mode left out: contended runs in threads mode only (processes share no memory, so there is no "
        "counter to contend for)",))
    assert contended.modes_for(("threads",)) == (("threads",), ())
    assert workload_spec("io").modes_for(None) == (("threads", "processes"), ())


def v2_result(workload: str, workers: int = 2, n: int = 6, **extra) -> dict:
    entries = [{"index": k, "pid": 1, "iterations": n, "sum": n * (n - 1) // 2, "elapsed_s": 0.1}
               for k in range(workers)]
    return {"contract": 2, "lang": "x", "runtime": {}, "elapsed_s": 0.1, "workers": entries,
            "args": {"workload": workload, "mode": "threads", "workers": workers, "n": n, "seconds": None}, **extra}


def judged(tmp_path, data: dict, n: int | None = 6) -> str | None:
    data["args"]["n"] = n
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data))
    return check_result(path, "x", data["args"]["workload"], "threads", len(data["workers"]), n).problem


def with_worker(data: dict, index: int, **changes) -> dict:
    data["workers"][index].update(changes)
    return data


def crash_result(**changes) -> dict:
    data = v2_result("crash", crash={"worker": 0, "survived": True})
    with_worker(data, 0, iterations=3, sum=3, finished=False)
    with_worker(data, 1, finished=True)
    data.update(changes)
    return data


@pytest.mark.parametrize("data, problem", [
    (v2_result("sum", contract=1), None),
    (v2_result("sum"), None),
    (v2_result("sum", contract=3), "contract version 3, expected 1 or 2"),
    (v2_result("io", contract=1), "contract version 1, expected 2"),
    (v2_result("io"), None),
    (with_worker(with_worker(v2_result("pingpong", token=6), 0, iterations=3, sum=3), 1, iterations=3, sum=3), None),
    (v2_result("pingpong", token=12), "worker #0 did 6 iterations, expected 3"),
    (with_worker(with_worker(v2_result("pingpong"), 0, iterations=3, sum=3), 1, iterations=3, sum=3),
     "result has no integer 'token' (the token's final value)"),
    (v2_result("contended", counter=12), None),
    (v2_result("contended", counter=True), "result has no integer 'counter' (the shared counter's final value)"),
    (v2_result("contended", counter=11), "counter is 11, expected 12 (the workers' iterations added up)"),
    (with_worker(with_worker(v2_result("native"), 0, digest=contract_chain(6)), 1, digest=contract_chain(6)), None),
    (with_worker(v2_result("native"), 0, digest=contract_chain(6)),
     "worker #1 has no digest (a string: the last SHA-256 as lowercase hex)"),
    (with_worker(with_worker(v2_result("native"), 0, digest=contract_chain(6)), 1, digest=contract_chain(6).upper()),
     f"worker #1 digest '{contract_chain(6)[:16].upper()}'… is not the SHA-256 chain's after 6 iterations, "
     f"'{contract_chain(6)[:16]}'…"),
    (crash_result(), None),
    (with_worker(crash_result(), 0, iterations=0, sum=0), None),              # 0/0 at the failure is allowed
    (with_worker(crash_result(), 0, iterations=6, sum=15), "worker #0 did 6 iterations, expected fewer than 6: it "
                                                           "fails midway"),
    (with_worker(crash_result(), 1, finished=False), "worker #1 finished is False, expected true: only worker 0 fails"),
    (with_worker(crash_result(), 1, finished=None), "worker #1 has no finished (true or false)"),
    (with_worker(crash_result(), 1, iterations=5, sum=10), "worker #1 did 5 iterations, expected 6"),
    (crash_result(crash={"worker": 1, "survived": True}),
     "crash is {'worker': 1, 'survived': True}, expected {'worker': 0, 'survived': True} from a process that "
     "survived"),
], ids=lambda value: "" if isinstance(value, dict) else None)
def test_each_workload_checks_its_own_result(tmp_path, data, problem):
    assert judged(tmp_path, data) == problem


def test_duration_mode_checks_no_count_but_the_totals_still(tmp_path):
    pingpong = with_worker(v2_result("pingpong", token=12), 0, iterations=7, sum=21)
    assert judged(tmp_path, pingpong, n=None) == "token is 12, expected 13 (the workers' iterations added up)"
    crash = with_worker(crash_result(), 0, iterations=900, sum=404550)
    assert judged(tmp_path, crash, n=None) is None
