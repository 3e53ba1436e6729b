"""invoke compare A B: matched runs, medians, ratio, Mann-Whitney U; 'not significant' when it is not."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from analysis import compare
from analysis.load import load_results
from invoke import Context
from labpaths import ROOT, load_by_path

tasks = load_by_path("polylab_tasks", ROOT / "tasks.py")


@pytest.fixture(scope="module")
def base(make_set):
    return make_set(reps=5, seed=2, samples=False)


def test_a_real_difference_is_significant(base, make_set):
    faster = make_set(reps=5, seed=3, speed=1.3, samples=False)
    table = compare.compare_runs(load_results(base), load_results(faster))
    both = table[table["n A"].gt(0) & table["n B"].gt(0)]
    assert len(both) == 40 and (both["measure"] == "iterations/s").all()
    assert (both["verdict"] == "significant: B faster").all()
    assert both["B/A"].median() == pytest.approx(1.3, abs=0.05)
    assert (both["p"] < 0.05).all()
    assert table.iloc[0][["experiment", "lang", "mode", "workers"]].tolist() == ["cpu", "csharp", "threads", 1]


def test_the_same_data_is_not_significant(base, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(base, copy)
    table = compare.compare_runs(load_results(base), load_results(copy))
    assert (table["verdict"] == "not significant").all()
    assert table["B/A"].dropna().eq(1.0).all()


@pytest.mark.parametrize("speed, shifted", [(0.6, "B slower (median speed ratio B/A 0.60)"), (1.0, None)])
def test_a_shift_of_every_row_is_named_as_one(base, make_set, speed, shifted):
    """Two sets of one build on a machine whose speed drifted: every row moves the same way, and the notes say so."""
    a, b = load_results(base), load_results(make_set(reps=5, seed=3, speed=speed, samples=False))
    notes = compare.whole_set_shift(compare.compare_runs(a, b))
    if shifted:
        assert len(notes) == 1 and notes[0].startswith("40 of the 40 rows with both sides have " + shifted)
    else:
        assert notes == []


def test_fewer_than_three_runs_are_never_significant(make_set):
    a, b = make_set(reps=2, seed=2, samples=False), make_set(reps=2, seed=3, speed=2.0, samples=False)
    table = compare.compare_runs(load_results(a), load_results(b))
    assert (table["verdict"] == "not significant").all()
    assert table["B/A"].median() == pytest.approx(2.0, abs=0.1)  # a clear ratio, still not a finding


def test_configurations_on_one_side_only_are_listed(base, make_set):
    table = compare.compare_runs(load_results(base), load_results(make_set(langs=("go",), reps=3, samples=False)))
    assert set(table.loc[table["lang"] != "go", "verdict"]) == {"only in A"}
    assert table.loc[table["lang"] != "go", "B/A"].isna().all()


def test_count_mode_compares_wall_time():
    runs = pd.DataFrame({"duration_mode": [False] * 4, "wall_s": [1.0, 1.1, 1.05, 1.02], "throughput": [1.0] * 4})
    slower = runs.assign(wall_s=runs["wall_s"] * 2)
    row = compare.judge(pd.DataFrame([compare._compare_sides(runs, slower)])).iloc[0]
    assert row["measure"] == "wall s" and row["verdict"] == "significant: B slower" and row["B/A"] == 2.0


def test_an_a_a_comparison_with_drift_flags_nothing(make_set):
    """Two sets of one build, the second 4% slower everywhere (a shared machine drifts): four runs a side
    separate every row perfectly, yet no row is a finding."""
    a, b = make_set(reps=4, seed=5, samples=False), make_set(reps=4, seed=6, speed=0.96, samples=False)
    table = compare.compare_runs(load_results(a), load_results(b))
    tested = table[table["p"].notna()]
    assert len(tested) == 40 and (tested["p"] < 0.05).sum() >= 10   # the raw test alone would cry wolf
    assert (tested["verdict"] == "not significant").all()


def test_the_a_a_note_counts_the_rows_tested(base, make_set):
    """Only the rows with both sides are tested, so only they could be flagged: Go's 10 of the 40 here."""
    table = compare.compare_runs(load_results(base), load_results(make_set(langs=("go",), reps=3, samples=False)))
    assert len(table) == 40 and (table["verdict"] == "only in A").sum() == 30
    assert compare.method_notes(table, compare.DEFAULT_FACTOR)[1] == (
        "Where A and B do not differ (an A/A comparison: the same build twice), none of these 10 rows is expected "
        "to be flagged: the correction keeps the chance that any is at most 5%, and a difference below the factor "
        "never is.")


def test_a_15_percent_effect_is_found_with_four_runs_a_side(make_set):
    a, b = make_set(reps=4, seed=5, samples=False), make_set(reps=4, seed=6, speed=1.15, samples=False)
    table = compare.compare_runs(load_results(a), load_results(b))
    tested = table[table["p"].notna()]
    assert (tested["verdict"] == "significant: B faster").mean() >= 0.9
    assert (tested["p adjusted"] >= tested["p"]).all()


def test_the_factor_is_the_edge_of_a_finding():
    runs = pd.DataFrame({"duration_mode": [True] * 5, "throughput": [100.0, 101, 99, 100.5, 99.5]})
    for ratio, factor, verdict in [(1.12, 1.10, "significant: B faster"), (1.08, 1.10, "not significant"),
                                   (1.08, 1.05, "significant: B faster"), (1 / 1.12, 1.10, "significant: B slower")]:
        side_b = runs.assign(throughput=runs["throughput"] * ratio)
        row = compare.judge(pd.DataFrame([compare._compare_sides(runs, side_b)]), factor).iloc[0]
        assert row["verdict"] == verdict, (ratio, factor)


def test_the_correction_counts_the_rows():
    """One row at p = 0.029 among 40 is not a finding after Benjamini–Hochberg; 40 such rows are."""
    row = {"n A": 4, "n B": 4, "B/A": 1.5, "p": 0.0286, "_better": True, "verdict": None, "p adjusted": None}
    quiet = [{**row, "B/A": 1.0, "p": 0.9}] * 39
    assert compare.judge(pd.DataFrame([row] + quiet))["verdict"].iloc[0] == "not significant"
    assert (compare.judge(pd.DataFrame([row] * 40))["verdict"] == "significant: B faster").all()


def test_outputs_markdown_html_and_machines_side_by_side(base, make_set, tmp_path, capsys):
    other = make_set(reps=5, seed=3, samples=False, machine={"cpu_model": "Other CPU"})
    tasks.compare(Context(), str(base), str(other), str(tmp_path / "out"))
    printed = capsys.readouterr().out
    written = (tmp_path / "out" / "compare.md").read_text()
    assert printed.strip() == written.strip()
    assert "Mann-Whitney U, two-sided" in written
    assert re.search(r"^\| cpu_model +\| Synthetic CPU +\| Other CPU +\| ≠ +\|$", written, re.MULTILINE)
    assert re.search(r"^\| memory_bytes +\| 8.0 GiB +\| 8.0 GiB +\| +\|$", written, re.MULTILINE)   # not bytes
    # a set from before variants: each language is one variant, named after it, so no variant is shown
    assert re.search(r"^\| cpu +\| C# +\| +\| sum +\| threads +\| 1 +\|", written, re.MULTILINE)
    assert re.search(r"^\| toolchain C# +\| mono 6.8.0.105 \(local\) +\|", written, re.MULTILINE)
    assert "csharp" not in written  # display names, not folders
    page = (tmp_path / "out" / "compare.html").read_text()
    assert "<table" in page and "Other CPU" in page and "http" not in page


def test_compare_writes_into_b_by_default(base, make_set):
    other = make_set(reps=1, seed=3, samples=False)
    markdown, folder = compare.write_comparison(base, other)
    assert folder == other and (other / "compare.html").exists()
    assert "smallest two-sided p the test can give" in markdown  # 1 run a side: say why nothing can show


def test_compare_needs_two_results_folders(base, tmp_path):
    from invoke import Exit
    with pytest.raises(Exit, match="has no runs.jsonl"):
        tasks.compare(Context(), str(base), str(tmp_path))


def test_a_set_without_display_names_compares_under_the_other_sets_names(make_set):
    old = load_results(make_set(reps=1, workers=(1,), samples=False, displays=False))
    new = load_results(make_set(reps=1, workers=(1,), samples=False, seed=3))
    assert compare.shown_names(old, new) == compare.shown_names(new, old) == {
        "csharp": "C#", "go": "Go", "java": "Java", "python": "Python"}
    toolchains = compare.machines_side_by_side(old, new).set_index("").filter(like="toolchain", axis=0)
    assert list(toolchains.index) == ["toolchain C#", "toolchain Go", "toolchain Java", "toolchain Python"]
    assert (toolchains["differs"] == "").all()


def test_factor_must_be_a_ratio_above_one():
    from invoke import Exit

    from polylab.cli import commands as cli
    assert cli.factor_value(None, 1.1) == 1.1 and cli.factor_value("1.25", 1.1) == 1.25
    for bad in ("0.5", "1", "x"):
        with pytest.raises(Exit, match="--factor expects a ratio above 1 such as 1.10, got"):
            cli.factor_value(bad, 1.1)
