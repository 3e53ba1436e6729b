"""Contract version 2 (langs/README.md sections 9 and 10) against every folder in langs/: every workload in every
mode it runs in, count and duration mode, through polylab's own runner, so the lab verifies each result
(checksums, the token, the counter, the digests recomputed, the crash semantics); these tests then assert the
values the record and the result file must hold."""

from __future__ import annotations

import hashlib

import pytest

from langcontract import assert_bad_argument, contract_spec, result_of, run_ok
from polylab.results.schema import Mode, Workload
from polylab.workloads import WORKLOADS

SECONDS = 0.3                                       # duration mode: every worker's loop takes 0.25–3.0 s
BASE_MODES = (Mode.THREADS, Mode.PROCESSES)
TASK_MODES = tuple(mode for mode in Mode if mode not in BASE_MODES)   # section 10: N tasks, not N threads
TASK_WORKLOADS = (Workload.SUM, Workload.IO)       # the only ones pool and async modes run
ZEROS_DIGEST = hashlib.sha256(bytes(64 * 1024)).hexdigest()

# langs/README.md section 9, `crash`: in threads mode the process goes down with worker 0 in Go, C# and C, and
# survives it in Python, Java, Rust and Node.js; in processes mode every language survives (the parent sees the
# child's exit status). This is the contract's statement: a language named here that changes behaviour fails.
# A folder not named here may do either, but must then do all that goes with it.
SURVIVES_A_CRASHED_THREAD = {"go": False, "csharp": False, "c": False, "cpp": False,
                             "python": True, "java": True, "rust": True, "node": True}
# langs/README.md section 10: Python's asyncio.gather and Node.js's Promise.all run every task on one event loop,
# one thread; Java's virtual threads move between carrier threads, so they are not named here.
ASYNC_ON_ONE_THREAD = {"python", "node"}


def _modes(workload: Workload) -> list[str]:
    """The threads and processes modes the lab runs this workload in (the catalog's; contended: threads only)."""
    return [mode.value for mode in WORKLOADS[workload].modes if mode in BASE_MODES]


def _spec(built, workload: Workload, mode: str, **settings):
    return contract_spec(built[1].language.name, workload.value, mode, **settings)


def _worker_iterations(result: dict) -> list[int]:
    return [worker["iterations"] for worker in result["workers"]]


@pytest.mark.parametrize("mode", _modes(Workload.PINGPONG))
def test_pingpong_count_mode(built, mode):
    spec = _spec(built, Workload.PINGPONG, mode, workers=3, n=1000)
    row = run_ok(built, spec)
    assert row["token"] == 1000 and row["iterations"] == 1000
    # 1000 hand-offs round a ring of 3 from worker 0: worker i makes ceil((1000 − i) / 3).
    assert _worker_iterations(result_of(built, spec)) == [334, 333, 333]
    assert row["ns_per_handoff"] > 0 and row["handoffs_per_s"] > 0
    assert row["ns_per_handoff"] * row["handoffs_per_s"] == pytest.approx(1e9)


@pytest.mark.parametrize("mode", _modes(Workload.CONTENDED))
def test_contended_count_mode(built, mode):
    spec = _spec(built, Workload.CONTENDED, mode, workers=3, n=1000)
    row = run_ok(built, spec)
    assert row["counter"] == 3000 and row["iterations"] == 3000
    assert _worker_iterations(result_of(built, spec)) == [1000, 1000, 1000]


@pytest.mark.parametrize("mode", _modes(Workload.IO))
def test_io_count_mode(built, mode):
    row = run_ok(built, _spec(built, Workload.IO, mode, workers=2, n=20))
    assert row["iterations"] == 40
    # 20 waits of at least 1 ms each
    assert all(elapsed >= 0.020 for elapsed in row["worker_elapsed_s"]), row["worker_elapsed_s"]


@pytest.mark.parametrize("mode", _modes(Workload.NATIVE))
def test_native_count_mode(built, mode):
    spec = _spec(built, Workload.NATIVE, mode, workers=2, n=1)
    run_ok(built, spec)
    # after one iteration, the digest is SHA-256 of the 64 KiB of zeros each worker starts with
    assert [worker["digest"] for worker in result_of(built, spec)["workers"]] == [ZEROS_DIGEST, ZEROS_DIGEST]


def _pingpong_ran(row, result):
    assert row["token"] == row["iterations"] and row["ns_per_handoff"] > 0
    # worker 0 reads the clock and stops the ring after its seconds; the others, started later (a child
    # process's start-up), stop when they see that, so only worker 0's loop is known to last them all
    assert result["workers"][0]["elapsed_s"] >= 0.25, result["workers"]


def _contended_ran(row, result):
    assert row["counter"] == row["iterations"]


def _io_ran(row, result):
    # every iteration waits at least 1 ms, so no worker did more iterations than its milliseconds
    for worker in result["workers"]:
        assert 0 < worker["iterations"] <= worker["elapsed_s"] * 1000 + 1, worker


def _native_ran(row, result):
    # the lab recomputed every digest; each worker hashed at least once
    assert all(worker["iterations"] > 0 and len(worker["digest"]) == 64 for worker in result["workers"])


RAN_FOR_ITS_SECONDS = {Workload.PINGPONG: _pingpong_ran, Workload.CONTENDED: _contended_ran,
                       Workload.IO: _io_ran, Workload.NATIVE: _native_ran}


@pytest.mark.parametrize("workload, mode", [pytest.param(workload, mode, id=f"{workload.value}-{mode}")
                                            for workload in RAN_FOR_ITS_SECONDS for mode in _modes(workload)])
def test_duration_mode(built, workload, mode):
    spec = _spec(built, workload, mode, workers=2, seconds=SECONDS)
    row = run_ok(built, spec)
    shortest = 0 if workload == Workload.PINGPONG else 0.25   # see _pingpong_ran
    assert all(shortest < elapsed <= 3.0 for elapsed in row["worker_elapsed_s"]), row["worker_elapsed_s"]
    RAN_FOR_ITS_SECONDS[workload](row, result_of(built, spec))


@pytest.mark.parametrize("limit", ["n", "seconds"])
@pytest.mark.parametrize("mode", _modes(Workload.CRASH))
def test_crash(built, mode, limit):
    """Worker 0 of 3 fails midway, unhandled; the run is `ok` whichever way the process went, and the record
    says which (section 9)."""
    lang = built[1].language.name
    settings = {"n": 1000} if limit == "n" else {"seconds": SECONDS}
    spec = _spec(built, Workload.CRASH, mode, workers=3, **settings)
    row = run_ok(built, spec)
    expected = True if mode == Mode.PROCESSES else SURVIVES_A_CRASHED_THREAD.get(lang)
    if expected is not None:
        assert row["process_survived"] is expected, (
            f"{lang} {mode}: the process {'died' if expected else 'survived'}; langs/README.md section 9 says it "
            f"{'survives' if expected else 'goes down with worker 0'}")
    assert row["workers_started"] == 3
    result = result_of(built, spec)
    if not row["process_survived"]:
        assert row["workers_finished"] == 0 and row["exit_code"] != 0 and result is None
        return
    assert row["workers_finished"] == 2 and row["exit_code"] == 0
    assert [worker["finished"] for worker in result["workers"]] == [False, True, True]
    assert result["crash"] == {"worker": 0, "survived": True}
    if limit == "n":
        assert _worker_iterations(result)[1:] == [1000, 1000] and _worker_iterations(result)[0] < 1000
    else:
        assert all(0.25 <= worker["elapsed_s"] <= 3.0 for worker in result["workers"][1:]), result["workers"]


def _declared_modes(built) -> tuple[str, ...]:
    """The modes the manifest declares for this variant, with the toolchain version found (section 10)."""
    detection = built[1].detection
    return tuple(mode.value for mode in detection.variant.supported_modes(detection.version))


def test_bad_workload_exits_2_with_nothing_on_stdout(built):
    """A workload the program does not know, and a workload outside sum and io in each pool or async mode the
    manifest declares, are bad arguments (sections 1, 9 and 10)."""
    out = built[2]
    amount = ["--workers", "2", "--n", "10"]
    assert_bad_argument(built, ["--workload", "nosuch", "--mode", "threads", *amount], out / "nosuch.json")
    for mode in (mode for mode in _declared_modes(built) if mode not in BASE_MODES):
        assert_bad_argument(built, ["--workload", "pingpong", "--mode", mode, *amount], out / f"pingpong.{mode}.json")


TASK_SETTINGS = {Workload.SUM: {"n": 20_000}, Workload.IO: {"n": 5}}


@pytest.mark.parametrize("mode", [mode.value for mode in TASK_MODES])
@pytest.mark.parametrize("workload", TASK_WORKLOADS, ids=lambda workload: workload.value)
def test_task_mode(built, workload, mode):
    """sum and io in each pool or async mode (section 10): where the manifest declares it for this variant, with
    `--workers 4` meaning 4 tasks, each saying which kernel threads ran it; elsewhere a bad argument (section 9:
    a mode the program does not support), so that the manifest's `modes` are exactly what the program runs."""
    settings = TASK_SETTINGS[workload]
    if mode not in _declared_modes(built):
        amount = ["--workers", "4", "--n", str(settings["n"])]
        assert_bad_argument(built, ["--workload", workload.value, "--mode", mode, *amount], built[2] / f"{mode}.json")
        return
    spec = _spec(built, workload, mode, workers=4, **settings)
    row = run_ok(built, spec)
    result = result_of(built, spec)
    assert _worker_iterations(result) == [settings["n"]] * 4
    if workload == Workload.IO:   # 5 waits of at least 1 ms each
        assert all(elapsed >= 0.005 for elapsed in row["worker_elapsed_s"]), row["worker_elapsed_s"]
    _assert_tasks(row, result, built[1].language.name, mode)


def _assert_tasks(row: dict, result: dict, lang: str, mode: str) -> None:
    """Section 10: one process; each task's tids are 1 or 2 distinct positive kernel thread ids (at its start and
    end); `pool_size` is the pool's size or null; the lab counts the distinct tids as `threads_used`."""
    assert len({worker["pid"] for worker in result["workers"]}) == 1, f"{mode}: tasks of one process"
    for worker in result["workers"]:
        tids = worker.get("tids")
        assert isinstance(tids, list) and 1 <= len(tids) <= 2 and len(set(tids)) == len(tids), (mode, worker)
        assert all(isinstance(tid, int) and tid > 0 for tid in tids), (mode, worker)
    pool_size = result.get("pool_size", "missing")
    assert pool_size is None or (isinstance(pool_size, int) and pool_size > 0), f"{mode}: pool_size {pool_size!r}"
    threads_used = len({tid for worker in result["workers"] for tid in worker["tids"]})
    assert row["threads_used"] == threads_used
    if mode == Mode.ASYNC and lang in ASYNC_ON_ONE_THREAD:
        assert threads_used == 1, f"{lang} async: tasks ran on {threads_used} threads, not on one event loop"
