"""analysis/trace.py: per-core busy time from a traced run's switch events."""

import pandas as pd
import pytest

from analysis.trace import busy_bins, on_cpu_intervals
from polylab.results.schema import TRACE_COLUMNS
from polylab.sample.schedparse import parse

from labpaths import ROOT

SCRIPT = (ROOT / "tests" / "fixtures" / "sched-script.txt").read_text().splitlines()


def _events() -> pd.DataFrame:
    return pd.DataFrame(parse(SCRIPT, root=600, t0=100.0).rows, columns=list(TRACE_COLUMNS))


def test_each_out_closes_the_same_threads_in_on_that_core():
    slices = on_cpu_intervals(_events())
    assert [(tid, cpu) for tid, cpu in zip(slices["tid"], slices["cpu"])] == [(600, 0), (601, 1), (602, 0), (601, 1)]
    assert (slices["end_s"] - slices["start_s"]).tolist() == pytest.approx([0.00299, 0.005, 0.006, 0.0023])


def test_busy_bins_are_the_share_of_each_10_ms_a_core_ran_the_run():
    binned = busy_bins(_events(), cores=[0, 1])
    assert binned["t_s"].tolist() == pytest.approx([0.0, 0.01, 0.0, 0.01])
    assert binned["core"].tolist() == [0, 0, 1, 1]
    assert binned["busy_pct"].tolist() == pytest.approx([89.9, 0.0, 70.0, 3.0])
