"""What the several-machines tests share: the lab as a user runs it, the test inventory, the shared remote
roots and readers for a hosts set."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from labpaths import ROOT, load_by_path

sshd_hosts = load_by_path("polylab_tests_hosts_sshd", Path(__file__).resolve().parent / "sshd_hosts.py")

ROOTS = Path("/var/cache/polylab/hosts-test")
INVOKE = Path(sys.executable).parent / "invoke"
EXPERIMENTS = {
    "version": 1,
    "default_profile": "steady",
    "profiles": {
        # 8 runs of 1.5 s: a host that got going seconds before the other (CI once saw it finish all 8 of 0.8 s
        # before the other's first) is still mid-run when the test interrupts both
        "steady": {"description": "8 runs of 1.5 s: time to interrupt a host mid-run",
                   "defaults": {"repetitions": 2, "timeout_s": 60},
                   "experiments": {"cpu": {"workload": "sum", "workers": [1, 2], "seconds": 1.5}}},
        "tiny": {"description": "2 short runs per host",
                 "defaults": {"repetitions": 1, "timeout_s": 60},
                 "experiments": {"cpu": {"workload": "sum", "workers": [1], "n": 100000}}},
    },
}


class Lab:
    """`invoke …` of this checkout, as a user runs it, tagged so that every process it starts (and every
    process the test hosts' sessions start) can be found afterwards."""

    def __init__(self, workdir: Path, tag: str):
        self.workdir, self.tag = workdir, tag
        workdir.mkdir(parents=True, exist_ok=True)

    def _argv_env(self, args):
        return ([str(INVOKE), "--search-root", str(ROOT), *map(str, args)],
                {**os.environ, sshd_hosts.TAG: self.tag})

    def run(self, *args, timeout: float = 600) -> subprocess.CompletedProcess:
        argv, env = self._argv_env(args)
        return subprocess.run(argv, capture_output=True, text=True, cwd=self.workdir, env=env, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def start(self, *args) -> subprocess.Popen:
        argv, env = self._argv_env(args)
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                cwd=self.workdir, env=env, stdin=subprocess.DEVNULL)


def host_entry(host, **overrides) -> dict:
    """An inventory entry for a test host: its key, its known_hosts, its shared root."""
    return {"ssh": host.ssh, "key": str(host.user_key), "known_hosts": str(host.known_hosts),
            "root": str(ROOTS / host.name), **overrides}


def write_inventory(path: Path, entries: dict) -> Path:
    path.write_text(yaml.safe_dump({"hosts": entries}, sort_keys=False))
    return path


def meta(results: Path) -> dict:
    return json.loads((results / "meta.json").read_text())


def rows(results: Path) -> list[dict]:
    """Every line of a runs.jsonl, each of which must parse."""
    path = results / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def planned(results: Path, host: str) -> int:
    """The runs the host's lab planned (its meta.json): the count follows the languages' variants there."""
    return meta(results / "hosts" / host)["planned_runs"]


def lines_of(stderr: str, host: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{host}: ")]


def fault_line(stderr: str, host: str) -> str:
    """The one line that says why a host failed."""
    found = [line for line in lines_of(stderr, host) if re.match(rf"{re.escape(host)}: (failed|disconnected) — ", line)]
    assert len(found) == 1, (host, stderr[-3000:])
    return found[0]


def host_key_fingerprint(host) -> str:
    """SHA256:… of a test host's key, as ssh-keygen -l (and paramiko) print it."""
    listed = subprocess.run(["ssh-keygen", "-l", "-f", f"{host.host_key}.pub"], capture_output=True, text=True,
                            check=True).stdout
    return listed.split()[1]


class Watch:
    """Collects a started command's stderr lines as they come, so a test can act at a point of its progress."""

    def __init__(self, process: subprocess.Popen):
        self.process, self.lines = process, []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, *prefixes: str, timeout: float = 300) -> None:
        """Until a line starting with each prefix has come (the command must still be running)."""
        deadline = time.monotonic() + timeout
        while not all(any(line.startswith(prefix) for line in self.lines) for prefix in prefixes):
            assert self.process.poll() is None, "the command ended early:\n" + "\n".join(self.lines[-40:])
            assert time.monotonic() < deadline, "\n".join(self.lines[-40:])
            time.sleep(0.05)

    def finish(self, timeout: float = 180) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code, "\n".join(self.lines)
