"""The inventory's validation (one line per mistake, as for experiments.yaml), host selection, a host's cpus
and backend overrides in the lab command it runs, the quoting of the host's command lines and what shipping
changes, and an unknown host key refused without --accept-new-host-keys."""

from __future__ import annotations

import io
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest
import yaml

from labpaths import ROOT, load_by_path
from polylab.config.errors import ConfigError, UserError
from polylab.hosts import commands
from polylab.hosts.hostrun import HostRun, Request
from polylab.hosts.inventory import Host, load_inventory, select_hosts
from polylab.hosts.state import Ledger
from polylab.hosts.targets import HostDown, RemoteTarget

harness = load_by_path("polylab_tests_hosts_harness", Path(__file__).resolve().parent / "harness.py")


@pytest.mark.parametrize("text, message", [
    ("hosts:\n  h1:\n    ssh: 42\n", "==> At host 'h1' ==> At key: ssh =====> Expected str, got int 42"),
    ("hosts:\n  h1:\n    ssh: root@box:70000\n",
     "==> At host 'h1' ==> At key: ssh =====> Expected a port from 1 to 65535, got 70000"),
    ("hosts:\n  h1:\n    ssh: 'root@box; touch x'\n",
     "==> At host 'h1' ==> At key: ssh =====> Expected user@address[:port], got 'root@box; touch x'"),
    ("hosts:\n  h1:\n    key: id\n", "==> At host 'h1' ==> At key: ssh =====> Missing required key"),
    ("hosts:\n  h1:\n    ssh: a@b\n    cpus: 0\n",
     "==> At host 'h1' ==> At key: cpus =====> Expected a positive number of CPUs, got 0"),
    ("hosts:\n  h1:\n    ssh: a@b\n    backend: vm\n",
     "==> At host 'h1' ==> At key: backend =====> Expected one of local, container, auto, got 'vm'"),
    ("hosts:\n  ../up:\n    ssh: a@b\n", "==> At host '../up' =====> A host name holds only letters, digits, '.', "
                                           "'_' and '-', starts with a letter or digit, and is not 'all'"),
    ("hosts:\n  local:\n    ssh: a@b\n",
     "==> At host 'local' ==> At key: ssh =====> 'local' is this machine: it may set only label, cpus, backend"),
    ("hosts: []\n", "==> At top level ==> At key: hosts =====> Expected a non-empty mapping of host name to host"),
])
def test_a_bad_inventory_is_one_line_naming_host_and_key(tmp_path, text, message):
    path = tmp_path / "hosts.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_inventory(path)
    assert str(raised.value) == f"==> File hosts.yaml {message}"


def test_through_invoke_it_is_one_error_line_and_exit_1(tmp_path):
    (tmp_path / "hosts.yaml").write_text("hosts:\n  h1:\n    ssh: 42\n")
    done = subprocess.run([str(harness.INVOKE), "--search-root", str(ROOT), "run", "--hosts", "h1", "--inventory",
                           "hosts.yaml"], capture_output=True, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: ==> File hosts.yaml ==> At host 'h1' ==> At key: ssh =====> Expected str, got int 42"]


@pytest.mark.parametrize("given", ["hosts.yaml", "inventories/lab.yaml"])
def test_an_unknown_host_through_invoke_is_one_line_naming_the_inventory(tmp_path, given):
    """The file as given to --inventory, so that a user with several inventories sees which one was read."""
    (tmp_path / given).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / given).write_text("hosts:\n  h1:\n    ssh: u@h1\n")
    done = subprocess.run([str(harness.INVOKE), "--search-root", str(ROOT), "run", "--hosts", "h1,h9", "--inventory",
                           given], capture_output=True, text=True, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: unknown host 'h9' in --hosts; known: h1, local (inventory {given})"]


def test_unknown_keys_warn_and_defaults_fill_in(tmp_path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  big:\n    ssh: lab@192.0.2.10:2200\n    cpu: 8\n")
    with pytest.warns(UserWarning, match=r"hosts.yaml: host 'big': unknown key 'cpu' ignored"):
        hosts = load_inventory(path)
    assert hosts == {"big": Host(name="big", ssh="lab@192.0.2.10:2200", root="~/polylab-runs/big")}
    assert (hosts["big"].user, hosts["big"].address, hosts["big"].port) == ("lab", "192.0.2.10", 2200)


def test_host_selection(tmp_path):
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  a:\n    ssh: u@a\n  b:\n    ssh: u@b\n  local:\n    cpus: 1\n")
    assert [h.name for h in select_hosts("all", path, tmp_path)] == ["a", "b", "local"]
    assert [(h.name, h.cpus) for h in select_hosts("b,local", path, tmp_path)] == [("b", None), ("local", 1)]
    with pytest.raises(UserError) as raised:
        select_hosts("a,c", path, tmp_path)
    assert str(raised.value) == f"unknown host 'c' in --hosts; known: a, b, local (inventory {path})"
    bare = tmp_path / "bare"          # a checkout without hosts.yaml
    assert [h.name for h in select_hosts("local", None, bare)] == ["local"]     # no inventory needed
    with pytest.raises(UserError, match=r"^no inventory: .*hosts.yaml does not exist"):
        select_hosts("a", None, bare)


def test_a_hosts_cpus_and_backend_override_reach_its_lab_command(tmp_path):
    """Every experiment of the host's experiments file runs on its cpus (an experiment's own cpus, or the
    profile's default, is overridden), and its backend replaces the one asked for; a host without overrides
    runs the request as it is. (test_host_remote_faults.py sees the cpus in a host's rows.)"""
    config = tmp_path / "experiments.yaml"
    config.write_text(yaml.safe_dump({"profiles": {"p": {"defaults": {"cpus": 2}, "experiments": {
        "a": {"workload": "sum"}, "b": {"workload": "sum", "cpus": 2}}}}}))
    request = Request(out=tmp_path / "set", commit=None, set_id="s", profile="p", backend="auto", config=config)

    def host_run(**overrides) -> HostRun:
        host = Host(name="big", ssh="lab@192.0.2.10", root="runs", **overrides)
        return HostRun(host, request, Ledger(request.out, {}), threading.Event())     # nothing connects here

    pinned = host_run(cpus=1, backend="local")
    experiments = yaml.safe_load(pinned._config_text())["profiles"]["p"]["experiments"]
    assert {name: experiment["cpus"] for name, experiment in experiments.items()} == {"a": 1, "b": 1}
    assert pinned._lab_argv(False, "results/s/experiments.yaml") == [
        ".venv/bin/invoke", "run", "--profile", "p", "--backend", "local", "--config", "results/s/experiments.yaml",
        "--out", "results/s"]
    plain = host_run()
    assert plain._config_text() == config.read_text()
    assert plain._lab_argv(True, None) == [".venv/bin/invoke", "run", "--profile", "p", "--backend", "auto",
                                           "--resume", "results/s"]


def test_every_value_in_a_command_line_stays_literal(tmp_path):
    """The launch line, run by bash, with a root, a folder and arguments full of shell syntax."""
    root = tmp_path / "root $(touch x); touch x"
    root.mkdir()
    folder = "results/set `touch x`"
    argv = ["bash", "-c", 'printf "%s\\n" "$@" > args.txt', "-", "; touch x", "$(touch x)"]
    launched = subprocess.run(["bash", "-c", commands.launch(str(root), folder, argv, setup=False)],
                              capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert launched.returncode == 0, launched.stderr
    pid, offset = map(int, launched.stdout.split())
    probe = ["bash", "-c", commands.probe(str(root), folder)]
    for _ in range(100):
        state = subprocess.run(probe, capture_output=True, text=True, cwd=tmp_path).stdout.split()
        if state[0] == "ended":
            break
        time.sleep(0.05)
    assert state == ["ended", "run", "0"]
    assert (root / "args.txt").read_text() == "; touch x\n$(touch x)\n"
    assert (root / folder / commands.LOG).exists() and offset == 0
    assert not list(tmp_path.rglob("x")), "a value reached a shell unquoted"


def test_remote_root_relative_to_the_login_home():
    assert [commands.remote_root(root) for root in ("~", "~/runs/h1", "/srv/runs", "runs")] == [
        ".", "runs/h1", "/srv/runs", "runs"]


def test_an_unknown_host_key_is_refused_without_the_flag(ssh_hosts, tmp_path):
    h2 = ssh_hosts["h2"]
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    host = Host(name="h2", ssh=h2.ssh, key=str(h2.user_key), known_hosts=str(empty), root="r")
    with pytest.raises(HostDown) as raised:
        RemoteTarget(host, accept_new_host_keys=False, say=print).open()
    assert str(raised.value) == (f"host key unknown: 127.0.0.3:2222 is not in {empty} — check the key and add it "
                                 f"(connect once with ssh), or pass --accept-new-host-keys")
    assert empty.read_text() == ""


def _tar_of(files: dict[str, str], date: float) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(text.encode()), date
            archive.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def test_shipping_changes_only_what_changed_as_git_checkout_does(tmp_path):
    """make setup reinstalls when pyproject.toml is newer than its stamp: a new commit that leaves it alone
    must not re-date it, and a changed one is dated now even if its commit is older than the last set-up."""
    root = tmp_path / "root; touch x"
    commit_time = time.time() - 86400
    ship = ["bash", "-c", commands.ship(str(root))]
    first = {"pyproject.toml": "[project]\n", "README.md": "one\n", "langs/go/main.go": "package main\n"}
    subprocess.run(ship, input=_tar_of(first, commit_time), check=True, capture_output=True)
    dated = {name: (root / name).stat().st_mtime for name in first}
    second = {**first, "README.md": "two\n"}
    subprocess.run(ship, input=_tar_of(second, commit_time), check=True, capture_output=True)
    assert (root / "pyproject.toml").stat().st_mtime == dated["pyproject.toml"]
    assert (root / "langs/go/main.go").stat().st_mtime == dated["langs/go/main.go"]
    assert (root / "README.md").read_text() == "two\n"
    assert (root / "README.md").stat().st_mtime > commit_time + 3600
    assert sorted(path.name for path in root.iterdir()) == ["README.md", "langs", "pyproject.toml"]
    assert not (tmp_path / "x").exists()
