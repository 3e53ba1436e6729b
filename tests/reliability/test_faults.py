"""A program's faults never lose results: each run is recorded with its status and stderr tail, the rest of
the matrix runs, no process of the run survives it and timeouts are kept. One `invoke run` of the faulty
language (tests/faulty/), one experiment per fault, gives the rows that every test here checks; two more
languages made from it fail before their program even runs: one cannot be built, one cannot be started."""

from __future__ import annotations

import os
import re

import psutil
import pytest

from invoke_harness import ROOT, read_rows, write_experiments

TIMEOUT_S = 1.0
TIMEOUT_REASON = f"killed after the {TIMEOUT_S:g} s timeout"
# fault (= experiment name) → expected status, the start of the expected reason, the experiment's own settings
FAULTS = {
    "exit-nonzero": ("failed", "program failed: exit code 3 — stderr: faulty: giving up on purpose", {}),
    "crash-by-signal": ("failed", "program failed: killed by signal 11", {}),
    "hang": ("timeout", TIMEOUT_REASON, {}),
    "hang-in-children": ("timeout", TIMEOUT_REASON, {"modes": ["processes"], "workers": [2]}),
    "garbage-on-stdout": ("invalid", "`sum` must print nothing, got 1 lines / 26 bytes", {"sink": "pipe"}),
    "wrong-checksum": ("invalid", "worker #0 checksum 46 != c(c-1)/2 = 45 for c = 10", {}),
    "invalid-json": ("invalid", "result file is not valid JSON: ", {}),
    "no-result": ("invalid", "no result file written", {}),
    "child-outlives": ("ok", None, {}),          # the program is fine; its leftover child must not be
    "child-escapes-group": ("ok", None, {}),
}
# What was printed is checked by content on every sink that keeps it: 2 workers × 10 partial sums each.
PRINT = {"workload": "sum-print", "workers": [2], "n": 10}
PRINT_FAULTS = {
    "print-wrong-digit": "stdout has the expected number of lines and bytes, but the printed values do not add up",
    "print-drop-line": "stdout has 19 lines, expected 20 (1 fewer: lines missing or repeated)",
    "print-repeat-line": "stdout has 21 lines, expected 20 (1 more: lines missing or repeated)",
    "print-torn-halves": "stdout's values add up, but their squares do not",    # 8 + 26 = 28 + 6
    "print-well": None,
}
for _name, _reason in PRINT_FAULTS.items():
    for _sink in ("pipe", "file", "tty"):
        FAULTS[f"{_name}-on-{_sink}"] = ("invalid" if _reason else "ok", _reason, {**PRINT, "sink": _sink})
# language → (its manifest's changes, the expected reason of its experiment's `failed` row)
UNRUNNABLE = {
    "unbuildable": ({"build: []": 'build: [[python3, -c, "raise SystemExit(4)"]]'},
                    "build failed (exit 4), see "),
    "unstartable": ({'run: [python3, "{src}/faulty.py"]': 'run: ["{build}/no-such-program"]'},
                    "could not start the program: [Errno 2] No such file or directory: "),
}
LAST = "well-behaved"                            # after every fault: the matrix must still get here


@pytest.fixture(scope="module")
def fault_matrix(module_session):
    """(the finished `invoke run`, its rows by experiment, its results folder)."""
    module_session.add_language()
    for name, (edits, _) in UNRUNNABLE.items():
        module_session.add_language(name, edits={"name: faulty": f"name: {name}", **edits})
    experiment = {"workload": "sum", "modes": ["threads"], "workers": [1], "n": 10}
    experiments = {name: {**experiment, "langs": ["faulty"], **settings} for name, (_, _, settings) in FAULTS.items()}
    # perf stat would start and report the missing program as its own exit 255: these run without it
    experiments.update({name: {**experiment, "langs": [name], "perf": False} for name in UNRUNNABLE})
    experiments[LAST] = {**experiment, "langs": ["faulty"]}
    config = write_experiments(module_session.workdir / "faults.yaml", experiments, repetitions=1,
                               timeout_s=TIMEOUT_S)
    results = module_session.workdir / "results"
    done = module_session.run("run", "--config", config, "--out", results)
    return done, {row["experiment"]: row for row in read_rows(results)}, results


def test_every_run_is_recorded_and_the_matrix_goes_on(fault_matrix):
    done, rows, results = fault_matrix
    assert list(rows) == [*FAULTS, *UNRUNNABLE, LAST]
    assert rows[LAST]["status"] == "ok" and rows[LAST]["checksum_ok"]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"some runs were not ok; every row is in {results / 'runs.jsonl'}"


@pytest.mark.parametrize("fault", FAULTS)
def test_the_fault_is_recorded_with_its_status_and_stderr(fault_matrix, fault):
    _, rows, results = fault_matrix
    status, reason, _ = FAULTS[fault]
    row = rows[fault]
    assert row["status"] == status
    assert row["reason"] == reason if reason is None else row["reason"].startswith(reason)
    assert row["stderr_tail"].startswith(f"faulty: {fault} pid=")
    assert (results / "raw" / f"{row['run_id']}.stderr").read_text() == row["stderr_tail"]


@pytest.mark.parametrize("lang", UNRUNNABLE)
def test_a_program_that_cannot_be_built_or_started_is_recorded(fault_matrix, lang):
    row = fault_matrix[1][lang]
    assert (row["lang"], row["status"], row["checksum_ok"]) == (lang, "failed", False)
    assert row["reason"].startswith(UNRUNNABLE[lang][1])


def test_a_failed_build_names_the_language_once_in_the_build_and_matrix_lines(fault_matrix):
    done, rows, _ = fault_matrix
    log = ROOT / "build" / "unbuildable" / "build.log"
    lines = done.stderr.splitlines()
    at = lines.index(f"unbuildable: build failed (exit 4), see {log}")
    assert lines[at + 1] == "$ python3 -c raise SystemExit(4)"       # the log's tail follows
    position = list(rows).index("unbuildable") + 1
    assert (f"[{position}/{len(rows)}] unbuildable: unbuildable threads ×1 sum n=10 (rep 1): failed — build failed "
            f"(exit 4), see {log}") in lines


@pytest.mark.parametrize("fault", FAULTS)
def test_no_process_of_the_run_survives(fault_matrix, fault):
    """The run announced every process it started (pid and group) on stderr; none may be left."""
    row = fault_matrix[1][fault]
    announced = [tuple(map(int, found)) for found in re.findall(r"pid=(\d+) pgid=(\d+)", row["stderr_tail"])]
    assert announced and (len(announced) > 1) == ("child" in fault)
    pids = {pid for pid, _ in announced}
    groups = {group for _, group in announced}
    left = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            group = os.getpgid(process.pid)
        except ProcessLookupError:
            continue
        if group in groups or (process.pid in pids and "faulty.py" in " ".join(process.info["cmdline"] or [])):
            left.append(f"{process.pid} (group {group}): {process.info['cmdline']}")
    assert not left


@pytest.mark.parametrize("fault", [name for name, (status, _, _) in FAULTS.items() if status == "timeout"])
def test_the_timeout_is_kept_within_a_second(fault_matrix, fault):
    row = fault_matrix[1][fault]
    overshoot = row["wall_s"] - TIMEOUT_S
    assert 0 <= overshoot < 1.0, f"wall {row['wall_s']:.3f} s for a {TIMEOUT_S:g} s timeout"
    assert row["exit_code"] == -9
