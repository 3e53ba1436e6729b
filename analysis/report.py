"""Write the report files of a results set (minimal: summary.md with the summary table)."""

from __future__ import annotations

from pathlib import Path

from polylab.progress import say
from polylab.store import atomic_write_text

from .summary import runs_frame, status_counts, summary_table


def build_report(directory: Path) -> Path:
    runs = runs_frame(directory)
    table = summary_table(runs)
    text = "\n\n".join([f"# polylab summary — {directory.name}", "## Medians of measured runs",
                        table.to_markdown(index=False) if not table.empty else "(no ok runs)",
                        "## Status per language and mode", status_counts(runs).to_markdown(index=False)])
    path = directory / "summary.md"
    atomic_write_text(path, text + "\n")
    say(text)
    return path
