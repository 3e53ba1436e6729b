"""The progress bar as a user sees it on a terminal: counts, elapsed time and ETA stay whole at 80 columns."""

import functools
import io

import pytest
from rich.console import Console
from rich.progress import Progress

from polylab import console as console_module

LABEL = "quick-cpu: python processes ×8 sum 1s (rep 3)"


@pytest.fixture
def bar_after_two_runs(monkeypatch):
    """A matrix of 10 runs, each weighing 10 s, two of them done at 10 s and 20 s on a fake clock."""
    now = [0.0]
    monkeypatch.setattr(console_module, "Progress", functools.partial(Progress, get_time=lambda: now[0]))
    progress = console_module.MatrixProgress(total_weight=100.0, count=10)
    for run in (1, 2):
        progress.started(LABEL)
        now[0] = 10.0 * run
        progress.finished(LABEL, "ok", 10.0, weight=10.0, reason=None)
    return progress


def rendered(progress, width: int) -> str:
    out = io.StringIO()
    Console(width=width, force_terminal=True, color_system=None, file=out).print(progress.progress.get_renderable())
    return out.getvalue().rstrip()


def test_at_80_columns_the_label_is_cut_and_the_times_are_whole(bar_after_two_runs):
    line = rendered(bar_after_two_runs, 80)
    assert "\n" not in line and len(line) == 80
    assert line.endswith("2/10 runs · elapsed 0:00:20 · ETA 0:01:20 quick-cpu: pytho…")


def test_a_wide_terminal_shows_the_whole_label(bar_after_two_runs):
    assert rendered(bar_after_two_runs, 160).endswith(f"2/10 runs · elapsed 0:00:20 · ETA 0:01:20 {LABEL}")
