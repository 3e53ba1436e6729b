"""`invoke all --profile smoke --hosts h1,h2`, end to end through the invoke command, on two real SSH hosts."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from labpaths import ROOT, load_by_path

harness = load_by_path("polylab_tests_hosts_harness", Path(__file__).resolve().parent / "harness.py")
HOSTS = ("h1", "h2")
LANGS = ("go", "python")


@pytest.fixture(scope="module")
def smoke(module_lab, ssh_hosts):
    """The set written by one `invoke all --profile smoke --langs go,python --hosts h1,h2`, and the command."""
    inventory = harness.write_inventory(module_lab.workdir / "hosts.yaml",
                                        {name: harness.host_entry(ssh_hosts[name]) for name in HOSTS})
    results = module_lab.workdir / "set"
    done = module_lab.run("all", "--profile", "smoke", "--langs", ",".join(LANGS), "--hosts", ",".join(HOSTS),
                          "--inventory", inventory, "--out", results)
    return results, done


def test_every_host_ends_ok(smoke):
    results, done = smoke
    assert done.returncode == 0, done.stderr[-3000:]
    hosts = harness.meta(results)["hosts"]
    assert {name: (hosts[name]["status"], hosts[name]["reason"]) for name in HOSTS} == {
        "h1": ("ok", None), "h2": ("ok", None)}


def test_each_host_has_every_planned_run_once_and_ok(smoke):
    results, _ = smoke
    merged = harness.rows(results)
    by_host = {name: [row for row in merged if row["host"] == name] for name in HOSTS}
    planned = {name: harness.planned(results, name) for name in HOSTS}
    assert planned["h1"] == planned["h2"] >= 12     # 3 experiments x 2 modes x (Go + each Python variant)
    for name in HOSTS:
        ids = [row["run_id"] for row in by_host[name]]
        assert len(ids) == len(set(ids)) == planned[name]
        assert all(run_id.startswith(f"{name}/") for run_id in ids)
        assert {row["status"] for row in by_host[name]} == {"ok"}
        assert {row["lang"] for row in by_host[name]} == set(LANGS)
    # The same matrix on both hosts: the run ids differ only by their host prefix.
    assert {row["run_id"].split("/", 1)[1] for row in by_host["h1"]} == {
        row["run_id"].split("/", 1)[1] for row in by_host["h2"]}
    assert harness.meta(results)["planned_runs"] == planned["h1"] + planned["h2"]


@pytest.mark.parametrize("table", ["samples.parquet", "threads.parquet"])
def test_sample_tables_carry_the_host(smoke, table):
    results, _ = smoke
    frame = pd.read_parquet(results / table)
    assert list(frame.columns[:2]) == ["host", "run_id"]
    assert set(frame["host"]) == set(HOSTS)
    assert (frame["run_id"].str.split("/").str[0] == frame["host"]).all()
    assert set(frame["run_id"]) <= {row["run_id"] for row in harness.rows(results)}


def test_meta_describes_each_machine_and_holds_no_secret(smoke, ssh_hosts):
    results, _ = smoke
    meta = harness.meta(results)
    commit = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", meta["hosts_request"]["commit"]]).returncode
    assert commit == 0, "the shipped commit is a commit of this repository"
    for name in HOSTS:
        machine = meta["hosts"][name]["machine"]
        assert machine["logical_cores"] >= 1 and machine["cpu_model"] and machine["kernel"]
        assert machine["git_commit"] == meta["hosts_request"]["commit"]
        assert meta["hosts"][name]["key"] == str(ssh_hosts[name].user_key)     # the key's path, not the key
    secrets = [host.user_key.read_text().splitlines()[1] for host in ssh_hosts.values()]
    for path in results.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(secret.encode() in content for secret in secrets), f"a private key is in {path}"


def test_progress_is_one_line_per_finished_run_prefixed_by_host(smoke):
    results, done = smoke
    for name in HOSTS:
        planned = harness.planned(results, name)
        progress = [line for line in harness.lines_of(done.stderr, name)
                    if re.match(rf"{name}: \[\d+/{planned}\] ", line)]
        assert len(progress) == planned, done.stderr[-3000:]
        assert all(line.endswith(" s") and ": ok " in line for line in progress)


def test_one_report_sets_the_hosts_side_by_side(smoke):
    """One report for the merged set, with its Machines section; `host` is a column of its tables."""
    results, _ = smoke
    page = (results / "report.html").read_text()
    assert ">Machines</h2>" in page and ">Each host against h1</h3>" in page and "Wall time" in page
    assert all(f"Go @ {name}" in page for name in HOSTS)          # each host's runs are its own
    assert not any((results / "hosts" / name / "report.html").exists() for name in HOSTS)
    table = pd.read_csv(results / "runs.csv")
    assert set(table["host"]) == set(HOSTS) and (table["run_id"].str.split("/").str[0] == table["host"]).all()


def test_nothing_is_left_running(smoke, ssh_hosts):
    assert harness.sshd_hosts.leftover_processes(ssh_hosts["h1"].tag) == []
