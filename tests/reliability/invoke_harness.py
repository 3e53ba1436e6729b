"""Helpers for the reliability tests: the real `invoke` on this checkout, scratch language folders built
from the test-only `faulty` language (tests/faulty/), and a way to find the processes a command left.

Every `invoke` started here carries a unique environment variable. Environments are inherited, so the
guard finds whatever the command started (runs, their children, escaped daemons, the sampler) wherever it
was re-parented, without mistaking another session's processes on a shared machine for ours.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[2]
FAULTY = ROOT / "tests" / "faulty"
INVOKE = Path(sys.executable).parent / "invoke"
TAG = "POLYLAB_RELIABILITY_TEST"


class InvokeSession:
    """Runs `invoke TASK …` as a user would, in process trees tagged so that their strays can be found."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.tag = uuid.uuid4().hex
        self.langs = workdir / "langs"

    def _argv_env(self, args, langs: bool) -> tuple[list[str], dict]:
        env = {**os.environ, TAG: self.tag}
        if langs:
            env["POLYLAB_LANGS"] = str(self.langs)
        return [str(INVOKE), "--search-root", str(ROOT), *map(str, args)], env

    def run(self, *args, langs: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run to the end; `langs`: point the lab at this session's scratch langs folder."""
        argv, env = self._argv_env(args, langs)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.workdir, env=env,
                              stdin=subprocess.DEVNULL)

    def start(self, *args, langs: bool = True) -> subprocess.Popen:
        argv, env = self._argv_env(args, langs)
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.workdir,
                                env=env, stdin=subprocess.DEVNULL)

    def add_language(self, folder: str = "faulty", edits: dict[str, str] | None = None) -> Path:
        """Copy tests/faulty into langs/<folder>, replacing text in its manifest (each edit must apply)."""
        target = self.langs / folder
        shutil.copytree(FAULTY, target, ignore=shutil.ignore_patterns("__pycache__"))
        manifest = target / "lang.yaml"
        text = manifest.read_text()
        for old, new in (edits or {}).items():
            assert old in text, f"{old!r} is not in tests/faulty/lang.yaml"
            text = text.replace(old, new)
        manifest.write_text(text)
        return target

    def live_processes(self) -> list[psutil.Process]:
        """The processes this session's commands started (at any depth) that are still alive."""
        found = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            try:
                if process.environ().get(TAG) == self.tag:
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def stray_processes(self) -> list[str]:
        """live_processes(), killed, then listed."""
        strays = []
        for process in self.live_processes():
            strays.append(f"{process.pid}: {' '.join(process.info['cmdline'] or [])}")
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        return strays


def write_experiments(path: Path, experiments: dict, **defaults) -> Path:
    """An experiments file with one profile, `p`, holding these experiments."""
    profile = {"defaults": defaults, "experiments": experiments}
    path.write_text(yaml.safe_dump({"profiles": {"p": profile}}, sort_keys=False))
    return path


def read_rows(results: Path) -> list[dict]:
    """Every line of runs.jsonl, each of which must parse."""
    return [json.loads(line) for line in (results / "runs.jsonl").read_text().splitlines()]


def single_error_line(done: subprocess.CompletedProcess) -> str:
    """The one line a user mistake must produce: exit code 1, no traceback, one `error:` line and nothing after
    it (progress lines may come before, when the mistake shows only after the languages were looked at)."""
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], done.stderr
    return lines[-1]


def children_of_this_process() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def assert_nothing_survives(session: InvokeSession, children_before: set[int]) -> None:
    strays = session.stray_processes()
    assert not strays, f"processes outlived the command that started them: {strays}"
    assert children_of_this_process() <= children_before, "the test process has children it did not have before"
