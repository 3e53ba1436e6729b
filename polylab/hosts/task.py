"""The entry tasks.py's `run` and `all` call: on hosts when --hosts is given or --resume names a set that
was run on hosts; otherwise the one-machine path, unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from polylab.cli.commands import user_errors
from polylab.hosts.state import CHECKOUT, is_hosts_set
from polylab.results import store

HELP = {
    "hosts": "run on these hosts of the inventory over SSH: h1,h2 or 'all' ('local' is this machine)",
    "serial": "with --hosts: one host after another instead of all at once",
    "inventory": "with --hosts: the inventory file (default: hosts.yaml)",
    "accept_new_host_keys": "with --hosts: add a host key that known_hosts lacks (a changed key is still refused)",
}


def _resumes_hosts_set(resume) -> bool:
    return bool(resume) and is_hosts_set(store.resume_folder(resume, CHECKOUT))


def run(run_here: Callable[..., tuple[Path, int]], *, hosts: str | None = None, serial: bool = False,
        inventory: str | None = None, accept_new_host_keys: bool = False, **options) -> tuple[Path, int]:
    """(results folder, exit code), like polylab.cli.commands.run, which is `run_here`."""
    with user_errors():
        several = bool(hosts) or _resumes_hosts_set(options.get("resume"))
    if not several:
        return run_here(**options)
    from polylab.hosts.orchestrate import run_on_hosts    # fabric and paramiko load only for --hosts
    with user_errors():
        return run_on_hosts(hosts=hosts, serial=serial, inventory=inventory,
                            accept_new_host_keys=accept_new_host_keys, **options)
