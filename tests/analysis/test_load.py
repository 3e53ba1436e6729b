"""Loading a results set: every documented column, typed; categories ordered as the set declares them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.load import MODES, WORKLOADS, language_names, load_results


def test_categories_are_ordered_as_declared(default_results):
    runs = default_results.runs
    assert list(runs["lang"].cat.categories) == ["csharp", "go", "java", "python"]  # meta.json toolchains
    assert list(runs["mode"].cat.categories) == MODES == ["threads", "processes", "pool", "async"]
    assert list(runs["workload"].cat.categories) == WORKLOADS and WORKLOADS[:3] == ["sum", "sum-print", "pingpong"]
    assert list(runs["experiment"].cat.categories) == ["cpu", "print"]
    assert all(runs[c].cat.ordered for c in ("lang", "mode", "workload", "experiment", "status"))


def test_language_order_follows_toolchains_then_unknown_alphabetically(make_set):
    folder = make_set(langs=("python", "go"), reps=1, samples=False, failures=False)
    meta = json.loads((folder / "meta.json").read_text())
    meta["toolchains"] = {"python": meta["toolchains"]["python"], "go": meta["toolchains"]["go"]}
    (folder / "meta.json").write_text(json.dumps(meta))
    with open(folder / "runs.jsonl", "a") as handle:
        handle.write(json.dumps({"run_id": "x", "lang": "ada", "status": "failed", "reason": "boom"}) + "\n")
    runs = load_results(folder).runs
    assert list(runs["lang"].cat.categories) == ["python", "go", "ada"]
    assert list(runs["language"].cat.categories) == ["Python", "Go", "ada"]  # no toolchain entry: the folder
    assert runs.loc[runs["run_id"] == "x", "language"].tolist() == ["ada"]


def test_language_names_are_display_names_with_fallbacks():
    meta = {"toolchains": {"csharp": {"display": "C#"}, "python": {"display": "Python"},
                           "python-ft": {"display": "Python"}, "go": {}}}
    assert language_names(meta, ["csharp", "python", "python-ft", "go", "ada"]) == {
        "csharp": "C#", "python": "Python (python)", "python-ft": "Python (python-ft)", "go": "go", "ada": "ada"}


def test_numbers_are_floats_and_derived_columns_follow_their_definitions(default_results):
    runs = default_results.runs
    for column in ("wall_s", "inner_s", "user_s", "sys_s", "parallelism", "iterations", "max_rss_bytes"):
        assert runs[column].dtype == "float64", column
    assert runs["workers"].dtype == "Int64" and runs["warmup"].dtype == bool
    ok = runs[runs["status"] == "ok"]
    assert ok["throughput"].to_numpy() == pytest.approx((ok["iterations"] / ok["inner_s"]).to_numpy())
    cpu = ok["user_s"] + ok["sys_s"]
    assert ok["parallelism_upper"].to_numpy() == pytest.approx((cpu / ok["inner_s"]).to_numpy())
    assert ok["switches_per_s"].to_numpy() == pytest.approx(
        ((ok["ctx_voluntary"] + ok["ctx_involuntary"]) / ok["wall_s"]).to_numpy())
    assert set(runs["cores"]) == {2}


def test_measured_excludes_warmups_and_failures(default_results):
    runs = default_results.runs
    assert runs["warmup"].sum() == 2 and (runs["status"] == "timeout").sum() == 1
    measured = runs[runs["measured"]]
    assert len(measured) == len(runs) - 3
    assert (measured["status"] == "ok").all() and not measured["warmup"].any()


def test_sample_tables_are_typed(default_results):
    samples, threads = default_results.samples, default_results.threads
    assert list(samples.columns) == ["run_id", "t_s", "core", "system_pct", "workload_pct"]
    assert samples["core"].dtype == "int64" and samples["workload_pct"].dtype == "float64"
    assert {"tid", "core", "cpu_s", "migrations"} <= set(threads.columns)
    # the synthetic set's table predates schema 9's wait_s: read with the column there, empty
    assert threads["wait_s"].dtype == "float64" and threads["wait_s"].isna().all() and len(threads)
    assert set(samples["core"]) == {0, 1}
    assert default_results.has_samples and default_results.cores == 2


def test_a_set_without_samples_loads_with_empty_typed_tables(make_set):
    results = load_results(make_set(samples=False, reps=1))
    assert not results.has_samples and results.threads.empty
    assert list(results.samples.columns) == ["run_id", "t_s", "core", "system_pct", "workload_pct"]
    assert results.runs["samples"].isna().all()  # sampler columns exist even when the sampler was off


def test_failed_rows_without_measurements_load(make_set):
    folder = make_set(reps=1, samples=False, failures=False)
    with open(folder / "runs.jsonl", "a") as handle:
        handle.write(json.dumps({"run_id": "cpu.go.threads.w1.r9", "experiment": "cpu", "lang": "go",
                                 "mode": "threads", "workload": "sum", "workers": 1, "rep": 9, "warmup": False,
                                 "status": "failed", "reason": "build failed: no go"}) + "\n")
        handle.write('{"torn line')
    runs = load_results(folder).runs
    failed = runs[runs["run_id"] == "cpu.go.threads.w1.r9"].iloc[0]
    assert failed["status"] == "failed" and pd.isna(failed["wall_s"]) and not failed["measured"]


def test_samples_keep_only_the_cores_the_runs_could_use(make_set):
    folder = make_set(reps=1, langs=("go",), failures=False)
    samples = pd.read_parquet(folder / "samples.parquet")
    other = samples[samples["core"] == 0].assign(core=5, system_pct=100.0, workload_pct=0.0)
    pd.concat([samples, other]).to_parquet(folder / "samples.parquet", index=False)  # a core outside the affinity
    results = load_results(folder)
    assert results.core_ids == [0, 1] and set(results.samples["core"]) == {0, 1}
