"""What the user sees while a matrix runs: a live bar with ETA on a terminal, one line per run elsewhere."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column

console = Console(stderr=True, highlight=False, soft_wrap=True)   # a long path or hint stays on one line


def say(message: str) -> None:
    console.print(message, markup=False)


STATUS_STYLE = {"ok": "green", "failed": "red", "timeout": "red", "invalid": "yellow"}


def _kept() -> Column:
    """A column that is never wrapped or cut: the counts and times must stay readable on a narrow terminal."""
    return Column(no_wrap=True)


class MatrixProgress:
    """Weights runs by their expected duration so the ETA is honest for duration-mode matrices.

    On a narrow terminal the run's label is cut short (with …) before anything else: the bar keeps at most
    BAR_WIDTH columns, and the counts, elapsed time and ETA are never cut."""

    BAR_WIDTH = 20

    def __init__(self, total_weight: float, count: int):
        self.live = console.is_terminal and sys.stderr.isatty()
        self.count, self.done = count, 0
        self.progress = Progress(
            BarColumn(bar_width=self.BAR_WIDTH), TextColumn("{task.fields[runs]} runs · elapsed", table_column=_kept()),
            TimeElapsedColumn(table_column=_kept()), TextColumn("· ETA", table_column=_kept()),
            TimeRemainingColumn(table_column=_kept()),
            TextColumn("{task.description}", table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
            console=console, disable=not self.live, expand=True)
        self.task = self.progress.add_task("", total=total_weight, runs=f"0/{count}")

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def started(self, label: str) -> None:
        self.progress.update(self.task, description=label)

    def finished(self, label: str, status: str, wall_s: float | None, weight: float, reason: str | None) -> None:
        self.done += 1
        self.progress.update(self.task, advance=weight, runs=f"{self.done}/{self.count}")
        wall = f" {wall_s:.2f} s" if wall_s is not None else ""   # a run that never started has no time
        text = f"[{self.done}/{self.count}] {label}: {status}{wall}" + (f" — {reason}" if reason else "")
        if self.live and status == "ok":
            return
        style = STATUS_STYLE.get(status, "")
        console.print(text, style=style, markup=False, highlight=False)
