"""What a `sum-print` run printed, checked by content without keeping it: an order-independent digest.

Lines from concurrent workers interleave in any order, so the check compares four numbers that do not
depend on order with their closed forms: the line count, the byte count, and the sum and the sum of squares
of the printed values modulo 2^64. A wrong digit changes the sum; a missing or repeated line changes the
count; two torn halves glued into other lines ("12" + "345\\n" + "67\\n") keep count and bytes but change the
sum; the sum of squares catches the rarer edits that keep the sum (two values moved apart by the same
amount in opposite directions).

The reader parses whole lines with numpy's C parser in chunks, so it keeps up with a pipe at tens of
millions of lines per second; the reader thread's own CPU is recorded with each run (`stdout_reader_cpu_s`)
so its cost stands beside the program's. Values are taken modulo 2^64 on both sides: the program's sums wrap as
signed 64-bit integers, and x ≡ y (mod 2^64) implies x² ≡ y² (mod 2^64).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

MOD = 2 ** 64
CHUNK_BYTES = 1 << 20


@dataclass
class PrintedDigest:
    """Running digest of printed lines; feed() raw bytes in any chunking, then read the totals."""

    lines: int = 0
    size: int = 0                 # bytes, newlines included, after terminal CR-LF is folded to LF
    value_sum: int = 0            # Σ value mod 2^64
    square_sum: int = 0           # Σ value² mod 2^64
    bad_lines: int = 0            # lines that are not a plain decimal integer
    first_bad: bytes | None = None
    _tail: bytes = field(default=b"", repr=False)

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        data = self._tail + chunk
        end = data.rfind(b"\n") + 1
        self._tail = data[end:]
        if end:
            self._add_lines(data[:end])

    def finish(self) -> "PrintedDigest":
        """A last line without its newline counts as a line (and as a bad one: the contract ends every line)."""
        if self._tail:
            self._note_bad(self._tail)
            self.lines += 1
            self._tail = b""
        return self

    def _add_lines(self, block: bytes) -> None:
        count = block.count(b"\n")
        values = _parse_fast(block) if _plain_decimal(block) else None
        if values is None or values.size != count:
            values = self._parse_slowly(block)
        wrapped = values.astype(np.uint64)
        self.lines += count
        self.value_sum = (self.value_sum + int(wrapped.sum(dtype=np.uint64))) % MOD
        self.square_sum = (self.square_sum + int((wrapped * wrapped).sum(dtype=np.uint64))) % MOD

    def _parse_slowly(self, block: bytes) -> np.ndarray:
        values = []
        for line in block.split(b"\n")[:-1]:
            if _is_decimal(line):
                values.append(int(line) % MOD)
            else:
                self._note_bad(line)
        return np.array(values, dtype=np.uint64)

    def _note_bad(self, line: bytes) -> None:
        self.bad_lines += 1
        if self.first_bad is None:
            self.first_bad = line[:40]


def _is_decimal(line: bytes) -> bool:
    digits = line[1:] if line[:1] == b"-" else line
    return digits.isdigit() and (digits == b"0" or not digits.startswith(b"0"))


def _plain_decimal(block: bytes) -> bool:
    """numpy accepts '+5', ' 5', '05' and '5.0' as 5; the contract prints only digits, '-' and newlines,
    with no leading zero."""
    return not block.translate(None, b"0123456789-\n") and not _has_leading_zero(block)


def _has_leading_zero(block: bytes) -> bool:
    """A line that starts with '0' or '-0' and is not "0" itself (bytes.count: a regex is 50x slower here)."""
    inside = block.count(b"\n0") - block.count(b"\n0\n") + block.count(b"\n-0")
    first = block.startswith(b"-0") or (block.startswith(b"0") and not block.startswith(b"0\n"))
    return inside > 0 or first


def _parse_fast(block: bytes) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return np.fromstring(block, dtype=np.int64, sep="\n")
        except ValueError:   # a line numpy cannot read (it raises or, in older versions, stops short)
            return None


def digest_file(path) -> PrintedDigest:
    digest = PrintedDigest()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.feed(chunk)
    return digest.finish()


def _power_sums(m: int) -> tuple[int, int, int, int]:
    """Σ i^k for i = 0..m, k = 1..4 (Faulhaber), exact."""
    s1 = m * (m + 1) // 2
    s2 = m * (m + 1) * (2 * m + 1) // 6
    s3 = s1 * s1
    s4 = m * (m + 1) * (2 * m + 1) * (3 * m * m + 3 * m - 1) // 30
    return s1, s2, s3, s4


def expected_value_sums(iterations: int) -> tuple[int, int]:
    """(Σ T_i, Σ T_i²) mod 2^64 over the partial sums T_i = i(i+1)/2 that one worker prints, i < iterations."""
    if iterations <= 0:
        return 0, 0
    s1, s2, s3, s4 = _power_sums(iterations - 1)
    return (s2 + s1) // 2 % MOD, (s4 + 2 * s3 + s2) // 4 % MOD


def printed_problem(digest: PrintedDigest, iterations: list[int], expected_bytes: int | None) -> str | None:
    """What differs between what was printed and the partial sums `iterations` imply, most telling first."""
    want_lines = sum(iterations)
    if digest.bad_lines:
        return f"stdout has {digest.bad_lines} line(s) that are not a decimal integer, e.g. {digest.first_bad!r}"
    if digest.lines != want_lines:
        more = "more" if digest.lines > want_lines else "fewer"
        return (f"stdout has {digest.lines} lines, expected {want_lines} "
                f"({abs(digest.lines - want_lines)} {more}: lines missing or repeated)")
    if expected_bytes is not None and digest.size != expected_bytes:
        return f"stdout has {digest.size} bytes, expected {expected_bytes} for the partial sums"
    sums = [expected_value_sums(c) for c in iterations]
    want_sum = sum(s for s, _ in sums) % MOD
    want_squares = sum(q for _, q in sums) % MOD
    if digest.value_sum != want_sum:
        return ("stdout has the expected number of lines and bytes, but the printed values do not add up to the "
                "partial sums (Σ mod 2^64 differs): a wrong, repeated-for-missing or torn line")
    if digest.square_sum != want_squares:
        return ("stdout's values add up, but their squares do not (Σ v² mod 2^64 differs): values were altered in "
                "pairs or torn lines were glued")
    return None
