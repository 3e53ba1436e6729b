"""Runtime variants of one language side by side, within one results set: the single-thread cost of a
variant that drops the GIL, and a run-for-run comparison of any two variants
(`invoke compare-within --results SET --variants A,B`), with the ratios and the test that
analysis/compare.py applies to two sets.

Which variant is the GIL build another is weighed against comes from the thread models the manifests
declare: for a language with `one-core` and `all-cores` variants (Python: CPython and PyPy, and the
free-threaded CPython), each all-cores variant is set against the language's first one-core variant in the
set's order, which is the manifest's (CPython).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from polylab.results.schema import ThreadModel

from . import tidy
from .compare import DEFAULT_FACTOR, _compare_sides
from .document import Document
from .load import ResultsSet, host_keys, load_results
from .slices import compare_slices, slice_document, write_document

WITHIN = ["experiment", "workload", "mode", "workers"]   # two variants of one set match on these
COST_COLUMNS = ["experiment", "mode", "variant", "baseline", "n", "baseline_throughput", "variant_throughput",
                "ratio", "ratio_low", "ratio_high", "cost", "p"]


def _pairs(runs: pd.DataFrame) -> list[tuple[str, str]]:
    """(all-cores variant, its baseline) by shown name, for each language that has variants of both models."""
    order = [str(name) for name in runs["language"].cat.categories if name in set(runs["language"].astype(str))]
    pairs = []
    for _, group in runs.groupby(["lang", *host_keys(runs)], observed=True):
        names = set(group["language"].astype(str))
        one = [name for name in order if name in names and
               (group.loc[group["language"] == name, "threads"] == ThreadModel.ONE_CORE).all()]
        every = [name for name in order if name in names and name not in one]
        pairs += [(variant, one[0]) for variant in every] if one else []
    return pairs


def single_thread_cost(results: ResultsSet) -> pd.DataFrame:
    """What dropping the GIL costs one thread: per experiment and mode, the median 1-worker throughput of each
    all-cores variant over its baseline's (ratio), the ratio's range over every pair of runs (ratio_low,
    ratio_high), cost = ratio − 1, and the Mann-Whitney p of compare.py's test."""
    runs = tidy.measured(results)
    runs = runs[(runs["workload"] == "sum") & (runs["workers"] == 1) & runs["throughput"].notna()]
    rows = []
    for variant, baseline in _pairs(runs):
        for (experiment, mode), group in runs.groupby(["experiment", "mode"], observed=True):
            # compare.py measures duration-mode runs by throughput: so are these, whatever mode counted them
            side_a = group[group["language"] == baseline].assign(duration_mode=True)
            side_b = group[group["language"] == variant].assign(duration_mode=True)
            if side_a.empty or side_b.empty:
                continue
            compared = _compare_sides(side_a, side_b)
            rows.append({"experiment": str(experiment), "mode": str(mode), "variant": variant, "baseline": baseline,
                         "n": min(compared["n A"], compared["n B"]), "baseline_throughput": compared["median A"],
                         "variant_throughput": compared["median B"], "ratio": compared["B/A"],
                         "ratio_low": side_b["throughput"].min() / side_a["throughput"].max(),
                         "ratio_high": side_b["throughput"].max() / side_a["throughput"].min(),
                         "cost": compared["B/A"] - 1, "p": compared["p"]})
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def compare_variants(results: ResultsSet, a: str, b: str, factor: float = DEFAULT_FACTOR) -> pd.DataFrame:
    """Variant b against variant a (variant keys) run for run: one row per experiment, workload, mode and
    worker count either ran (and host, in a set run on several), with compare.py's columns and verdicts (B is b)."""
    return compare_slices(results, "variant_key", a, b, [*WITHIN, *host_keys(tidy.measured(results))], factor)


def _shown(results: ResultsSet, key: str) -> str:
    names = results.runs.loc[results.runs["variant_key"] == key, "language"].astype(str)
    return f"{names.iloc[0]} ({key})" if not names.empty else key


def variants_document(results: ResultsSet, a: str, b: str, table: pd.DataFrame,
                      factor: float = DEFAULT_FACTOR) -> Document:
    return slice_document(results, _shown(results, a), _shown(results, b), table, factor)


def write_variant_comparison(directory: Path, a: str, b: str, out: Path | None = None,
                             factor: float = DEFAULT_FACTOR) -> tuple[str, Path]:
    """Compare two variants of one results set; writes compare-variants.md and .html into out (default: the
    set) and returns the Markdown text and the folder."""
    results = load_results(Path(directory))
    out = Path(out) if out else results.directory
    document = variants_document(results, a, b, compare_variants(results, a, b, factor), factor)
    return write_document(document, out, "compare-variants"), out
