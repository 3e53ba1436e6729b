"""Faults on a host after it connected, each in that host's own record while the other host goes on, and a
host's `cpus` override reaching its runs. One `invoke run` over three hosts serves every test here:

- h2: the second test host, with `cpus: 1` in its entry
- nosetup: h1's address, with a fresh root whose `.venv` is a plain file, so `make setup` cannot create the venv
- badgo: a third sshd (127.0.0.4) whose sessions read their languages from a folder of this machine
  ($POLYLAB_LANGS, as tests/reliability does) holding a Go that cannot be built (the `unbuildable` of
  tests/reliability/test_faults.py). It runs in h1's shared root (h1 itself is not in this command; its next
  run builds Go again).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from labpaths import ROOT, load_by_path

harness = load_by_path("polylab_tests_hosts_harness", Path(__file__).resolve().parent / "harness.py")
HOSTS = ("h2", "nosetup", "badgo")
GO_BUILD = '      - [go, build, -o, "{build}/workload", .]'
BROKEN_BUILD = """      - [sh, -c, "echo 'go: the compiler is broken on this host' >&2; exit 4"]"""


def _unbuildable_go(langs: Path) -> Path:
    go = shutil.copytree(ROOT / "langs" / "go", langs / "go")
    manifest = go / "lang.yaml"
    assert GO_BUILD in manifest.read_text(), "langs/go/lang.yaml builds otherwise: update GO_BUILD"
    manifest.write_text(manifest.read_text().replace(GO_BUILD, BROKEN_BUILD))
    return langs


@pytest.fixture(scope="module")
def remote_faults(module_lab, ssh_hosts, experiments_file, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("remote-faults")
    no_venv_root = scratch / "no-venv-root"
    no_venv_root.mkdir()
    (no_venv_root / ".venv").write_text("a file where make setup creates the venv\n")
    langs = _unbuildable_go(scratch / "langs")
    h3 = harness.sshd_hosts.TestHost("h3", "127.0.0.4", scratch / "h3", ssh_hosts["h1"].tag,
                                     env={"POLYLAB_LANGS": str(langs)})
    entries = {"h2": harness.host_entry(ssh_hosts["h2"], cpus=1),
               "nosetup": harness.host_entry(ssh_hosts["h1"], root=str(no_venv_root)),
               "badgo": harness.host_entry(h3, root=str(harness.ROOTS / "h1"))}
    inventory = harness.write_inventory(scratch / "hosts.yaml", entries)
    results = module_lab.workdir / "set-remote-faults"
    h3.start()
    try:
        done = module_lab.run("run", "--config", experiments_file, "--profile", "tiny", "--langs", "go",
                              "--hosts", ",".join(HOSTS), "--inventory", inventory, "--out", results)
    finally:
        h3.stop()
    return done, results


def test_a_failed_set_up_is_one_line_naming_host_and_reason(remote_faults):
    done, results = remote_faults
    assert done.returncode == 1, done.stderr[-3000:]
    line = harness.fault_line(done.stderr, "nosetup")
    setup_log = results / "hosts" / "nosetup" / "host-setup.log"      # pulled: the whole story is there
    last = setup_log.read_text().strip().splitlines()[-1]
    assert re.fullmatch(r"make: \*\*\* \[Makefile:\d+: \.venv/\.installed\] Error 1", last), last
    assert line == f"nosetup: failed — set-up failed: make setup toolchains exited 2 — {last}"
    assert harness.meta(results)["hosts"]["nosetup"]["reason"] == line.split(" — ", 1)[1]
    assert not harness.rows(results / "hosts" / "nosetup")
    assert harness.lines_of(done.stderr, "nosetup")[-1].startswith("nosetup: failed, 0 rows, 0 ok")


def test_a_failed_build_on_a_host_is_in_its_rows_as_locally(remote_faults):
    """As on one machine (tests/reliability/test_faults.py, `unbuildable`): every planned run is a row,
    `failed`, with the build's exit code and the log to read; the host's own run ended normally."""
    done, results = remote_faults
    badgo = harness.rows(results / "hosts" / "badgo")
    assert len(badgo) == harness.planned(results, "badgo") >= 2
    reason = f"build failed (exit 4), see {harness.ROOTS / 'h1' / 'build' / 'go' / 'build.log'}"
    assert {(row["status"], row["reason"]) for row in badgo} == {("failed", reason)}
    assert all("go: the compiler is broken on this host" in row["stderr_tail"] for row in badgo)
    assert [row["run_id"] for row in harness.rows(results) if row["host"] == "badgo"] == [
        f"badgo/{row['run_id']}" for row in badgo]
    progress = [line for line in harness.lines_of(done.stderr, "badgo") if re.match(r"badgo: \[\d+/\d+\] ", line)]
    assert len(progress) == len(badgo) and all(line.endswith(f": failed — {reason}") for line in progress)
    record = harness.meta(results)["hosts"]["badgo"]
    assert (record["status"], record["reason"]) == ("ok", None)
    assert harness.lines_of(done.stderr, "badgo")[-1].startswith(f"badgo: ok, {len(badgo)} rows, 0 ok"), done.stderr


def test_the_other_host_keeps_every_row_with_its_cpus_override(remote_faults):
    done, results = remote_faults
    record = harness.meta(results)["hosts"]["h2"]
    assert (record["status"], record["reason"], record["cpus"]) == ("ok", None, 1)
    h2 = [row for row in harness.rows(results) if row["host"] == "h2"]
    ids = [row["run_id"] for row in h2]
    assert len(ids) == len(set(ids)) == harness.planned(results, "h2") >= 2
    assert {(row["status"], row["cpus"]) for row in h2} == {("ok", 1)}   # the profile sets no cpus


def test_nothing_is_left_running(remote_faults, ssh_hosts):
    assert harness.sshd_hosts.leftover_processes(ssh_hosts["h1"].tag) == []
