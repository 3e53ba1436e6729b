"""The report files: all written, self-contained HTML with every figure and claim, Markdown, CSV."""

from __future__ import annotations

import dataclasses
import html
import re

import pandas as pd
import pytest

from analysis import claims, report, summary
from analysis.load import load_results
from analysis.methods import toolchain_table
from analysis.report import build_report
from analysis.summary import summary_table
from invoke import Context
from labpaths import ROOT, load_by_path

tasks = load_by_path("polylab_tasks", ROOT / "tasks.py")


def test_report_writes_every_file(built_report, shown_figures):
    for name in ("report.html", "summary.md", "runs.csv"):
        assert (built_report / name).stat().st_size > 0, name
    pngs = sorted(p.stem for p in (built_report / "figures").glob("*.png"))
    assert pngs == sorted(name for name, _ in shown_figures)


def test_html_is_self_contained_with_every_figure_and_claim(built_report, shown_figures):
    page = (built_report / "report.html").read_text()
    images = re.findall(r'<img src="([^"]{0,40})', page)
    assert len(images) == len(shown_figures) and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', page) and "@import" not in page and "url(" not in page
    assert "<script" not in page  # the browser test adds its own probe to a copy
    for _, title in shown_figures:
        assert "<h3 id=" in page and title.replace("'", "&#x27;") in page
    for spec in claims.all_claims():
        assert html.escape(spec.statement) in page
        assert html.escape(spec.rule.split(".")[0]) in page
    verdicts = [claim.verdict for claim in claims.evaluate(load_results(built_report))]
    # (a2): no free-threaded build in this set; (e): 3 headline runs, too few for its correlation; (b-print),
    # (c-print): printing keeps every runtime off the cores it would use; (j): Python threads sped io up; (l): no
    # pool or async runs; (m): no Rust in this set
    assert verdicts == ["supported", "inconclusive"] + ["supported"] * 3 + ["inconclusive"] + ["supported"] * 2 \
        + ["supported", "contradicted", "contradicted"] + ["supported"] * 2 + ["contradicted", "supported"] \
        + ["inconclusive"] * 2
    for verdict in ("supported", "contradicted"):
        assert page.count(f'<span class="badge {verdict}">{verdict}</span>') == verdicts.count(verdict)
    assert re.findall(r"<h2[^>]*>([^<]*)</h2>", page)[0] == "Claims × runtimes"   # the matrix comes first
    assert page.index('<table class="matrix">') < page.index("<h2", page.index("Claims × runtimes</h2>"))
    for section in ("Summary", "Methods", "Machine and toolchains", "Failures and skips"):
        assert f">{section}</h2>" in page
    assert "killed after the 60 s timeout" in page and "cargo not found" in page  # failures and skips
    assert "se.nr_migrations" in page and "USER_HZ" in page  # methods


def test_markdown_links_the_figures_and_has_the_claims(built_report, shown_figures):
    text = (built_report / "summary.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == len(shown_figures) and all((built_report / link).exists() for link in links)
    assert re.findall(r"^## (.*)$", text, re.M)[0] == "Claims × runtimes"   # the matrix comes first
    assert text.count("— **SUPPORTED**") == len(claims.all_claims()) - 7  # a2, e, b/c-print, j, l, m
    summary_row = ["cpu", "Python", "cpython", "threads", "sum", "8", "3"]  # a configuration with its n
    assert summary_row in [row[:7] for row in markdown_rows(text)]


def markdown_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in text, stripped of their padding."""
    return [[cell.strip() for cell in line.split(" | ")] for line in
            (line[2:-2] for line in text.splitlines() if line.startswith("| ") and line.endswith(" |"))]


def test_languages_go_by_their_display_names(built_report):
    """The manifests' display names (C#), not the folders (csharp), except where a folder is what is meant:
    run ids, the toolchain table's folder column, and the synthetic set's toolchain paths."""
    for name in ("summary.md", "report.html"):
        text = (built_report / name).read_text()
        assert "Languages: C#, Go, Java, Python." in text
        folders_meant = r"\b(cpu|print)\.csharp\.[\w.]+|langs/csharp|/usr/bin/csharp"
        assert "csharp" not in re.sub(folders_meant, "", text), name
    rows = markdown_rows((built_report / "summary.md").read_text())
    summary = [row for row in rows if row[0] in ("cpu", "print") and row[3] in ("threads", "processes")]
    assert {row[1] for row in summary} == {"C#", "Go", "Java", "Python"}
    assert ["C#", "langs/csharp", "local", "mono"] in [row[:4] for row in rows]  # toolchains
    assert ["C#", "threads", "measured"] in [row[:3] for row in rows]  # runs per status


def test_skipped_variants_go_by_their_labels_and_older_sets_by_their_keys(default_results):
    """A set of schema 9 records the label of each variant it skipped; an older one only its key and a line."""
    meta = {**default_results.meta, "skipped": {
        "csharp:dotnet": {"label": "C#", "reason": "no toolchain found: needs dotnet", "hint": "install .NET 8"},
        "rust": "cargo not found — apt-get install cargo"}}
    results = dataclasses.replace(default_results, meta=meta)
    overview = report._overview(results)[0].items
    assert "Languages: C#, Go, Java, Python. Skipped: C#, rust." in overview
    assert summary.skipped(meta).values.tolist() == [["C#", "no toolchain found: needs dotnet — install .NET 8"],
                                                     ["rust", "cargo not found — apt-get install cargo"]]


def test_the_summary_names_each_memory_by_its_source_and_the_status_table_has_no_stray_header(built_report):
    """The synthetic set predates the tree's PSS reading: its tree column is the sum of peaks, and says so."""
    html = (built_report / "report.html").read_text()
    assert "largest process peak MiB" in html and "tree Σ of peaks MiB" in html and "RSS MiB" not in html
    status_table = html[html.index("Runs per status"):].split("</table>")[0]
    assert "<th>status</th>" not in status_table and "<th></th>" not in status_table


def test_a_set_with_the_trees_memory_counted_once_shows_that(default_results):
    runs = default_results.runs.assign(tree_memory_mib=default_results.runs["tree_rss_mib"] / 3)
    table = summary_table(dataclasses.replace(default_results, runs=runs))
    assert "tree MiB, each page once" in table.columns and "tree Σ of peaks MiB" not in table.columns


def test_sets_without_display_names_show_folder_names(make_set):
    results = load_results(make_set(displays=False, samples=False, reps=1, workers=(1,)))
    assert set(summary_table(results)["language"]) == {"csharp", "go", "java", "python"}
    assert toolchain_table(results.meta)["language"].tolist() == ["csharp", "go", "java", "python"]


def test_runs_csv_has_every_run(built_report):
    table = pd.read_csv(built_report / "runs.csv")
    lines = (built_report / "runs.jsonl").read_text().splitlines()
    assert len(table) == len(lines)
    assert {"run_id", "status", "throughput", "parallelism", "switches_per_s"} <= set(table.columns)
    assert table["worker_elapsed_s"].dropna().iloc[0].startswith("[")


def test_report_without_samples_says_no_samples(make_set, shown_figures):
    folder = make_set(samples=False, reps=2, workloads=("pingpong", "contended", "io", "native", "crash"))
    page_path = build_report(folder)
    page = page_path.read_text()
    assert page.count('class="missing"') == 5 and "no samples" in page and "no memory readings" in page
    assert "no samples: this claim needs" in page
    assert len(re.findall(r'<img src="data:image/png', page)) == len(shown_figures) - 5


def test_invoke_report_rebuilds_from_stored_data(make_set):
    folder = make_set(samples=False, reps=1, workers=(1, 2), langs=("go", "python"))
    tasks.report(Context(), str(folder))
    assert (folder / "report.html").exists() and (folder / "runs.csv").exists()


def test_invoke_report_without_runs_is_a_one_line_error(tmp_path):
    from invoke import Exit
    with pytest.raises(Exit, match="has no runs.jsonl"):
        tasks.report(Context(), str(tmp_path))
    with pytest.raises(Exit, match=f"^error: {tmp_path / 'gone'} does not exist: pass a results set with --results DIR$"):
        tasks.report(Context(), str(tmp_path / "gone"))


def test_methods_say_whether_the_runs_went_round_by_round(default_results):
    from analysis.methods import interleaved, methods
    frame = lambda reps, warmup=None: pd.DataFrame({   # noqa: E731 — one experiment's rows in file order
        "experiment": pd.Categorical(["cpu"] * len(reps)), "rep": reps, "warmup": warmup or [False] * len(reps)})
    assert interleaved(frame([1, 1, 2, 2, 3, 3]))
    assert interleaved(frame([1, 2, 1, 2], warmup=[True, True, False, False]))   # warm-ups go first, apart
    assert not interleaved(frame([1, 2, 3, 1, 2, 3]))                            # back to back
    said = " ".join(methods(default_results))   # the synthetic set is written configuration by configuration
    assert "Run order: each configuration's repetitions ran back to back" in said


def test_machine_facts_a_vm_does_not_expose_read_unknown(default_results):
    """The synthetic machine, like this VM, has no governor and a maximum frequency psutil gives as 0.0."""
    from analysis.methods import machine_table
    values = machine_table(default_results).set_index("key")["value"]
    assert values["cpu_mhz_max"] == "unknown" and values["governor"] == "unknown"
    assert values["in_container"] == "False" and values["logical_cores"] == "2"


def test_the_overview_counts_the_runs_that_shared_the_machine_and_says_why_others_are_not_counted(default_results):
    from analysis import tidy
    from analysis.report import _overview
    runs = default_results.runs
    sampled = sorted(set(default_results.samples["run_id"]) & set(runs.loc[runs["measured"], "run_id"]))
    busy, unsampled = sampled[:3], sampled[-2:]
    loaded = dataclasses.replace(
        default_results, samples=default_results.samples[~default_results.samples["run_id"].isin(unsampled)],
        runs=runs.assign(other_programs_cpu_s=runs["run_id"].map(dict.fromkeys(busy[:2], 100.0)).fillna(0.0),
                         steal_s=runs["run_id"].map(dict.fromkeys(busy[2:], 100.0)).fillna(0.0)))  # a hypervisor
    facts = _overview(loaded)[0].items
    line = next(fact for fact in facts if "shared the machine" in fact)
    measured = int(runs["measured"].sum())
    assert line.startswith(f"3 of {measured - 2} sampled runs shared the machine: other programs (or a hypervisor, "
                           f"as steal time) used more than {tidy.QUIET_OTHER_LOAD} cores")
    assert line.endswith("The other 2 measured runs have no sample of their work (they ended within one sampling "
                         "interval, or sampling was off), so whether they shared it is not known.")
