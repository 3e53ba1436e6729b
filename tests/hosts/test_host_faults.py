"""Faults at connection time, each one line, while the other hosts go on; inventory values holding shell
syntax, which stay literal; and --serial. One `invoke run --serial` over six hosts serves every test here:

- h1: the first test host, with a label, a key path and a root (a link to its shared root) holding `; touch x`
- h2: the second test host, with a known_hosts file that does not exist yet (--accept-new-host-keys adds it)
- local: this machine
- refused: h2's address with a key its authorized_keys does not hold
- impostor: h1's address, with a known_hosts that holds another key for it
- nowhere: an address of 127.0.0.0/8 where nothing listens
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labpaths import ROOT, load_by_path

harness = load_by_path("polylab_tests_hosts_harness", Path(__file__).resolve().parent / "harness.py")
keygen = harness.sshd_hosts.keygen
RUNNING = ("h1", "h2", "local")
FAILING = ("refused", "impostor", "nowhere")
SHELL = " $(touch x); touch x"


@pytest.fixture(scope="module")
def faults(module_lab, ssh_hosts, experiments_file, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("faults")
    h1, h2 = ssh_hosts["h1"], ssh_hosts["h2"]
    weird_root = scratch / f"h1 root{SHELL}"
    weird_root.symlink_to(harness.ROOTS / "h1")
    weird_key = scratch / f"key{SHELL}"
    weird_key.write_bytes(h1.user_key.read_bytes())
    weird_key.chmod(0o600)
    impostor_known_hosts = scratch / "impostor_known_hosts"
    impostor_known_hosts.write_text(f"[{h1.address}]:2222 " + " ".join(
        Path(f"{keygen(scratch / 'other_host_key', 'other')}.pub").read_text().split()[:2]) + "\n")
    entries = {
        "h1": harness.host_entry(h1, label=f"h1{SHELL}", key=str(weird_key), root=str(weird_root)),
        "h2": harness.host_entry(h2, known_hosts=str(scratch / "new" / "known_hosts")),
        "local": {"label": f"this machine{SHELL}"},
        "refused": harness.host_entry(h2, key=str(keygen(scratch / "stranger", "stranger")), root=str(scratch / "r")),
        "impostor": harness.host_entry(h1, known_hosts=str(impostor_known_hosts), root=str(scratch / "i")),
        "nowhere": harness.host_entry(h1, ssh="root@127.0.0.9:2222", root=str(scratch / "n")),
    }
    inventory = harness.write_inventory(scratch / "hosts.yaml", entries)
    before = {"impostor": impostor_known_hosts.read_bytes()}
    results = module_lab.workdir / "set-faults"
    done = module_lab.run("run", "--config", experiments_file, "--profile", "tiny", "--langs", "go",
                          "--hosts", ",".join(RUNNING + FAILING), "--inventory", inventory,
                          "--accept-new-host-keys", "--serial", "--out", results)
    return {"done": done, "results": results, "entries": entries, "before": before, "scratch": scratch,
            "workdir": module_lab.workdir, "weird_root": weird_root}


def test_the_other_hosts_go_on(faults):
    done, results = faults["done"], faults["results"]
    assert done.returncode == 1, done.stderr[-3000:]
    hosts = harness.meta(results)["hosts"]
    assert {name: hosts[name]["status"] for name in RUNNING + FAILING} == {
        "h1": "ok", "h2": "ok", "local": "ok", "refused": "failed", "impostor": "failed", "nowhere": "failed"}
    merged = harness.rows(results)
    for name in RUNNING:        # every planned run of each running host, once, ok: none lost
        ids = [row["run_id"] for row in merged if row["host"] == name and row["status"] == "ok"]
        assert len(ids) == len(set(ids)) == harness.planned(results, name) >= 2
    assert {row["host"] for row in merged} == set(RUNNING)


def test_a_refused_key_is_one_line(faults):
    line = harness.fault_line(faults["done"].stderr, "refused")
    key = faults["entries"]["refused"]["key"]
    assert line == f"refused: failed — authentication failed: root@127.0.0.3:2222 refused with key {key}"
    assert harness.meta(faults["results"])["hosts"]["refused"]["reason"] == line.split(" — ", 1)[1]
    assert not (faults["results"] / "hosts" / "refused").exists()


def test_a_mismatched_host_key_is_refused_even_with_accept_new(faults, ssh_hosts):
    line = harness.fault_line(faults["done"].stderr, "impostor")
    fingerprint = harness.host_key_fingerprint(ssh_hosts["h1"])
    known_hosts = faults["entries"]["impostor"]["known_hosts"]
    assert line == (f"impostor: failed — host key mismatch: 127.0.0.2:2222 offered ssh-ed25519 {fingerprint}, but "
                    f"{known_hosts} holds another key for it — refused; if the host was reinstalled, remove its "
                    f"line from {known_hosts} and connect again")
    assert Path(known_hosts).read_bytes() == faults["before"]["impostor"], "a changed key must never be written"


def test_an_unreachable_host_is_one_line(faults):
    line = harness.fault_line(faults["done"].stderr, "nowhere")
    assert line == "nowhere: failed — unreachable: 127.0.0.9:2222: Connection refused"


def test_a_new_host_key_is_added_with_the_flag(faults, ssh_hosts):
    h2 = ssh_hosts["h2"]
    known_hosts = Path(faults["entries"]["h2"]["known_hosts"])
    assert known_hosts.read_text() == h2.known_hosts_line()
    added = [line for line in harness.lines_of(faults["done"].stderr, "h2") if "new host key" in line]
    assert added == [f"h2: new host key ssh-ed25519 {harness.host_key_fingerprint(h2)} for [127.0.0.3]:2222 "
                     f"added to {known_hosts} (--accept-new-host-keys)"]


def test_shell_syntax_in_inventory_values_stays_literal(faults):
    for folder in (faults["workdir"], faults["scratch"], harness.ROOTS / "h1", harness.ROOTS / "h1" / "results",
                   Path.home(), ROOT, Path(os.getcwd())):
        assert not (folder / "x").exists(), f"an inventory value reached a shell: {folder / 'x'} was created"
    hosts = harness.meta(faults["results"])["hosts"]
    assert hosts["h1"]["label"] == "h1 $(touch x); touch x"
    assert hosts["h1"]["root"] == str(faults["weird_root"])
    remote_set = faults["weird_root"] / hosts["h1"]["remote_folder"]
    assert len(harness.rows(remote_set)) == harness.planned(faults["results"], "h1")   # ran in the literal folder


def test_local_runs_in_this_checkout(faults):
    local = faults["results"] / "hosts" / "local"
    assert [row["status"] for row in harness.rows(local)] == ["ok"] * harness.planned(faults["results"], "local")
    assert harness.meta(faults["results"])["hosts"]["local"]["label"] == "this machine $(touch x); touch x"


def test_serial_runs_one_host_after_the_other(faults):
    lines = faults["done"].stderr.splitlines()
    assert any(line.startswith(f"profile 'tiny' on {', '.join(RUNNING + FAILING)} (one after another)")
               for line in lines)
    hosts = RUNNING + FAILING
    for earlier, later in zip(hosts, hosts[1:]):
        ended = next(i for i, line in enumerate(lines) if line == f"{earlier}: ok" or
                     line.startswith(f"{earlier}: failed —"))
        began = min(i for i, line in enumerate(lines) if line.startswith(f"{later}: "))
        assert ended < began, (earlier, later)
    assert [row["host"] for row in harness.rows(faults["results"])] == [
        name for name in RUNNING for _ in range(harness.planned(faults["results"], name))]


def test_nothing_is_left_running(faults, ssh_hosts):
    assert harness.sshd_hosts.leftover_processes(ssh_hosts["h1"].tag) == []
