"""One host's share of a set: connect, ship the commit, set up and run the lab detached, follow its log,
pull its results set into `results/<set>/hosts/<host>/`.

The lab runs on the host detached from the SSH session (polylab.hosts.commands.launch), so a dropped
connection does not stop it: the host is recorded as `disconnected`, and `--resume` reconnects, follows the
run if it is still going, pulls, and starts `invoke run --resume` there for whatever is missing. The remote
folder is the truth until it is pulled; a pull replaces the local copy only once it is complete.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from polylab.console import say
from polylab.hosts import commands
from polylab.hosts.inventory import Host
from polylab.hosts.state import CHECKOUT, DISCONNECTED, FAILED, INTERRUPTED, OK, RUNNING, Ledger, host_folder
from polylab.hosts.targets import ConnectionLost, HostDown, target_for

FINISHED = {0, 1}          # the lab's exit status once its matrix ended (1: some runs not ok)
# The lab's lines worth a line here: one per finished run, errors, skipped languages, the plan. (Its own
# "interrupted: … --resume <remote folder>" is left out: the command to resume is the local one.)
SHOWN = re.compile(r"\[\d+/\d+\] |error:|skipping |profile '|polylab-hosts:")
POLL_S = 0.3


@dataclass(frozen=True)
class Request:
    """What every host runs: the same profile, languages and commit."""

    out: Path
    commit: str | None                   # None when every host is `local` (nothing is shipped)
    set_id: str                          # names the set's folder on each host: results/<set_id>
    profile: str | None = None
    langs: str | None = None
    backend: str | None = None
    strict: bool = False
    config: Path | None = None          # a local experiments file to use instead of the host's own


def with_cpus(text: str, cpus: int) -> str:
    """An experiments file whose every experiment runs on `cpus` CPUs (an experiment's own setting wins over
    any default, so the override goes on each of them)."""
    data = yaml.safe_load(text) or {}
    for profile in (data.get("profiles") or {}).values():
        for experiment in ((profile or {}).get("experiments") or {}).values():
            if isinstance(experiment, dict):
                experiment["cpus"] = cpus
    return f"# written by polylab --hosts: every experiment with cpus {cpus}\n" + yaml.safe_dump(data, sort_keys=False)


def _last_line(path: Path, prefix: str = "") -> str | None:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.startswith(prefix)]
    except OSError:
        return None
    return lines[-1].strip() if lines else None


class HostRun:
    def __init__(self, host: Host, request: Request, ledger: Ledger, stop: threading.Event,
                 accept_new_host_keys: bool = False):
        self.host, self.request, self.ledger, self.stop = host, request, ledger, stop
        self.target = target_for(host, accept_new_host_keys, self.say)
        self.local_folder = host_folder(request.out, host.name)
        # Where the lab runs and writes, as the host's shell sees it.
        self.root = str(CHECKOUT) if host.is_local else commands.remote_root(host.root)
        self.folder = str(self.local_folder) if host.is_local else f"results/{request.set_id}"
        self.pid: int | None = None
        self.lock = threading.Lock()     # between launching (worker thread) and stopping (main thread)

    def say(self, text: str) -> None:
        say(f"{self.host.name}: {text}")

    # --- the pipeline ---------------------------------------------------------------------------------------

    def execute(self, resume: bool) -> None:
        """Run this host's part to its end; the outcome goes to the ledger, never out as an exception."""
        try:
            self._execute(resume)
        except HostDown as exc:
            self._finish(FAILED, str(exc))
        except ConnectionLost as exc:
            again = f"`invoke all --resume {self.request.out}`"
            if self.pid is None:
                self._finish(DISCONNECTED, f"connection lost before the run started ({exc}) — {again} starts it")
            else:
                self._finish(DISCONNECTED, f"connection lost ({exc}); the run on the host keeps going (it is "
                             f"detached from the SSH session) — {again} reconnects, pulls what finished and runs "
                             f"what is missing")
        except Exception as exc:     # a bug here must not stop the other hosts
            self._finish(FAILED, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self.target.close()

    def _execute(self, resume: bool) -> None:
        if self.stop.is_set():
            return self._finish(INTERRUPTED, "not started: interrupted")
        self.target.open()
        _, text = self.target.run(commands.DESCRIBE)
        self.ledger.update(self.host.name, machine=commands.parse_describe(text), remote_folder=self.folder)
        earlier = self._probe() if resume else ("ended", "")
        if earlier[0] == "running":
            self.say(f"the run started earlier is still going (pid {earlier[1]}): following it")
            with self.lock:
                self.pid = earlier[1]
            earlier = ("ended", self._follow_to_end(earlier[1], earlier[2]))
        if self._finished(earlier[1]) or (earlier[1] and self.stop.is_set()):
            self.say(f"its run has ended ({earlier[1]}): pulling it")
            return self._pull_and_judge(earlier[1])     # nothing is missing there
        started = self._start(resume)
        if started is None:
            return self._finish(INTERRUPTED, "not started: interrupted")
        self._pull_and_judge(self._follow_to_end(*started))

    def _start(self, resume: bool) -> tuple[int, int] | None:
        if not self.host.is_local:
            self._ship()
        argv = self._lab_argv(resume, self._write_config())
        with self.lock:
            if self.stop.is_set():
                return None
            code, text = self.target.run(commands.launch(self.root, self.folder, argv, setup=not self.host.is_local))
            if code != 0:
                raise HostDown(f"could not start the run: {text.strip().splitlines()[-1] if text.strip() else code}")
            pid, offset = map(int, text.split())
            self.pid = pid
        self.ledger.update(self.host.name, status=RUNNING, reason=None)
        self.say(("resuming" if resume else "started") + f" on {self.host.ssh or 'this machine'} (pid {pid})"
                 + ("" if self.host.is_local else "; set-up first: make setup toolchains"))
        return pid, offset

    def _ship(self) -> None:
        commit = self.request.commit
        self.say(f"shipping commit {commit[:12]} to {self.host.root}")
        archive = subprocess.Popen(["git", "-C", str(CHECKOUT), "archive", "--format=tar", commit],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        code, errors = self.target.send(commands.ship(self.root), iter(lambda: archive.stdout.read(1 << 16), b""))
        archive.stdout.close()
        if archive.wait() != 0:
            raise HostDown(f"git archive {commit[:12]} failed: {archive.stderr.read().decode().strip()}")
        if code != 0:
            raise HostDown(f"could not unpack the tree in {self.host.root}: {errors.strip() or f'exit {code}'}")

    def _config_text(self) -> str | None:
        """The experiments file this host runs, when it is not the host's own: --config, or a cpus override."""
        if self.request.config is None and self.host.cpus is None:
            return None
        if self.request.config is not None:
            text = self.request.config.read_text(encoding="utf-8")
        elif self.host.is_local:
            text = (CHECKOUT / "experiments.yaml").read_text(encoding="utf-8")
        else:
            text = subprocess.run(["git", "-C", str(CHECKOUT), "show", f"{self.request.commit}:experiments.yaml"],
                                  capture_output=True, text=True, check=True).stdout
        return with_cpus(text, self.host.cpus) if self.host.cpus is not None else text

    def _write_config(self) -> str | None:
        text = self._config_text()
        if text is None:
            return None
        code, errors = self.target.send(commands.write_file(self.root, self.folder, commands.CONFIG), [text.encode()])
        if code != 0:
            raise HostDown(f"could not write {commands.CONFIG} on the host: {errors.strip()}")
        return f"{self.folder}/{commands.CONFIG}"

    def _lab_argv(self, resume: bool, config: str | None) -> list[str]:
        request = self.request
        invoke = [str(Path(sys.executable).parent / "invoke")] if self.host.is_local else [".venv/bin/invoke"]
        argv = [*invoke, "run"]
        backend = self.host.backend or request.backend
        for flag, value in (("--profile", request.profile), ("--langs", request.langs), ("--backend", backend),
                            ("--config", config)):
            if value:
                argv += [flag, value]
        if request.strict:
            argv.append("--strict")
        return argv + (["--resume", self.folder] if resume else ["--out", self.folder])

    def _probe(self) -> tuple:
        """("running", pid, log size) or ("ended", rc file's content)."""
        _, text = self.target.run(commands.probe(self.root, self.folder))
        words = text.split()
        if words[:1] == ["running"] and len(words) == 3:
            return "running", int(words[1]), int(words[2])
        return "ended", " ".join(words[1:])

    def _show(self, line: str) -> None:
        if SHOWN.match(line):
            self.say(line)

    def _follow_to_end(self, pid: int, offset: int) -> str:
        """Stream the log until the run ends; returns its rc file's content ("" when it left none)."""
        while True:
            self.target.follow(commands.follow(self.root, self.folder, pid, offset), self._show)
            state = self._probe()
            if state[0] == "ended":
                return state[1]
            offset = state[2]
            time.sleep(POLL_S)

    # --- stopping (called from the main thread on Ctrl-C) ------------------------------------------------

    def stop_run(self) -> None:
        """End the run's process group on the host; returns once it is gone (or the host cannot be reached)."""
        with self.lock:
            pid = self.pid
        if pid is None:
            return
        try:
            self.target.run(commands.stop(pid), timeout=commands.STOP_GRACE_S + 15)
        except ConnectionLost as exc:
            self.say(f"could not stop the run ({exc}): it keeps going on the host")

    # --- outcome ------------------------------------------------------------------------------------------

    @staticmethod
    def _finished(outcome: str) -> bool:
        kind, _, code = outcome.partition(" ")
        return kind == "run" and code.isdigit() and int(code) in FINISHED

    def _pull(self) -> None:
        if self.host.is_local:
            return
        landing = self.local_folder.with_name(f".{self.host.name}.pull")
        shutil.rmtree(landing, ignore_errors=True)
        landing.mkdir(parents=True)
        code, errors = self.target.unpack(commands.pull(self.root, self.folder), landing)
        if code != 0:
            raise HostDown(f"could not pull the results: {errors.strip() or f'exit {code}'}")
        previous = self.local_folder.with_name(f".{self.host.name}.previous")
        shutil.rmtree(previous, ignore_errors=True)
        if self.local_folder.exists():
            self.local_folder.rename(previous)
        landing.rename(self.local_folder)
        shutil.rmtree(previous, ignore_errors=True)

    def _pull_and_judge(self, outcome: str) -> None:
        self._pull()
        self._finish(*self._judge(outcome))

    def _judge(self, outcome: str) -> tuple[str, str | None]:
        kind, _, code_text = outcome.partition(" ")
        code = int(code_text) if code_text.lstrip("-").isdigit() else None
        log = self.local_folder / commands.LOG
        if kind == "setup":
            detail = _last_line(self.local_folder / commands.SETUP_LOG) or "no output"
            return FAILED, f"set-up failed: make setup toolchains exited {code} — {detail}"
        if kind == "run" and code in FINISHED:
            error = _last_line(log, "error:") if code else None
            return (FAILED, f"the lab stopped: {error}") if error else (OK, None)
        if self.stop.is_set() or code in (130, 143):
            return INTERRUPTED, f"stopped; finished runs kept — `invoke all --resume {self.request.out}` continues"
        if kind == "run":
            return FAILED, f"the lab exited {code}: {_last_line(log, 'error:') or _last_line(log) or 'no output'}"
        return FAILED, "the run ended without recording its exit status (killed on the host?)"

    def _finish(self, status: str, reason: str | None) -> None:
        self.ledger.update(self.host.name, status=status, reason=reason)
        self.say(status + (f" — {reason}" if reason else ""))
