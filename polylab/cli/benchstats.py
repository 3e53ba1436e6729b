"""The statistics of the shipped benchmarks: spreads of ratios, and a confidence interval of a median.

The interval is distribution-free, from order statistics: for n values sorted x(1) ≤ … ≤ x(n), the true median
lies between x(k) and x(n+1−k) unless at least n+1−k of the values fall on one side of it, which happens with
probability 2·P(B ≤ k−1), B ~ Binomial(n, 1/2), whatever the distribution (continuous; ties only widen it).
k is the largest rank whose interval still covers the median with the asked confidence, so the coverage
printed is at least that (it moves in steps: 96.9 % at n = 6, 96.5 % at n = 100). Below 6 values no
interval reaches 95 %.
"""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

MEDIAN_INTERVAL_METHOD = "distribution-free, order statistics x(k)..x(n+1-k), binomial(n, 1/2) ranks"


def spread(values: list[float | None]) -> dict | None:
    """Median, range and count of the values that could be measured (None: a ratio without a denominator)."""
    known = [value for value in values if value is not None]
    if not known:
        return None
    return {"median": statistics.median(known), "min": min(known), "max": max(known), "n": len(known)}


def median_interval(values: list[float | None], confidence: float = 0.95) -> dict | None:
    """The confidence interval of the median of the known values: low, high, the coverage it reaches and the
    ranks used; None where there are too few values for any interval to reach `confidence`."""
    known = sorted(value for value in values if value is not None)
    n = len(known)
    tail_allowed = (1 - Fraction(confidence).limit_denominator(10**6)) / 2
    rank, below = 0, 0   # below: how many outcomes of n fair coins give fewer than `rank` heads
    while rank < n and Fraction(below + math.comb(n, rank), 2**n) <= tail_allowed:
        below += math.comb(n, rank)
        rank += 1
    if rank == 0:
        return None
    return {"low": known[rank - 1], "high": known[n - rank], "coverage": float(1 - Fraction(2 * below, 2**n)),
            "ranks": [rank, n + 1 - rank], "n": n}


def within(interval: dict | None, centre: float | None, relative: float) -> bool:
    """Whether the interval lies inside centre ± relative·centre."""
    if interval is None or centre is None:
        return False
    return centre * (1 - relative) <= interval["low"] and interval["high"] <= centre * (1 + relative)


def ratio(numerator, denominator) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator
