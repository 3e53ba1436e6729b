"""A results set with a file that cannot be read: the runs are still loaded; a sample table that cannot be read
is empty, with the reason, which the figures and claims that need it give as theirs; skipped lines of
runs.jsonl and unreadable tables are said in the report's overview."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analysis import claims, figures
from analysis.document import to_markdown
from analysis.load import load_results
from analysis.report import build_document
from polylab.results.schema import SAMPLES, THREADS
from polylab.results.store import DamagedResults


@pytest.fixture
def copied(default_set, tmp_path):
    folder = tmp_path / "set"
    shutil.copytree(default_set, folder)
    return folder


def loaded_with_warning(folder, match: str):
    with pytest.warns(DamagedResults, match=match):
        return load_results(folder)


def test_a_truncated_threads_table_leaves_the_runs_and_samples_and_says_why(copied, default_results):
    table = copied / THREADS
    table.write_bytes(table.read_bytes()[:100])
    results = loaded_with_warning(copied, "threads.parquet could not be read: Parquet magic bytes not found")
    reason = ("threads.parquet could not be read: Parquet magic bytes not found in footer. Either the file is "
              "corrupted or this is not a parquet file")
    assert results.unreadable == {THREADS: reason}
    assert results.threads.empty and list(results.threads.columns) == list(default_results.threads.columns)
    numbers = default_results.threads.select_dtypes("number").columns
    assert results.threads[numbers].dtypes.equals(default_results.threads[numbers].dtypes)
    pd.testing.assert_frame_equal(results.runs, default_results.runs)
    pd.testing.assert_frame_equal(results.samples, default_results.samples)
    with pytest.raises(figures.NoData, match=f"^{reason}$"):
        figures.migrations(results)
    judged = {claim.key: claim for claim in claims.evaluate(results)}
    needing = [spec.key for spec in claims.all_claims() if spec.needs_samples]
    assert needing and all(judged[key].verdict == claims.INCONCLUSIVE and judged[key].reason ==
                           f"{reason} — this claim needs the per-core and per-thread samples" for key in needing)


def test_a_samples_table_without_its_columns_is_unreadable_too(copied):
    pd.DataFrame({"run_id": ["x"]}).to_parquet(copied / SAMPLES)
    results = loaded_with_warning(copied, "samples.parquet could not be read: it has no column")
    assert results.unreadable == {SAMPLES: "samples.parquet could not be read: it has no column t_s, core, "
                                           "system_pct, workload_pct"}
    assert not results.has_samples and not results.threads.empty
    with pytest.raises(figures.NoData, match="^samples.parquet could not be read: it has no column"):
        figures.task_manager(results)


def test_the_overview_says_what_could_not_be_read(copied):
    table = copied / THREADS
    table.write_bytes(b"not parquet")
    runs = copied / "runs.jsonl"
    lines = runs.read_text().splitlines()
    runs.write_text("\n".join([lines[0], "{", lines[1], "[1, 2]", *lines[2:]]) + "\n")
    with pytest.warns(DamagedResults) as caught:
        results = load_results(copied)
    assert [str(w.message) for w in caught][0] == (f"{runs}: skipped 2 unreadable lines (lines 2, 4); a run written "
                                                    f"there counts as not run")
    assert results.skipped_lines == (2, 4) and len(results.runs) == len(lines)
    text = to_markdown(build_document(results, [], claims.evaluate(results)), copied)
    assert "runs.jsonl: skipped 2 unreadable lines (lines 2, 4); a run written there is not in this report." in text
    assert ("Per-thread samples: threads.parquet could not be read: Parquet magic bytes not found in footer. Either "
            "the file is corrupted or this is not a parquet file; the figures and claims that need them say so.") in text
    assert "Per-core samples: present." in text


def test_a_set_that_reads_whole_notes_nothing(default_results):
    assert default_results.unreadable == {} and default_results.skipped_lines == ()
