"""A host dropped mid-run, and Ctrl-C, each followed by `invoke run --resume DIR`: nothing finished is lost,
nothing is run twice, and no process is left on either host."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from labpaths import load_by_path

harness = load_by_path("polylab_tests_hosts_harness", Path(__file__).resolve().parent / "harness.py")
HOSTS = ("h1", "h2")


def _start(lab, ssh_hosts, experiments_file, name: str):
    inventory = harness.write_inventory(lab.workdir / "hosts.yaml",
                                        {host: harness.host_entry(ssh_hosts[host]) for host in HOSTS})
    results = lab.workdir / name
    process = lab.start("run", "--config", experiments_file, "--profile", "steady", "--langs", "go",
                        "--hosts", ",".join(HOSTS), "--inventory", inventory, "--out", results)
    return results, harness.Watch(process)


def _remote_set(results: Path, host: str) -> Path:
    return harness.ROOTS / host / harness.meta(results)["hosts"][host]["remote_folder"]


def _assert_complete(results: Path) -> None:
    """Every planned run (steady: 2 modes x 2 worker counts x 2 repetitions) once, and ok."""
    for host in HOSTS:
        host_rows = harness.rows(results / "hosts" / host)
        ids = [row["run_id"] for row in host_rows]
        assert len(ids) == len(set(ids)) == harness.planned(results, host) == 8, ids
        assert {row["status"] for row in host_rows} == {"ok"}
    assert len(harness.rows(results)) == sum(harness.planned(results, host) for host in HOSTS)
    assert {harness.meta(results)["hosts"][host]["status"] for host in HOSTS} == {"ok"}


def test_a_dropped_connection_leaves_the_run_going_and_resume_pulls_it(lab, ssh_hosts, experiments_file):
    results, watch = _start(lab, ssh_hosts, experiments_file, "set-drop")
    watch.wait_for("h2: [2/")
    ssh_hosts["h2"].drop()
    try:
        wrapper = int((_remote_set(results, "h2") / "host-run.pid").read_text())
        assert psutil.Process(wrapper).status() != psutil.STATUS_ZOMBIE, "the run died with the connection"
        code, stderr = watch.finish()
    finally:
        ssh_hosts["h2"].start()
    assert code == 1, stderr[-3000:]
    line = harness.fault_line(stderr, "h2")
    assert line.startswith("h2: disconnected — connection lost (")
    assert line.endswith("the run on the host keeps going (it is detached from the SSH session) — "
                         f"`invoke all --resume {results}` reconnects, pulls what finished and runs what is missing")
    assert harness.meta(results)["hosts"]["h1"]["status"] == "ok"

    resumed = lab.run("run", "--resume", results)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_complete(results)
    log = (results / "hosts" / "h2" / "host-run.log").read_text()
    assert log.count(f"profile 'steady': {harness.planned(results, 'h2')} runs →") == 1, "the run was started again"
    assert harness.sshd_hosts.leftover_processes(lab.tag) == []


def test_ctrl_c_stops_every_host_keeps_what_finished_and_resume_completes(lab, ssh_hosts, experiments_file):
    results, watch = _start(lab, ssh_hosts, experiments_file, "set-interrupt")
    watch.wait_for("h1: [1/", "h2: [1/")
    watch.process.send_signal(signal.SIGINT)
    code, stderr = watch.finish(timeout=120)
    assert code == 130, stderr[-3000:]
    assert "interrupted: stopping the run on every host, then pulling what finished …" in stderr
    before = {}
    for host in HOSTS:
        assert harness.meta(results)["hosts"][host]["status"] == "interrupted"
        assert f"{host}: interrupted — stopped; finished runs kept — `invoke all --resume {results}` continues" in stderr
        remote = _remote_set(results, host)
        assert (remote / "host-run.rc").read_text().strip() == "run 130"     # the lab saved and exited
        with pytest.raises(ProcessLookupError):
            os.killpg(int((remote / "host-run.pid").read_text()), 0)       # its process group is gone
        pulled = harness.rows(results / "hosts" / host)
        assert 1 <= len(pulled) < harness.planned(results, host)
        assert pulled == harness.rows(remote), "every finished run was pulled"
        before[host] = {row["run_id"]: row["started_at"] for row in pulled}
    assert harness.sshd_hosts.leftover_processes(lab.tag, grace_s=1) == []

    resumed = lab.run("run", "--resume", results)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_complete(results)
    for host in HOSTS:
        after = {row["run_id"]: row["started_at"] for row in harness.rows(results / "hosts" / host)}
        assert {run_id: after[run_id] for run_id in before[host]} == before[host], "a finished run ran again"
        to_go = harness.planned(results, host) - len(before[host])
        assert f"{len(before[host])} already done, {to_go} to go" in (
            results / "hosts" / host / "host-run.log").read_text()
    assert harness.sshd_hosts.leftover_processes(lab.tag) == []
