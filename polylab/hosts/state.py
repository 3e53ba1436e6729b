"""Where a set run on several hosts stands, kept in its own meta.json so that `--resume DIR` can pick it up.

    results/<set>/meta.json     `hosts_request` (profile, languages, commit, …) and `hosts`: per host its
                                inventory settings, status, reason, machine and remote folder
    results/<set>/hosts/<host>/ that host's own results set, as the lab wrote it there (pulled)

meta.json is rewritten atomically after every change of a host's state (threads share one Ledger).
"""

from __future__ import annotations

import threading
from pathlib import Path

from polylab.config.errors import UserError
from polylab.hosts.inventory import Host
from polylab.results import store
from polylab.results.schema import META, Word

CHECKOUT = Path(__file__).resolve().parents[2]     # the repository whose commit the hosts run
HOSTS = "hosts"
REQUEST = "hosts_request"


class HostStatus(Word):
    PENDING = "pending"              # not started yet
    RUNNING = "running"              # the lab runs there
    OK = "ok"                        # its matrix ended and was pulled (its rows say which runs were ok)
    FAILED = "failed"                # unusable (unreachable, refused, wrong key) or its set-up / lab failed
    INTERRUPTED = "interrupted"      # stopped by Ctrl-C; what finished was pulled
    DISCONNECTED = "disconnected"    # the connection broke; the run goes on there until --resume pulls it


PENDING, RUNNING, OK, FAILED, INTERRUPTED, DISCONNECTED = HostStatus


def host_folder(out: Path, name: str) -> Path:
    return out / HOSTS / name


def is_hosts_set(directory: Path) -> bool:
    return (directory / META).exists() and REQUEST in store.read_meta(directory)


class Ledger:
    """meta.json of a hosts set, updated by every host's thread."""

    def __init__(self, out: Path, meta: dict):
        self.out, self.meta = out, meta
        self.lock = threading.Lock()

    @classmethod
    def start(cls, out: Path, request: dict, hosts: list[Host]) -> "Ledger":
        meta = {"profile": request.get("profile"), REQUEST: request,
                HOSTS: {host.name: {**host.record(), "status": PENDING, "reason": None} for host in hosts}}
        ledger = cls(out, meta)
        ledger.save()
        return ledger

    @classmethod
    def load(cls, out: Path) -> "Ledger":
        if not is_hosts_set(out):
            raise UserError(f"{out} is not a set run on hosts (its meta.json has no '{REQUEST}')")
        meta = store.read_meta(out)
        meta.pop("schema_version", None)
        return cls(out, meta)

    @property
    def request(self) -> dict:
        return self.meta[REQUEST]

    def hosts(self) -> list[Host]:
        return [Host.from_record({"name": name, **record}) for name, record in self.meta[HOSTS].items()]

    def status(self, name: str) -> str:
        return self.meta[HOSTS][name]["status"]

    def record(self, name: str) -> dict:
        return self.meta[HOSTS][name]

    def update(self, name: str, **fields) -> None:
        with self.lock:
            self.meta[HOSTS][name].update(fields)
            self.save()

    def save(self) -> None:
        store.write_meta(self.out, self.meta)
