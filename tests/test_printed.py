"""The content check of printed partial sums: closed forms against brute force, and each kind of damage."""

from __future__ import annotations

import random

import pytest

from polylab.run.checks import expected_print_bytes, expected_sum
from polylab.run.printed import MOD, PrintedDigest, digest_file, expected_value_sums, printed_problem


def printed_lines(iterations: list[int], seed: int = 1) -> list[bytes]:
    """What workers with these iteration counts print, interleaved at random as concurrent writers do."""
    lines = [str(expected_sum(i + 1)).encode() for count in iterations for i in range(count)]
    random.Random(seed).shuffle(lines)
    return lines


def digest_of(lines: list[bytes], chunk: int = 7) -> PrintedDigest:
    data = b"".join(line + b"\n" for line in lines)
    digest = PrintedDigest()
    for start in range(0, len(data), chunk):
        digest.feed(data[start:start + chunk])
    return digest.finish()


def problem(lines: list[bytes], iterations: list[int]) -> str | None:
    expected = sum(expected_print_bytes(c) for c in iterations)
    return printed_problem(digest_of(lines), iterations, expected)


@pytest.mark.parametrize("iterations", [0, 1, 2, 3, 10, 1000])
def test_closed_forms_match_brute_force(iterations):
    values = [i * (i + 1) // 2 for i in range(iterations)]
    assert expected_value_sums(iterations) == (sum(values) % MOD, sum(v * v for v in values) % MOD)


def test_closed_forms_wrap_like_the_program():
    """Past 2^63 the program prints wrapped int64 values; their sums agree modulo 2^64."""
    big = 5_000_000_000
    total, squares = expected_value_sums(big)
    assert 0 <= total < MOD and 0 <= squares < MOD
    values = [expected_sum(i + 1) for i in range(big - 3, big)]
    head = expected_value_sums(big - 3)
    assert (head[0] + sum(values)) % MOD == total
    assert (head[1] + sum(v * v for v in values)) % MOD == squares


def test_correct_output_in_any_order_and_chunking_passes():
    iterations = [300, 250, 300]
    for chunk in (1, 7, 4096):
        lines = printed_lines(iterations)
        data = b"".join(line + b"\n" for line in lines)
        digest = PrintedDigest()
        for start in range(0, len(data), chunk):
            digest.feed(data[start:start + chunk])
        assert printed_problem(digest.finish(), iterations, len(data)) is None


def test_one_wrong_digit_of_the_same_width_is_found():
    iterations = [6, 6]
    lines = printed_lines(iterations, seed=3)
    index = lines.index(b"15")
    lines[index] = b"16"
    assert "do not add up" in problem(lines, iterations)


def test_a_missing_and_a_repeated_line_are_found():
    iterations = [50, 50]
    lines = printed_lines(iterations)
    assert "99 lines, expected 100 (1 fewer" in problem(lines[:-1], iterations)
    assert "101 lines, expected 100 (1 more" in problem(lines + lines[:1], iterations)


def test_a_repeated_line_in_place_of_a_missing_one_is_found():
    iterations = [50, 50]
    lines = printed_lines(iterations)
    lines[0] = lines[1]
    assert problem(lines, iterations) is not None


def test_torn_halves_glued_into_other_lines_are_found():
    """Writer A's "1234" torn as "12" + "34": "12" lands before B's "567", "34" stands alone. Count and
    bytes are unchanged; the values are not."""
    iterations = [200, 200]
    lines = printed_lines(iterations)
    a, b = next((i, j) for i, line in enumerate(lines) if len(line) == 4
                for j, other in enumerate(lines) if len(other) == 3 and j != i)
    torn = lines[a]
    lines[b] = torn[:2] + lines[b]
    lines[a] = torn[2:]
    assert printed_problem(digest_of(lines), iterations, sum(expected_print_bytes(c) for c in iterations))


def test_values_moved_in_pairs_are_caught_by_the_squares():
    iterations = [40]
    lines = printed_lines(iterations)
    low, high = lines.index(b"10"), lines.index(b"300")   # 10 → 11 and 300 → 299 keep the sum
    lines[low], lines[high] = b"11", b"299"
    assert "squares do not" in problem(lines, iterations)


@pytest.mark.parametrize("bad", [b"+15", b" 15", b"1.5", b"abc", b"015"])
def test_anything_but_plain_decimal_lines_is_refused(bad):
    iterations = [6]
    lines = printed_lines(iterations)
    lines[lines.index(b"15")] = bad
    assert "not a decimal integer" in problem(lines, iterations)


def test_a_last_line_without_newline_counts_as_bad():
    digest = PrintedDigest()
    digest.feed(b"0\n1\n3")
    assert digest.finish().bad_lines == 1 and digest.lines == 3


def test_digest_file_reads_a_file(tmp_path):
    iterations = [1000, 999]
    lines = printed_lines(iterations)
    path = tmp_path / "out"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    assert printed_problem(digest_file(path), iterations, path.stat().st_size) is None
