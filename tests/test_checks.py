import json

import pytest

from polylab.run.printed import PrintedDigest
from polylab.run.checks import check_result, check_stdout, expected_print_bytes, expected_sum, wrap_int64


def brute_force(iterations):
    s, total = 0, 0
    for i in range(iterations):
        s += i
        total += len(str(s)) + 1
    return total


@pytest.mark.parametrize("iterations", [0, 1, 2, 3, 4, 5, 13, 14, 15, 100, 4473, 4474, 10_000])
def test_expected_print_bytes_matches_brute_force(iterations):
    assert expected_print_bytes(iterations) == brute_force(iterations)


def test_sums_wrap_like_int64():
    assert expected_sum(10_000_000) == 49_999_995_000_000
    assert expected_sum(5_000_000_000) == -5946744076209551616      # wrapped, as Go/Java/C# compute it
    assert wrap_int64(2 ** 63) == -(2 ** 63)
    assert expected_print_bytes(5_000_000_000) is None


def result(tmp_path, **changes):
    data = {"contract": 1, "lang": "go", "runtime": {"name": "go", "version": "1"},
            "args": {"workload": "sum", "mode": "threads", "workers": 2, "n": 10, "seconds": None},
            "workers": [{"index": k, "pid": 1, "iterations": 10, "sum": 45, "elapsed_s": 0.1} for k in range(2)],
            "elapsed_s": 0.2}
    data.update(changes)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    return path


def test_good_result_passes(tmp_path):
    checked = check_result(result(tmp_path), "go", "sum", "threads", 2, 10)
    assert checked.ok and checked.iterations == [10, 10]


@pytest.mark.parametrize("changes, problem", [
    ({"contract": 3}, "contract version 3, expected 1 or 2"),
    ({"workers": [{"index": 0, "pid": 1, "iterations": 10, "sum": 46, "elapsed_s": 0.1}] * 2},
     "worker #0 checksum 46 != c(c-1)/2 = 45 for c = 10"),
    ({"workers": []}, "result lists 0 workers, expected 2"),
    ({"lang": "java"}, "result says lang 'java', expected 'go'"),
])
def test_bad_results_are_named(tmp_path, changes, problem):
    checked = check_result(result(tmp_path, **changes), "go", "sum", "threads", 2, 10)
    assert not checked.ok and checked.problem == problem


def test_missing_and_garbage_result_files(tmp_path):
    assert check_result(tmp_path / "none.json", "go", "sum", "threads", 2, 10).problem == "no result file written"
    (tmp_path / "bad.json").write_text("{not json")
    assert check_result(tmp_path / "bad.json", "go", "sum", "threads", 2, 10).problem.startswith("result file is not")


def test_stdout_checks():
    def printed(text: bytes) -> PrintedDigest:
        digest = PrintedDigest()
        digest.feed(text)
        return digest.finish()
    assert check_stdout("sum", [10], printed(b"")) is None
    assert check_stdout("sum", [10], printed(b"ab\n")) == "`sum` must print nothing, got 1 lines / 3 bytes"
    assert check_stdout("sum-print", [3, 3], printed(b"0\n1\n3\n0\n1\n3\n")) is None
    assert check_stdout("sum-print", [3, 3], printed(b"0\n1\n3\n0\n1\n")).startswith("stdout has 5 lines, expected 6")
    assert "bytes, expected" in check_stdout("sum-print", [3, 3], printed(b"0\n1\n3\n0\n1\n33\n"))
    assert "do not add up" in check_stdout("sum-print", [3, 3], printed(b"0\n1\n3\n0\n1\n4\n"))
