"""Runtime variants in the analysis: expectations and claims from the thread model each variant's manifest
declares (meta.json), verdicts per variant, the single-thread cost of dropping the GIL, and two variants of
one set compared run for run. The sets are synthetic (synthetic.py), relabelled as variants."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import claims, tidy
from analysis.claims import CONTRADICTED, SUPPORTED
from analysis.load import load_results
from analysis.report import build_report
from analysis.variants import compare_variants, single_thread_cost
from invoke import Context
from labpaths import ROOT, load_by_path
from polylab.results.schema import SCHEMA_VERSION, variant_key

tasks = load_by_path("polylab_tasks", ROOT / "tasks.py")


def variant_set(make_set, folder: Path, parts: list[dict]) -> Path:
    """One results set whose runs are those of several synthetic sets, each relabelled as a variant: `lang`,
    `variant`, `label`, `threads` (declared in meta.json as the lab records it) and the synthetic scenario
    (`source`: the synthetic language whose behaviour it has; `scenario`: Scenario fields)."""
    folder.mkdir(parents=True)
    rows, samples, threads, toolchains = [], [], [], {}
    for seed, part in enumerate(parts, start=1):
        source = make_set(langs=(part["source"],), failures=False, seed=seed, **part.get("scenario", {}))
        key = variant_key(part["lang"], part["variant"])
        rename = {}
        for line in (source / "runs.jsonl").read_text().splitlines():
            row = json.loads(line)
            new_id = row["run_id"].replace(f".{part['source']}.", f".{key}.", 1)
            rename[row["run_id"]] = new_id
            rows.append({**row, "schema_version": SCHEMA_VERSION, "run_id": new_id, "lang": part["lang"],
                         "variant": part["variant"], "toolchain": part["variant"]})
        for table, into in (("samples.parquet", samples), ("threads.parquet", threads)):
            frame = pd.read_parquet(source / table)
            into.append(frame.assign(run_id=frame["run_id"].map(rename)))
        meta = json.loads((source / "meta.json").read_text())
        toolchains[key] = {"lang": part["lang"], "variant": part["variant"], "display": part["lang"].title(),
                           "label": part["label"], "threads": part["threads"], "toolchain": part["variant"],
                           "backend": "local", "path": "/usr/bin/x", "version": "1", "build": "f" * 64}
    meta.update(schema_version=SCHEMA_VERSION, toolchains=toolchains, skipped={}, planned_runs=len(rows))
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "runs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    pd.concat(samples).to_parquet(folder / "samples.parquet", index=False)
    pd.concat(threads).to_parquet(folder / "threads.parquet", index=False)
    return folder


# CPython with the GIL, free-threaded CPython (no GIL, 0.8 of the speed on one thread) and PyPy (a GIL, 10×).
PYTHONS = [
    {"lang": "python", "variant": "cpython", "label": "CPython", "threads": "one-core", "source": "python"},
    {"lang": "python", "variant": "cpython-ft", "label": "CPython free-threaded", "threads": "all-cores",
     "source": "python", "scenario": {"gil": False, "speed": 0.8}},
    {"lang": "python", "variant": "pypy", "label": "PyPy", "threads": "one-core", "source": "python",
     "scenario": {"speed": 10.0}},
    {"lang": "go", "variant": "go", "label": "Go", "threads": "all-cores", "source": "go"},
]


@pytest.fixture(scope="module")
def pythons(make_set, tmp_path_factory) -> Path:
    return variant_set(make_set, tmp_path_factory.mktemp("variants") / "set", PYTHONS)


@pytest.fixture(scope="module")
def judged(pythons) -> dict:
    return {claim.key: claim for claim in claims.evaluate(load_results(pythons))}


def test_each_variant_is_a_coordinate_with_its_declared_thread_model(pythons):
    runs = load_results(pythons).runs
    assert list(runs["language"].cat.categories) == ["CPython", "CPython free-threaded", "PyPy", "Go"]
    assert dict(runs.groupby("language", observed=True)["threads"].first()) == {
        "CPython": "one-core", "CPython free-threaded": "all-cores", "PyPy": "one-core", "Go": "all-cores"}
    assert set(runs.loc[runs["language"] == "PyPy", "variant_key"]) == {"python:pypy"}


def test_claim_a_is_judged_for_each_one_core_variant_and_a2_for_the_free_threaded_build(judged):
    assert judged["a"].by_variant == {"CPython": SUPPORTED, "PyPy": SUPPORTED}
    assert judged["a2"].by_variant == {"CPython free-threaded": SUPPORTED} and judged["a2"].verdict == SUPPORTED
    assert judged["b"].by_variant == {"Go": SUPPORTED}                  # a language with no one-core variant
    assert judged["c"].by_variant == {"CPython": SUPPORTED, "PyPy": SUPPORTED}
    groups = judged["a"].evidence["group"].tolist()
    assert all(group.startswith(("CPython · threads", "PyPy · threads")) for group in groups)


def test_free_threading_costs_one_thread_a_fifth_of_its_speed(pythons, judged):
    costs = single_thread_cost(load_results(pythons))
    assert set(costs["variant"]) == {"CPython free-threaded"} and set(costs["baseline"]) == {"CPython"}
    assert set(costs["mode"]) == {"threads", "processes"} and (costs["n"] == 3).all()
    assert costs["ratio"].tolist() == pytest.approx([0.8, 0.8], abs=0.05)
    assert (costs["ratio_low"] <= costs["ratio"]).all() and (costs["ratio"] <= costs["ratio_high"]).all()
    assert costs["cost"].tolist() == pytest.approx([-0.2, -0.2], abs=0.05)
    cost_rows = judged["a2"].evidence[judged["a2"].evidence["measure"].str.startswith("single-thread cost")]
    assert len(cost_rows) == 2 and cost_rows["outcome"].str.contains("throughput; Mann-Whitney p").all()


def test_a_test_language_declaring_one_core_is_judged_by_claim_a(make_set, tmp_path):
    """Expectations come from the manifest: 'toy' is no Python, yet declaring one-core puts it under claim
    (a), its expected Task Manager panel on one core, and it is judged by (a)'s rule both ways."""
    gil = {"lang": "toy", "variant": "toy", "label": "Toy", "threads": "one-core", "source": "python"}
    parallel = {**gil, "scenario": {"gil": False}}
    for part, verdict in ((gil, SUPPORTED), (parallel, CONTRADICTED)):
        folder = variant_set(make_set, tmp_path / verdict, [part, PYTHONS[3]])
        results = load_results(folder)
        judged = {claim.key: claim for claim in claims.evaluate(results)}
        assert judged["a"].by_variant == {"Toy": verdict} and judged["a"].verdict == verdict
        assert "Toy" not in judged["b"].by_variant and judged["b"].by_variant == {"Go": SUPPORTED}
    toy = results.runs[(results.runs["language"] == "Toy") & (results.runs["mode"] == "threads")
                       & (results.runs["workers"] == 8) & results.runs["measured"]].head(1)
    grid = tidy.core_timeline(results, toy)
    expected = grid[(grid["view"] == "expected (article)") & grid["in_window"]].groupby("core")["pct"].mean()
    assert expected.loc[0] == pytest.approx(100) and expected.loc[1] == 0      # one core, as declared


def test_a_set_without_declared_thread_models_falls_back_to_the_articles_reading(default_results):
    assert dict(default_results.runs.groupby("lang", observed=True)["threads"].first()) == {
        "csharp": "all-cores", "go": "all-cores", "java": "all-cores", "python": "one-core"}


def test_two_variants_of_one_set_compare_run_for_run(pythons):
    table = compare_variants(load_results(pythons), "python:cpython", "python:cpython-ft")
    threads = table[(table["experiment"] == "cpu") & (table["mode"] == "threads")].set_index("workers")
    assert threads.loc[1, "B/A"] == pytest.approx(0.8, abs=0.05)        # one thread: slower without the GIL
    assert threads.loc[2, "B/A"] == pytest.approx(1.6, abs=0.1)         # two: both cores
    assert threads["verdict"].str.startswith("not significant").all()   # 3 runs a side: p ≥ 0.1, never below 0.05


def test_invoke_compare_with_variants_writes_its_files_and_checks_the_names(pythons, tmp_path, capsys):
    from invoke import Exit
    tasks.compare_within(Context(), str(pythons), variants="python:cpython,python:cpython-ft", out=str(tmp_path))
    written = (tmp_path / "compare-variants.md").read_text()
    assert capsys.readouterr().out.strip() == written.strip()
    assert "A = CPython (python:cpython)" in written and "B = CPython free-threaded (python:cpython-ft)" in written
    assert (tmp_path / "compare-variants.html").exists()
    assert "Where A and B do not differ (an A/A comparison" in written   # not "an A/A comparison is expected…"
    assert "With at most 3 runs a side the smallest two-sided p the test can give is 0.1" in written
    assert "a shift of the whole set" not in written                      # two sets' drift: not within one set
    with pytest.raises(Exit, match=r"variant 'python:jython' is not in .*; it has python:cpython, "
                                   r"python:cpython-ft, python:pypy, go"):
        tasks.compare_within(Context(), str(pythons), variants="python:cpython,python:jython")
    with pytest.raises(Exit, match="--variants takes two variants of the set"):
        tasks.compare_within(Context(), str(pythons), variants="python:cpython")


def test_the_report_shows_verdicts_per_variant_and_the_single_thread_cost(pythons):
    build_report(pythons)
    text = (pythons / "summary.md").read_text()
    assert "**Yes: holds for CPython and PyPy.**" in text and "**Yes: holds for CPython free-threaded.**" in text
    assert "### Single-thread cost of dropping the GIL" in text
    lines = text.splitlines()
    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip("|").split("|")]
    header = cells(next(line for line in lines if line.startswith("| claim ")))
    matrix = {line.split(")")[0].removeprefix("| [("): dict(zip(header, cells(line)))
              for line in lines if line.startswith("| [(")}
    free_threaded = "CPython free-threaded (all-cores)"
    assert (matrix["a"][free_threaded], matrix["a2"][free_threaded], matrix["a"]["CPython (one-core)"]) == (
        "—", "supported", "supported")   # (a) is not about the all-cores build, (a2) is


def test_the_single_thread_cost_names_the_versions_and_says_when_they_differ(pythons):
    import copy
    import dataclasses
    from analysis.report import _free_threading_cost
    results = load_results(pythons)
    same = _free_threading_cost(results)
    assert same[2].frame["versions"].tolist() == ["1 vs 1", "1 vs 1"] and "differ in version" not in same[1].text
    meta = copy.deepcopy(results.meta)
    meta["toolchains"]["python:cpython-ft"]["version"] = "3.13.5"
    meta["toolchains"]["python:cpython"]["version"] = "3.11.7"
    other = _free_threading_cost(dataclasses.replace(results, meta=meta))
    assert other[2].frame["versions"].tolist() == ["3.13.5 vs 3.11.7"] * 2
    assert ("The builds compared differ in version too (CPython free-threaded 3.13.5 against CPython 3.11.7): the "
            "ratio holds the change of version as well as free-threading's cost") in other[1].text
