"""Claim (m), the speed ranking: supported, contradicted and inconclusive on synthetic sets whose throughputs
are set per language, and the rule's edges (runs a side, the minimum factor, count mode's start-up share)."""

from __future__ import annotations

import json

import pytest

from analysis import claims_ranking, compare
from analysis.claims import CONTRADICTED, INCONCLUSIVE, SUPPORTED, evaluate
from analysis.load import load_results
from polylab.results.upgrades import UPGRADES

ARTICLE_ORDER = {"rust": 10.0, "go": 9.0, "csharp": 5.0, "java": 4.0, "c": 12.0}
ADDED = {"rust": ("go", "Rust"), "c": ("go", "C")}  # languages the synthetic set lacks: copies of another's rows


def ranked(make_set, speeds: dict, reps: int = 5, workers: tuple = (1, 2), count_startup: float | None = None,
           extra_java: float | None = None):
    """A synthetic set whose sum threads runs have the given per-language throughputs (×1e8 iterations/s, each
    repetition 0.1% above the previous so no two tie); count_startup: count mode, start-up this share of wall."""
    folder = make_set(langs=("csharp", "go", "java"), reps=reps, workers=workers, samples=False, failures=False)
    rows = [{**UPGRADES[2].row(UPGRADES[1].row(json.loads(line))), "schema_version": 3}
            for line in (folder / "runs.jsonl").read_text().splitlines()]   # version 3: rows name their variant
    meta = {**UPGRADES[2].meta(json.loads((folder / "meta.json").read_text())), "schema_version": 3}
    for lang, (source, display) in ADDED.items():
        if lang in speeds:
            rows += [{**row, "lang": lang, "variant": lang, "run_id": row["run_id"].replace(f".{source}.", f".{lang}.")}
                     for row in rows if row["lang"] == source]
            meta["toolchains"][lang] = {**meta["toolchains"][source], "display": display, "lang": lang,
                                        "variant": lang}
    if extra_java is not None:
        rows += [{**row, "variant": "21", "run_id": row["run_id"].replace(".java.", ".java:21.")}
                 for row in rows if row["lang"] == "java"]
        speeds = {**speeds, "java:21": extra_java}
        meta["toolchains"]["java:21"] = {**meta["toolchains"]["java"], "lang": "java", "label": "Java 21",
                                         "variant": "21"}
    kept = []
    for row in rows:
        key = row["lang"] if row["variant"] != "21" else "java:21"
        if key not in speeds:
            continue
        speed = speeds[key] * 1e8 * (1 + 0.001 * row["rep"])
        if count_startup is None:
            row["iterations"] = int(speed * row["inner_s"])
        else:   # the same work for all: the faster, the shorter
            row["seconds"], row["n"], row["iterations"] = None, 10**9 // row["workers"], 10**9
            row["inner_s"] = 1e9 / speed
            row["wall_s"] = row["inner_s"] / (1 - count_startup)
        kept.append(row)
    (folder / "runs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in kept))
    (folder / "meta.json").write_text(json.dumps(meta))
    return load_results(folder)


def ranking(results):
    return next(claim for claim in evaluate(results) if claim.key == "m")


def test_rust_and_go_above_csharp_and_java_supports_it_per_variant(make_set):
    claim = ranking(ranked(make_set, ARTICLE_ORDER, extra_java=3.0))
    assert claim.verdict == SUPPORTED, claim.reason
    assert claim.reason.startswith("all 2 groups in the article's order")
    assert set(claim.by_variant.values()) == {SUPPORTED} and "Java 21" in claim.by_variant
    pairs = claim.evidence[claim.evidence["measure"].str.startswith("fast / slow")]
    assert len(pairs) == 2 * 2 * 3 and (pairs["outcome"] == "significant: B faster").all()
    c_rows = claim.evidence[claim.evidence["group"].str.endswith("· C")]
    assert len(c_rows) == 2 and c_rows["outcome"].str.startswith("shown, not judged").all()
    assert not pairs["group"].str.contains(r"\bC\b vs|vs C$").any()   # C is in no pair


def test_only_the_experiment_designed_for_it_is_judged(make_set):
    """Another experiment's sum runs (the claims profile's noise runs: 4 a side, too few for the corrected test
    over all pairs to pass) leave the verdict the designed experiment gives."""
    runs_file = ranked(make_set, ARTICLE_ORDER).directory / "runs.jsonl"
    rows = [json.loads(line) for line in runs_file.read_text().splitlines()]
    noise = [{**row, "experiment": "noise", "run_id": f"noise-{row['run_id']}"} for row in rows
             if row["experiment"] == "cpu" and row["rep"] <= 4]
    runs_file.write_text("".join(json.dumps(row) + "\n" for row in rows + noise))
    both = load_results(runs_file.parent)
    judged, _ = claims_ranking.ranking_runs(both)
    assert set(judged["experiment"].astype(str)) == {"cpu"}
    claim = ranking(both)
    assert claim.verdict == SUPPORTED and not claim.evidence["group"].str.contains("noise").any()


def test_java_above_go_contradicts_it_and_names_the_pair(make_set):
    claim = ranking(ranked(make_set, {**ARTICLE_ORDER, "java": 8.5, "go": 6.0}))
    assert claim.verdict == CONTRADICTED
    assert "Java faster than Go" in claim.reason
    assert claim.by_variant["Go"] == CONTRADICTED and claim.by_variant["Rust"] == SUPPORTED


def test_a_lead_shown_under_the_factor_contradicts_it_and_is_named(make_set):
    claim = ranking(ranked(make_set, {**ARTICLE_ORDER, "csharp": 8.5}))   # Go / C# = 1.06 < 1.10
    assert claim.verdict == CONTRADICTED
    assert "Go not ×1.1 faster than C#" in claim.reason and "Rust not" not in claim.reason
    assert claim.by_variant["Go"] == CONTRADICTED and claim.by_variant["Rust"] == SUPPORTED
    pairs = claim.evidence.set_index("group")
    assert pairs.loc["sum · threads · cpu · 1 worker · Go vs C#", "outcome"] == claims_ranking.NOT_AHEAD
    assert pairs.loc["sum · threads · cpu · 1 worker · Go vs C#", "spread"].startswith("p (not ahead) adjusted = ")


def test_a_lead_under_the_factor_with_runs_too_few_to_show_it_stays_inconclusive(make_set):
    claim = ranking(ranked(make_set, {**ARTICLE_ORDER, "csharp": 8.5}, reps=3))   # 3 a side: p ≥ 0.05
    assert claim.verdict == INCONCLUSIVE and claim.by_variant == {}
    assert "not judged: too few runs a side for p < 0.05 in any pair" in claim.evidence["outcome"].tolist()


@pytest.mark.parametrize("ratio, verdict", [
    (compare.DEFAULT_FACTOR * 1.002, SUPPORTED),
    (compare.DEFAULT_FACTOR * 0.998, INCONCLUSIVE),   # under the factor, but the runs overlap 1.1 × C#'s
    (compare.DEFAULT_FACTOR * 0.99, CONTRADICTED),    # every Go run below 1.1 × every C# run: not ahead by it
])
def test_the_minimum_factor_at_its_edge(make_set, ratio, verdict):
    # medians: Go 9 × 1.003 against C# at Go / ratio, every repetition 0.1% apart on both sides alike
    claim = ranking(ranked(make_set, {**ARTICLE_ORDER, "csharp": 9.0 / ratio}))
    assert claim.verdict == verdict, claim.reason


@pytest.mark.parametrize("reps, verdict", [(4, SUPPORTED), (3, INCONCLUSIVE)])
def test_runs_a_side_at_the_edge_of_significance(make_set, reps, verdict):
    # 4 against 4 can give p = 0.029 < 0.05; 3 against 3 at best p = 0.1
    claim = ranking(ranked(make_set, ARTICLE_ORDER, reps=reps))
    assert claim.verdict == verdict, claim.reason
    if verdict == INCONCLUSIVE:
        assert claim.reason.startswith(f"too few runs a side for p < {compare.ALPHA} in every group (")


def test_least_p_is_mann_whitneys_smallest():
    assert claims_ranking.least_p(4, 4) == pytest.approx(2 / 70)
    assert claims_ranking.least_p(3, 3) == pytest.approx(0.1)
    assert claims_ranking.least_p(0, 5) == 1.0


def test_without_rust_or_without_full_cores_it_stays_inconclusive(make_set):
    no_rust = ranking(ranked(make_set, {k: v for k, v in ARTICLE_ORDER.items() if k != "rust"}))
    assert no_rust.verdict == INCONCLUSIVE and "no runs of rust" in no_rust.reason
    one_worker = ranking(ranked(make_set, ARTICLE_ORDER, workers=(1,)))
    assert one_worker.verdict == INCONCLUSIVE and "no group at full cores" in one_worker.reason


@pytest.mark.parametrize("startup, counted", [(0.0499, True), (0.0501, False)])
def test_count_mode_counts_only_when_start_up_is_under_5_percent(make_set, startup, counted):
    claim = ranking(ranked(make_set, ARTICLE_ORDER, count_startup=startup))
    left_out = claim.evidence["outcome"].str.startswith("left out: count mode").sum()
    if counted:
        assert claim.verdict == SUPPORTED, claim.reason
        assert left_out == 0 and (claim.evidence["measure"] == "wall s").any()
    else:
        assert claim.verdict == INCONCLUSIVE and left_out == 2
