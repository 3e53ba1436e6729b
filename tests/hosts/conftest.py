"""Fixtures for the several-machines tests: two real sshd test hosts on 127.0.0.2:2222 and 127.0.0.3:2222.

Both hosts are this machine, each with its own remote root. The roots live in /var/cache/polylab/hosts-test/
(outside the clone, like the container tests' image): `make setup` there creates a venv and pip-installs
the project, which takes minutes, so the roots are shared by every test of a session and kept between
sessions; it runs again only when pyproject.toml changes, as on any host. Old results sets in them are
removed at the start of a session.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import yaml

from labpaths import load_by_path

harness = load_by_path("polylab_tests_hosts_harness", Path(__file__).resolve().parent / "harness.py")
sshd_hosts = harness.sshd_hosts


@pytest.fixture(scope="session")
def ssh_hosts(tmp_path_factory):
    """{"h1": TestHost, "h2": TestHost}, started; stopped at the end of the session."""
    sshd_hosts.ensure_openssh_server()
    tag = uuid.uuid4().hex
    base = tmp_path_factory.mktemp("sshd")
    hosts = {name: sshd_hosts.TestHost(name, address, base / name, tag)
             for name, address in (("h1", "127.0.0.2"), ("h2", "127.0.0.3"))}
    for name in hosts:
        shutil.rmtree(harness.ROOTS / name / "results", ignore_errors=True)
    try:
        for host in hosts.values():
            host.start()
        yield hosts
    finally:
        for host in hosts.values():
            host.stop()
        leftovers = sshd_hosts.leftover_processes(tag)
        assert not leftovers, f"processes outlived the session: {leftovers}"


@pytest.fixture(scope="session")
def experiments_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "experiments.yaml"
    path.write_text(yaml.safe_dump(harness.EXPERIMENTS, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory, ssh_hosts):
    """A Lab in a fresh folder, for a module whose tests share one expensive command."""
    return harness.Lab(tmp_path_factory.mktemp("lab"), next(iter(ssh_hosts.values())).tag)


@pytest.fixture
def lab(tmp_path, ssh_hosts):
    return harness.Lab(tmp_path / "work", next(iter(ssh_hosts.values())).tag)


def pytest_configure(config):
    config.addinivalue_line("markers", "hosts: needs the SSH test hosts (started by the tests themselves)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.hosts)
