"""Every sink that keeps stdout (pipe, file, tty) hands the judge the same content check; tty really is a
terminal for the program, and its CR-LF is folded back before counting."""

from __future__ import annotations

import sys

import pytest

from polylab.run.plan import RunSpec
from polylab.run.runner import Launch, execute

FAULTY = __import__("pathlib").Path(__file__).parent / "faulty" / "faulty.py"


def spec(tmp_path, fault: str, sink: str, n: int = 10) -> RunSpec:
    return RunSpec(run_id=f"{fault}.x", experiment=fault, lang="faulty", workload="sum-print", mode="threads",
                   workers=2, n=n, seconds=None, rep=1, warmup=False, timeout_s=30, sink=sink, sample_hz=0,
                   perf=False, cpus=None)


def run(tmp_path, fault: str, sink: str):
    run_spec = spec(tmp_path, fault, sink)
    result = tmp_path / f"{fault}.x.result.json"
    argv = [sys.executable, str(FAULTY), *run_spec.contract_args(str(result))]
    measured, verdict, _ = execute(run_spec, Launch(argv=argv, env={}, cwd=tmp_path, result_path=result), tmp_path)
    return measured, verdict


@pytest.mark.parametrize("sink", ["pipe", "file", "tty"])
def test_good_output_is_ok_on_every_sink(tmp_path, sink):
    measured, verdict = run(tmp_path, "print-well", sink)
    assert (verdict.status, verdict.stdout_ok) == ("ok", True), verdict.reason
    assert measured.stdout_lines == 20 and measured.stdout_bytes == 2 * (10 + 16)
    assert measured.stdout_reader_cpu_s is not None and measured.stdout_reader_cpu_s >= 0


@pytest.mark.parametrize("sink", ["pipe", "file", "tty"])
@pytest.mark.parametrize("fault, reason", [
    ("print-wrong-digit", "but the printed values do not add up"),
    # "28" torn into "2" + "8", the "2" glued before a "6": 8 + 26 = 28 + 6, so only the squares can tell
    ("print-torn-halves", "but their squares do not"),
    ("print-drop-line", "stdout has 19 lines, expected 20 (1 fewer"),
    ("print-repeat-line", "stdout has 21 lines, expected 20 (1 more"),
])
def test_each_damage_is_invalid_with_its_reason(tmp_path, sink, fault, reason):
    _, verdict = run(tmp_path, fault, sink)
    assert verdict.status == "invalid" and verdict.stdout_ok is False
    assert reason in verdict.reason


def test_the_tty_sink_is_a_terminal_for_the_program(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os, sys, json\n"
                     "json.dump({'isatty': os.isatty(1)}, open(sys.argv[-1], 'w'))\n")
    run_spec = spec(tmp_path, "probe", "tty")
    result = tmp_path / "probe.json"
    execute(run_spec, Launch(argv=[sys.executable, str(probe), str(result)], env={}, cwd=tmp_path,
                             result_path=tmp_path / "unused.json"), tmp_path)
    assert __import__("json").loads(result.read_text()) == {"isatty": True}
