"""Two slices of one results set compared run for run: two hosts of a set run on several
(`invoke compare-within --results SET --hosts A,B`) or two runtime variants (`--variants A,B`, analysis/variants.py).

A slice is the runs whose `column` holds one value (a host's name, a variant key). Runs of A and B are matched
on the coordinates the comparison names (`match`: every coordinate of a run but those the slices differ in), and
each matched pair is judged as analysis/compare.py judges two sets: medians, ratio B/A, Mann-Whitney U with the
Benjamini–Hochberg correction and the minimum factor (`_compare_sides`, `judge`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from polylab.results.schema import HOST
from polylab.results.store import atomic_write_text

from . import tidy
from .compare import (DEFAULT_FACTOR, MATCH, _compare_sides, judge, machines_side_by_side, method_notes, shown_names,
                      shown_variants)
from .document import Bullets, Document, Heading, Table, Text, to_html, to_markdown
from .load import ResultsSet, load_results

COMPARED = ["measure", "n A", "median A", "n B", "median B", "B/A", "U", "p", "p adjusted", "verdict"]


def compare_slices(results: ResultsSet, column: str, a: str, b: str, match: list[str],
                   factor: float = DEFAULT_FACTOR) -> pd.DataFrame:
    """The runs whose `column` is b against those whose `column` is a: one row per value of `match` that either
    slice ran, in the set's order, with compare.py's columns and verdicts (B is b)."""
    runs = tidy.measured(results)
    sides = [runs[runs[column].astype(str) == value] for value in (a, b)]
    keys = pd.concat([side[match] for side in sides]).drop_duplicates().sort_values(match)
    groups = [dict(iter(side.groupby(match, observed=True))) for side in sides]
    empty = runs.iloc[0:0]
    rows = [{**dict(zip(match, key)), **_compare_sides(groups[0].get(key, empty), groups[1].get(key, empty))}
            for key in keys.itertuples(index=False, name=None)]
    table = pd.DataFrame(rows, columns=[*match, *COMPARED, "_better"])
    return judge(table, factor).drop(columns="_better")


def slice_document(results: ResultsSet, a: str, b: str, table: pd.DataFrame, factor: float = DEFAULT_FACTOR,
                   *extra) -> Document:
    """The comparison of two slices of `results` (a and b: how each is shown), its notes, its table of runs and
    any `extra` blocks after it."""
    notes = [f"Set: {results.directory}", f"A = {a}", f"B = {b}", *method_notes(table, factor)]
    return Document(f"polylab compare — {results.name}: {a} → {b}").add(Bullets(notes), Heading("Runs"),
                                                                        Table(table), *extra)


def write_document(document: Document, out: Path, stem: str) -> str:
    """<stem>.md and <stem>.html in out; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    markdown = to_markdown(document, out)
    atomic_write_text(out / f"{stem}.md", markdown)
    atomic_write_text(out / f"{stem}.html", to_html(document))
    return markdown


def compare_hosts(results: ResultsSet, a: str, b: str, factor: float = DEFAULT_FACTOR) -> pd.DataFrame:
    """Host b against host a of a set run on several hosts, run for run: the same experiment, language,
    variant, workload, mode and workers on each."""
    return compare_slices(results, HOST, a, b, MATCH, factor)


def write_host_comparison(directory: Path, a: str, b: str, out: Path | None = None,
                          factor: float = DEFAULT_FACTOR) -> tuple[str, Path]:
    """Compare two hosts of one results set; writes compare-hosts.md and .html into out (default: the set) and
    returns the Markdown text and the folder."""
    results = load_results(Path(directory))
    out = Path(out) if out else results.directory
    table = compare_hosts(results, a, b, factor)
    hosts = [load_results(results.directory, host=host) for host in (a, b)]
    document = slice_document(results, f"host {a}", f"host {b}", shown_variants(table, shown_names(*hosts)), factor,
                              Heading("Machines and toolchains"),
                              Text("Differences here can explain differences above (A = host "
                                   f"{a}, B = host {b})."), Table(machines_side_by_side(*hosts)))
    return write_document(document, out, "compare-hosts"), out
