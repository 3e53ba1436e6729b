"""The workload contract (langs/README.md), run against every folder in langs/ — a new folder is tested
without anyone writing a test. Each language is built once, then run through polylab's own runner."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from langcontract import assert_bad_argument, contract_spec, run_ok
from polylab.run.checks import expected_sum

SMALL_N = {"sum": 200_000, "sum-print": 3_000}
MAX_TIMING_N = 10 ** 10


@pytest.mark.parametrize("workload", ["sum", "sum-print"])
@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_count_mode(built, workload, mode):
    _, choice, out = built
    lang = choice.language.name
    row = run_ok(built, contract_spec(lang, workload, mode, n=SMALL_N[workload]))
    assert row["checksum_ok"] and row["iterations"] == 2 * SMALL_N[workload]
    assert row["inner_s"] > 0 and row["inner_s"] <= row["wall_s"]
    expected_lines = 2 * SMALL_N[workload] if workload == "sum-print" else 0
    assert row["stdout_lines"] == expected_lines and row["stdout_ok"]


@pytest.mark.parametrize("workload", ["sum", "sum-print"])
@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_duration_mode(built, workload, mode):
    _, choice, out = built
    row = run_ok(built, contract_spec(choice.language.name, workload, mode, seconds=0.3))
    assert row["checksum_ok"] and row["iterations"] > 0
    # Every worker loops until its 0.3 s are up (clock read every 4096 iterations).
    assert all(0.25 <= elapsed <= 3.0 for elapsed in row["worker_elapsed_s"]), row["worker_elapsed_s"]
    if workload == "sum-print":
        assert row["stdout_lines"] == row["iterations"] and row["stdout_ok"]


def test_zero_seconds_stops_each_worker_at_its_first_clock_reading(built):
    _, choice, _ = built
    row = run_ok(built, contract_spec(choice.language.name, "sum", "threads", seconds=0))
    assert row["checksum_ok"] and all(elapsed < 0.25 for elapsed in row["worker_elapsed_s"]), row["worker_elapsed_s"]


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_stdout_holds_exactly_the_partial_sums(built, mode):
    """Line by line: every line is one worker's partial sum, nothing else, none torn or missing."""
    _, choice, out = built
    spec = contract_spec(choice.language.name, "sum-print", mode, workers=3, n=2_000, sink="file", tag=".lines")
    run_ok(built, spec)
    printed = Counter((out / "raw" / f"{spec.run_id}.stdout").read_bytes().decode().splitlines())
    expected = Counter(str(expected_sum(i + 1)) for i in range(2_000) for _ in range(3))
    assert printed == expected


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_concurrent_printing_never_tears_a_line(built, mode):
    """Four workers printing flat out for 0.3 s into one file: every line must be one whole partial sum
    c(c-1)/2 (a torn half or two glued lines is not triangular, or not a number), and the lines must be exactly
    each worker's 0, 1, 3, ... up to its own iteration count."""
    _, choice, out = built
    spec = contract_spec(choice.language.name, "sum-print", mode, workers=4, seconds=0.3, sink="file", tag=".tearing")
    run_ok(built, spec)
    result = json.loads((out / "raw" / f"{spec.run_id}.result.json").read_text())
    text = (out / "raw" / f"{spec.run_id}.stdout").read_bytes().decode("ascii", errors="replace")
    assert text.endswith("\n"), f"last line unterminated: {text[-40:]!r}"
    lines = text[:-1].split("\n")
    bad = [line for line in lines if not _is_partial_sum(line)]
    assert not bad, f"{len(bad)} of {len(lines)} lines are not whole partial sums, e.g. {bad[:5]}"
    printed = Counter(lines)
    iterations = [w["iterations"] for w in result["workers"]]
    expected = Counter(str(expected_sum(c)) for count in iterations for c in range(1, count + 1))
    missing, extra = expected - printed, printed - expected
    assert not missing and not extra, f"missing {list(missing.items())[:5]}, extra {list(extra.items())[:5]}"


def _is_partial_sum(line: str) -> bool:
    """True when line is the decimal of c(c-1)/2 for some c >= 1, written as the loop writes it."""
    if not line.isdigit() or (line != "0" and line.startswith("0")):
        return False
    value = int(line)
    c = (1 + math.isqrt(1 + 8 * value)) // 2
    return c * (c - 1) // 2 == value


def test_result_file_describes_the_run(built):
    _, choice, out = built
    spec = contract_spec(choice.language.name, "sum", "processes", workers=3, n=1_000, tag=".json")
    run_ok(built, spec)
    data = json.loads((out / "raw" / f"{spec.run_id}.result.json").read_text())
    # A contract-1 program writes 1, a contract-2 one writes 2 for every workload (langs/README.md section 9).
    assert data["contract"] in (1, 2) and data["lang"] == choice.language.name
    assert isinstance(data["runtime"]["name"], str) and isinstance(data["runtime"]["version"], str)
    assert data["args"] == {"workload": "sum", "mode": "processes", "workers": 3, "n": 1000, "seconds": None}
    assert [w["index"] for w in data["workers"]] == [0, 1, 2]
    # Processes mode: three children, none of them the parent.
    assert len({w["pid"] for w in data["workers"]}) == 3


def test_loop_is_not_collapsed_into_a_formula(built):
    """Work must grow with n. n grows x10 until one worker's loop takes 50 ms (start-up and JIT warm-up
    no longer dominate); a loop turned into a formula never gets there. Then 10x n must take >= 4x the time."""
    _, choice, _ = built

    def loop_seconds(n: int) -> float:
        spec = contract_spec(choice.language.name, "sum", "threads", workers=1, n=n, sink="devnull", tag=".timing")
        return run_ok(built, spec)["worker_elapsed_s"][0]

    n = 100_000
    while (elapsed := loop_seconds(n)) < 0.05 and n < MAX_TIMING_N:
        n *= 10
    assert elapsed >= 0.05, f"{n:,} iterations took {elapsed * 1e3:.3f} ms: the loop is collapsed into a formula"
    # A JIT compiles the loop when its compiler thread gets a core: on a busy machine, n's run may stay in the
    # interpreter long enough to take as long as 10x n's compiled one. A collapsed loop takes the same time at
    # any n, every time, so up to three tries tell the two apart.
    ratios = []
    while len(ratios) < 3 and (not ratios or ratios[-1] < 4):
        ratios.append(loop_seconds(n * 10) / loop_seconds(n))
    assert max(ratios) >= 4, (f"10x n ({n:,} → {n * 10:,}) took only x{max(ratios):.1f} the time at best "
                              f"({', '.join(f'x{r:.1f}' for r in ratios)}): is the loop collapsed?")


def test_bad_arguments_exit_2_with_nothing_on_stdout(built):
    _, _, out = built
    # neither --n nor --seconds
    assert_bad_argument(built, ["--workload", "sum", "--mode", "threads", "--workers", "2"], out / "bad.json")
