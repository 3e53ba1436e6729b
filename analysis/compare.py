"""What changed between two results sets A and B: per matched configuration, medians, the ratio B/A and a
Mann-Whitney U test (two-sided).

A row is "significant" only when three things hold: at least MIN_RUNS runs a side; its p-value stays below
ALPHA after the Benjamini–Hochberg correction for the number of rows compared (so the expected share of
false findings among the rows called significant is at most ALPHA); and the medians differ by at least the
minimum effect FACTOR (asv's `--factor`), because two sets of the same commit drift apart by a few percent
between runs on a shared machine, and four runs a side already separate perfectly (p = 0.029) under drift.
DEFAULT_FACTOR is the typical A/A drift measured on this lab's machines (README, "Comparing sets").

Runs match on experiment, language, variant, workload, mode and workers (and host, when both sets were run on
several hosts). The measure is throughput (iterations per second) for duration-mode runs — their wall time is
fixed by design — and wall time otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from scipy import stats as scipy_stats

from polylab.results.store import atomic_write_text

from . import tidy
from .document import Bullets, Document, Heading, Table, Text, to_html, to_markdown
from .load import ResultsSet, host_keys, language_names, load_results, variant_labels
from .methods import machine_facts

MATCH = ["experiment", "lang", "variant", "workload", "mode", "workers"]
ALPHA = 0.05
MIN_RUNS = 3
DEFAULT_FACTOR = 1.10
TEST = ("Mann-Whitney U, two-sided (scipy.stats.mannwhitneyu), p-values adjusted for the number of rows by "
        "Benjamini–Hochberg (scipy.stats.false_discovery_control)")


THROUGHPUT = "iterations/s"   # the measure of duration-mode runs, where higher is better


def _measure(runs: pd.DataFrame) -> tuple[str, pd.Series, bool]:
    """(name, values, higher is better) for one configuration's runs."""
    if runs["duration_mode"].all():
        return THROUGHPUT, runs["throughput"], True
    return "wall s", runs["wall_s"], False


def compare_runs(a: ResultsSet, b: ResultsSet, factor: float = DEFAULT_FACTOR) -> pd.DataFrame:
    """One row per configuration present in A or B."""
    runs_a, runs_b = tidy.measured(a), tidy.measured(b)
    hosts = [key for key in host_keys(runs_a) if key in host_keys(runs_b)]   # both run on several hosts: host by host
    match = [*MATCH, *hosts]
    text = [column for column in match if column != "workers"]
    for runs in (runs_a, runs_b):  # match on plain text: the two sets may order their categories differently
        runs[text] = runs[text].astype(str)
    keys = pd.concat([runs_a[match], runs_b[match]]).drop_duplicates()
    rank = {column: _first_seen_rank(a, b, column) for column in ("experiment", "lang", "mode", "workload")}
    keys = keys.sort_values(["experiment", "lang", "workload", "mode", "workers", *hosts],
                            key=lambda column: column.map(rank[column.name]) if column.name in rank else column)
    rows = []
    for key in keys[match].itertuples(index=False):
        side_a = runs_a[(runs_a[match] == pd.Series(key, index=match)).all(axis=1)]
        side_b = runs_b[(runs_b[match] == pd.Series(key, index=match)).all(axis=1)]
        rows.append({**dict(zip(match, key)), **_compare_sides(side_a, side_b)})
    table = pd.DataFrame(rows, columns=[*match, "measure", "n A", "median A", "n B", "median B", "B/A", "U", "p",
                                        "p adjusted", "verdict", "_better"])
    return judge(table, factor).drop(columns="_better")


def judge(table: pd.DataFrame, factor: float = DEFAULT_FACTOR) -> pd.DataFrame:
    """Verdicts for rows that have both sides: BH-adjusted p < ALPHA, enough runs, and |ratio| ≥ factor."""
    table = table.copy()
    tested = table["p"].notna()
    if tested.any():
        table.loc[tested, "p adjusted"] = scipy_stats.false_discovery_control(table.loc[tested, "p"], method="bh")
    enough = table[["n A", "n B"]].min(axis=1) >= MIN_RUNS
    large = (table["B/A"] >= factor) | (table["B/A"] <= 1 / factor)
    significant = tested & enough & (table["p adjusted"] < ALPHA) & large
    table.loc[tested, "verdict"] = "not significant"
    table.loc[significant, "verdict"] = table.loc[significant, "_better"].map(
        {True: "significant: B faster", False: "significant: B slower"})
    return table


def _first_seen_rank(a: ResultsSet, b: ResultsSet, column: str) -> dict:
    """Position of each category in A's order, then B's: the report's order of languages, modes, ..."""
    names = dict.fromkeys([*a.runs[column].cat.categories, *b.runs[column].cat.categories])
    return {str(name): position for position, name in enumerate(names)}


def _compare_sides(side_a: pd.DataFrame, side_b: pd.DataFrame) -> dict:
    present = side_b if side_a.empty else side_a
    name, _, higher_is_better = _measure(present)
    values_a = _measure(side_a)[1].dropna() if not side_a.empty else pd.Series(dtype=float)
    values_b = _measure(side_b)[1].dropna() if not side_b.empty else pd.Series(dtype=float)
    row = {"measure": name, "n A": len(values_a), "median A": values_a.median(), "n B": len(values_b),
           "median B": values_b.median(), "B/A": float("nan"), "U": float("nan"), "p": float("nan"),
           "p adjusted": float("nan"), "_better": None}
    if values_a.empty or values_b.empty:
        return {**row, "verdict": "only in B" if values_a.empty else "only in A"}
    row["B/A"] = values_b.median() / values_a.median()
    result = scipy_stats.mannwhitneyu(values_b, values_a, alternative="two-sided")
    row["U"], row["p"] = float(result.statistic), float(result.pvalue)
    return {**row, "verdict": None, "_better": (row["B/A"] > 1) == higher_is_better}


def _named_in_either(older: dict[str, str], newer: dict[str, str]) -> dict[str, str]:
    """Each key's name in B, else in A: a set written before display names were recorded knows only keys."""
    return {key: newer[key] if newer.get(key, key) != key else older.get(key, key)
            for key in dict.fromkeys([*older, *newer])}


def shown_names(a: ResultsSet, b: ResultsSet) -> dict[str, str]:
    """Language folder → the name both sides show: its display name in B, else in A."""
    def names(results: ResultsSet) -> dict[str, str]:
        return language_names(results.meta, [str(lang) for lang in results.runs["lang"].cat.categories])
    return _named_in_either(names(a), names(b))


def machines_side_by_side(a: ResultsSet, b: ResultsSet) -> pd.DataFrame:
    def labels(results: ResultsSet) -> dict[str, str]:
        return variant_labels(results.meta, list(results.meta.get("toolchains", {})))
    shown = _named_in_either(labels(a), labels(b))    # one row per variant: `toolchain PyPy`

    def facts(results: ResultsSet) -> dict:
        entries = results.meta.get("toolchains", {})
        toolchains = {f"toolchain {shown[key]}": f"{info.get('toolchain', '')} {info.get('version', '')} "
                                                 f"({info.get('backend', '')})" for key, info in entries.items()}
        return {"profile": results.meta.get("profile"), **machine_facts(results.machine), **toolchains}

    left, right = facts(a), facts(b)
    rows = [{"": key, "A": "" if left.get(key) is None else str(left.get(key)),
             "B": "" if right.get(key) is None else str(right.get(key))} for key in dict.fromkeys([*left, *right])]
    frame = pd.DataFrame(rows, columns=["", "A", "B"])
    frame["differs"] = (frame["A"] != frame["B"]).map({True: "≠", False: ""})
    return frame


def build_document(a: ResultsSet, b: ResultsSet, table: pd.DataFrame, factor: float = DEFAULT_FACTOR) -> Document:
    notes = [f"A = {a.directory}", f"B = {b.directory}", *method_notes(table, factor), *whole_set_shift(table)]
    return Document(f"polylab compare — {a.name} → {b.name}").add(
        Bullets(notes), Heading("Runs"), Table(shown_variants(table, shown_names(a, b))),
        Heading("Machines and toolchains"),
        Text("Differences here can explain differences above."), Table(machines_side_by_side(a, b)))


def shown_variants(table: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The table as read: the language's shown name, and the variant only where the language has several (a
    language's only variant bears its folder's name)."""
    variant = table["variant"].where(table["variant"] != table["lang"], "")
    return table.assign(lang=table["lang"].map(names), variant=variant).rename(columns={"lang": "language"})


def method_notes(table: pd.DataFrame, factor: float) -> list[str]:
    """How the rows were judged, what an A/A comparison would flag, and the count of each verdict."""
    counts = table["verdict"].value_counts()
    notes = [f"Test: {TEST} on each configuration's measured runs. A row is significant when its adjusted p < "
             f"{ALPHA}, each side has at least {MIN_RUNS} runs, and the medians differ by at least a factor "
             f"{factor:g} (B/A ≥ {factor:g} or ≤ {1 / factor:.3g}; change it with --factor). Measure: throughput "
             f"(iterations/s) for duration-mode runs, wall seconds otherwise. B/A is the ratio of the medians.",
             expected_false_findings(int(table["p"].notna().sum()))]
    largest = int(table[["n A", "n B"]].min(axis=1).max()) if not table.empty else 0
    if 0 < largest < 4:
        smallest_p = scipy_stats.mannwhitneyu(range(largest), range(largest, 2 * largest)).pvalue
        notes.append(f"With at most {largest} run{'s' if largest > 1 else ''} a side the smallest two-sided p the "
                     f"test can give is {smallest_p:.2g}: run ≥ 4 repetitions per configuration for a difference to "
                     "be able to show as significant.")
    return [*notes, "Verdicts: " + ", ".join(f"{count} {verdict}" for verdict, count in counts.items()) + "."]


def expected_false_findings(tested_rows: int) -> str:
    """What the rules flag when A and B do not differ (an A/A comparison: the same build twice)."""
    return (f"Where A and B do not differ (an A/A comparison: the same build twice), none of these {tested_rows} "
            f"rows is expected to be flagged: the correction keeps the chance that any is at most {ALPHA:.0%}, and "
            f"a difference below the factor never is.")


SHIFT_SHARE = 0.8   # of the rows with a ratio, pointing one way: the whole set moved
SHIFT_MIN_ROWS = 5


def whole_set_shift(table: pd.DataFrame) -> list[str]:
    """A note when most rows moved the same way: between two sets of one build, the machine's speed drifting
    between them does that (README, "Comparing sets"), and a reader should not read it row by row."""
    rows = table.dropna(subset=["B/A"])
    if len(rows) < SHIFT_MIN_ROWS:
        return []
    speed = rows["B/A"].where(rows["measure"] == THROUGHPUT, 1 / rows["B/A"])   # B's speed over A's
    faster = int((speed > 1).sum())
    same_way = max(faster, len(rows) - faster)
    if same_way < SHIFT_SHARE * len(rows):
        return []
    return [f"{same_way} of the {len(rows)} rows with both sides have B {'faster' if faster == same_way else 'slower'}"
            f" (median speed ratio B/A {speed.median():.2f}): a shift of the whole set, which the machine's speed "
            "drifting between the two sets gives as well as a change of build; read each row against it."]


def write_comparison(a_dir: Path, b_dir: Path, out: Path | None = None,
                     factor: float = DEFAULT_FACTOR) -> tuple[str, Path]:
    """Compare two results folders; writes compare.md and compare.html into out (default: B) and returns
    the Markdown text and the folder."""
    a, b = load_results(Path(a_dir)), load_results(Path(b_dir))
    out = Path(out) if out else b.directory
    out.mkdir(parents=True, exist_ok=True)
    document = build_document(a, b, compare_runs(a, b, factor), factor)
    markdown = to_markdown(document, out)
    atomic_write_text(out / "compare.md", markdown)
    atomic_write_text(out / "compare.html", to_html(document))
    return markdown, out
