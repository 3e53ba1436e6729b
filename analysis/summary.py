"""Tables of a results set: medians and spread per configuration, failures and skips, the CSV run table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import tidy
from .document import format_spread
from .load import ResultsSet

CONFIGURATION = ["experiment", "language", "toolchain", "mode", "workload", "workers"]  # language: the variant shown
SUMMARY_MEASURES = {
    "wall_s": "wall s",
    "inner_s": "work s (own clock)",
    "startup_s": "start-up s",
    "throughput": "iterations/s",
    "parallelism": "parallelism",
    "switches_per_s": "switches/s",
    "max_rss_mib": "largest process peak MiB",
    "tree_memory_mib": "tree MiB, each page once",
}
# A set from before the tree's memory was read once per page has only the sum of each process's own peak.
OLDER_TREE_MEASURE = ("tree_rss_mib", "tree Σ of peaks MiB")


def _summary_measures(runs: pd.DataFrame) -> dict[str, str]:
    if runs["tree_memory_mib"].notna().any() or runs["tree_rss_mib"].isna().all():
        return SUMMARY_MEASURES
    column, name = OLDER_TREE_MEASURE
    return {**{key: label for key, label in SUMMARY_MEASURES.items() if key != "tree_memory_mib"}, column: name}


def summary_table(results: ResultsSet) -> pd.DataFrame:
    """One row per configuration: n measured runs, and each measure as 'median (min–max)'."""
    runs = tidy.measured(results)
    measures = _summary_measures(runs)
    columns = [*CONFIGURATION, "n", *measures.values()]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, group in runs.groupby(CONFIGURATION, observed=True, sort=True):
        row = dict(zip(CONFIGURATION, key))
        row["n"] = len(group)
        for column, name in measures.items():
            row[name] = format_spread(tidy.spread(group[column]), with_n=False)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def failures(results: ResultsSet) -> pd.DataFrame:
    """Runs that are not ok, with their reason and the end of their stderr."""
    runs = results.runs[results.runs["status"] != "ok"]
    tail = runs["stderr_tail"].fillna("").astype(str).str.strip().str[-300:]
    return pd.DataFrame({"run": runs["run_id"], "status": runs["status"].astype(str),
                         "reason": runs["reason"].fillna(""), "exit code": runs["exit_code"],
                         "stderr (end)": tail}).reset_index(drop=True)


def skipped(meta: dict) -> pd.DataFrame:
    """Variants left out of the set, by the name reports show, with the reason (and install hint) the lab gave."""
    rows = [{"language": name, "reason": why} for name, why in skipped_variants(meta).items()]
    return pd.DataFrame(rows, columns=["language", "reason"])


def skipped_variants(meta: dict) -> dict[str, str]:
    """meta.json's `skipped`: the variant's shown name → why. Its entry's `label` where the lab recorded one (sets
    before schema 9 hold the variant key and one line of text)."""
    shown = {}
    for key, why in (meta.get("skipped") or {}).items():
        if isinstance(why, dict):
            key, why = why.get("label") or key, " — ".join(str(why[k]) for k in ("reason", "hint") if why.get(k))
        shown[str(key)] = str(why)
    return shown


def status_counts(results: ResultsSet) -> pd.DataFrame:
    runs = results.runs.assign(kind=results.runs["warmup"].map({True: "warm-up", False: "measured"}))
    counts = runs.groupby(["language", "mode", "kind", "status"], observed=True).size().rename("runs")
    table = counts.reset_index().pivot_table(index=["language", "mode", "kind"], columns="status", values="runs",
                                             fill_value=0, observed=True)
    return table.rename_axis(columns=None).reset_index()   # no header cell named after the pivoted column


def write_run_table(results: ResultsSet, path: Path) -> None:
    """Every row of runs.jsonl (warm-ups and failures too, see `status` and `warmup`), with the derived
    numbers; list and object fields as JSON text."""
    table = results.runs.copy()
    for column in [c for c in table.columns if table[c].dtype == "object"]:  # lists and dicts are objects
        if table[column].map(lambda v: isinstance(v, (list, dict))).any():
            table[column] = table[column].map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
    tmp = path.with_name(f".{path.name}.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(path)
