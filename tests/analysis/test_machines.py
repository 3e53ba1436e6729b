"""A set run on several hosts: each host's runs are another machine's, never repetitions of another host's; the
report sets the hosts side by side (its Machines section) and `invoke compare-within --results SET --hosts A,B` compares two.

The sets are synthetic.py's, written per host (h2 30% faster than h1 unless a test says otherwise) and merged by
polylab's own merge (polylab/hosts/merge.py), as `invoke all --hosts h1,h2` leaves them.
"""

from __future__ import annotations

import shutil

import pytest
from invoke import Context, Exit

from analysis import compare, slices, tidy
from analysis.load import load_results
from analysis.summary import summary_table
from analysis.variants import compare_variants
from labpaths import ROOT, load_by_path

tasks = load_by_path("polylab_tasks", ROOT / "tasks.py")
SMALL = {"langs": ("go", "python"), "workers": (1, 2), "samples": False}


@pytest.fixture(scope="module")
def two_hosts(make_set):
    return make_set(hosts={"h1": 1.0, "h2": 1.3}, reps=4, **SMALL)


@pytest.fixture(scope="module")
def two_results(two_hosts):
    return load_results(two_hosts)


@pytest.fixture(scope="module")
def two_reported(two_hosts, tmp_path_factory):
    """A copy of the two-host set with its report built by `invoke report`."""
    folder = tmp_path_factory.mktemp("hosts") / "set"
    shutil.copytree(two_hosts, folder)
    tasks.report(Context(), str(folder))
    return folder


def test_host_is_a_coordinate_ordered_as_the_inventory(make_set):
    results = load_results(make_set(hosts={"zeta": 1.0, "alpha": 1.0}, reps=1, **SMALL))
    runs = results.runs
    assert list(runs["host"].cat.categories) == results.hosts == ["zeta", "alpha"]   # meta.json's order, not a–z
    assert list(runs["language"].cat.categories) == ["Go @ zeta", "Go @ alpha", "Python @ zeta", "Python @ alpha"]
    assert (runs["language"].astype(str) == runs["variant_label"].astype(str) + " @ " + runs["host"].astype(str)).all()
    assert (runs["cores"] == 2).all() and results.cores == 2 and results.core_ids == [0, 1]
    assert results.machine == {} and results.host_machine("alpha")["hostname"] == "alpha"
    assert results.meta["toolchains"]["go"]["display"] == "Go"     # the hosts' toolchains, read as the set's


def test_a_set_of_one_host_reads_as_one_machine(make_set):
    results = load_results(make_set(hosts={"solo": 1.0}, reps=1, **SMALL))
    assert results.hosts == ["solo"] and not results.several_hosts
    assert list(results.runs["language"].cat.categories) == ["Go", "Python"] and "variant_label" not in results.runs
    assert results.machine["hostname"] == "solo" and results.cores == 2


def test_one_host_of_a_merged_set_loads_as_its_own_set(two_hosts):
    h2 = load_results(two_hosts, host="h2")
    assert set(h2.runs["host"]) == {"h2"} and h2.machine["hostname"] == "h2"
    assert list(h2.runs["language"].cat.categories) == ["Go", "Python"]


def test_hosts_are_never_pooled_as_repetitions(two_results):
    """Two hosts 30% apart: two rows per configuration, each as tight as one host's repetitions."""
    table = summary_table(two_results)
    cpu = table[(table["experiment"] == "cpu") & (table["workers"] == 1)]
    assert len(cpu) == 8 and cpu["n"].tolist() == [4] * 8      # go, python × threads, processes × h1, h2
    medians = cpu["iterations/s"].str.split(" ").str[0].astype(float)
    by_host = dict(zip(cpu["language"], medians))
    assert by_host["Go @ h2"] / by_host["Go @ h1"] == pytest.approx(1.3, rel=0.05)
    assert by_host["Python @ h2"] / by_host["Python @ h1"] == pytest.approx(1.3, rel=0.05)


def test_speedup_is_against_the_same_hosts_one_worker_runs(two_results):
    scaling = tidy.scaling(tidy.measured(two_results))
    one_worker = scaling[(scaling["workers"] == 1) & (scaling["measure"] == "speedup")]
    medians = one_worker.groupby(["host", "lang", "mode"], observed=True)["value"].median()
    assert len(medians) == 8 and medians.between(0.97, 1.03).all()   # pooled, h1 would sit near 0.87, h2 1.13


def test_representative_runs_one_per_host(two_results):
    chosen = tidy.representative(tidy.headline_runs(two_results, tidy.headline(two_results)))
    assert sorted(chosen.groupby(["host", "lang", "mode"], observed=True).size().tolist()) == [1] * 8


def test_report_has_a_machines_section(two_reported):
    page = (two_reported / "report.html").read_text()
    assert ">Machines</h2>" in page and ">Each host against h1</h3>" in page
    assert "Machines: 2 hosts, h1, h2" in page
    for title in ("Effective parallelism, host by host", "Speedup, host by host"):
        assert f">{title}</h3>" in page
    assert (two_reported / "figures" / "machines-parallelism.png").stat().st_size > 10_000
    rows = [row for row in markdown_rows((two_reported / "summary.md").read_text()) if len(row) == 10]
    hosts = {row[0]: row for row in rows if row[0] in ("h1", "h2")}
    assert hosts["h2"][1:5] == ["synthetic h2", "ok", "", "Synthetic CPU"] and hosts["h1"][5] == "2 of 2"
    against = [row for row in rows if row[:4] == ["Go", "threads", "2", "h2"]]
    assert len(against) == 1 and float(against[0][8]) == pytest.approx(1.3, rel=0.05) and against[0][9] == "faster"


def test_report_baseline_can_be_another_host(two_reported):
    tasks.report(Context(), str(two_reported), baseline="h2")
    rows = markdown_rows((two_reported / "summary.md").read_text())
    against = [row for row in rows if row[:4] == ["Go", "threads", "2", "h1"]]
    assert float(against[0][8]) == pytest.approx(1 / 1.3, rel=0.05) and against[0][9] == "slower"
    with pytest.raises(Exit, match=r"host 'h9' is not in .*; it has h1, h2$"):
        tasks.report(Context(), str(two_reported), baseline="h9")


def test_a_set_of_one_machine_has_no_machines_section(built_report):
    page = (built_report / "report.html").read_text()
    assert ">Machines</h2>" not in page and "@ " not in page and "Machine: Synthetic CPU" in page


def test_compare_finds_the_30_percent_between_two_hosts(two_results):
    table = slices.compare_hosts(two_results, "h1", "h2")
    assert len(table) == 12 and table["B/A"].between(1.22, 1.38).all()    # 8 cpu and 4 print configurations
    # synthetic.py's timed-out run leaves Go processes at 2 workers 3 runs a side: p ≥ 0.1, never significant
    short = (table["lang"] == "go") & (table["mode"] == "processes") & (table["workers"] == 2) & \
        (table["experiment"] == "cpu")
    assert table.loc[short, "verdict"].tolist() == ["not significant"]
    assert (table.loc[~short, "verdict"] == "significant: B faster").all()
    assert table.iloc[0][["experiment", "lang", "mode", "workers"]].tolist() == ["cpu", "go", "threads", 1]


def test_compare_of_two_hosts_alike_finds_nothing(make_set):
    alike = load_results(make_set(hosts={"h1": 1.0, "h2": 1.0}, reps=4, **SMALL))
    table = slices.compare_hosts(alike, "h1", "h2")
    assert len(table) == 12 and (table["verdict"] == "not significant").all()
    assert table["B/A"].between(0.95, 1.05).all()


def test_variants_compare_through_the_same_slices_host_by_host(two_results):
    """compare_variants shares compare_slices; in a set of several hosts it matches each host with itself."""
    table = compare_variants(two_results, "go", "python")
    assert set(table["host"]) == {"h1", "h2"} and len(table) == 12
    assert (table["n A"] == 4).sum() == 10 and (table["verdict"] == "significant: B slower").sum() == 10


def test_invoke_compare_hosts_writes_the_comparison(two_hosts, tmp_path, capsys):
    tasks.compare_within(Context(), str(two_hosts), hosts="h1,h2", out=str(tmp_path))
    text = (tmp_path / "compare-hosts.md").read_text()
    assert text.startswith(f"# polylab compare — {two_hosts.name}: host h1 → host h2")
    assert "Verdicts: 11 significant: B faster, 1 not significant." in text
    assert "| hostname " in text   # the two machines side by side
    assert (tmp_path / "compare-hosts.html").exists() and "compare-hosts.md" in capsys.readouterr().err


@pytest.mark.parametrize("hosts, message", [
    ("h1", r"--hosts takes two hosts of the set, A,B \(e.g. h1,h2\); got 'h1'$"),
    ("h1,h1", r"--hosts takes two hosts"),
    ("h1,h3", r"host 'h3' is not in .*; it has h1, h2$"),
])
def test_invoke_compare_hosts_refuses_bad_hosts_in_one_line(two_hosts, hosts, message):
    with pytest.raises(Exit, match=message):
        tasks.compare_within(Context(), str(two_hosts), hosts=hosts)


def test_invoke_compare_hosts_of_a_set_of_one_machine(default_set):
    with pytest.raises(Exit, match=r"host 'h1' is not in .*; it has no hosts: it was run on one machine$"):
        tasks.compare_within(Context(), str(default_set), hosts="h1,h2")


def test_two_merged_sets_compare_host_with_host(two_hosts, make_set):
    """`invoke compare A B` of two sets run on the same hosts matches each host's runs with that host's."""
    table = compare.compare_runs(load_results(two_hosts), load_results(two_hosts))
    assert set(table["host"]) == {"h1", "h2"} and len(table) == 24
    assert (table["verdict"] == "not significant").all() and table["B/A"].eq(1.0).all()


def markdown_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split(" | ")] for line in
            (line[2:-2] for line in text.splitlines() if line.startswith("| ") and line.endswith(" |"))]


def test_the_speed_ranking_pairs_runtimes_on_one_machine(make_set):
    """Claim (m) sets Go against Java on each host, never Go on one host against Java on another (where a
    machine twice as fast would reverse the ranking)."""
    from analysis import claims_ranking
    results = load_results(make_set(hosts={"h1": 1.0, "h2": 2.0}, reps=4, langs=("go", "java"), workers=(1, 2),
                                    samples=False))
    pairs = claims_ranking.compared_pairs(claims_ranking.ranking_runs(results)[0])
    assert len(pairs) == 4 and set(zip(pairs["fast"], pairs["slow"])) == {("Go @ h1", "Java @ h1"),
                                                                          ("Go @ h2", "Java @ h2")}
    assert (pairs["verdict"] == "significant: B faster").all()
