"""What the contract tests of tests/langs share: the language folders, run specs, and a run through polylab's own
runner (a module of its own, as tests/labpaths.py says: every folder's conftest.py is imported as `conftest`)."""

from __future__ import annotations

import json
import os
import subprocess

from polylab.run.lab import langs_folder
from polylab.run.matrix import run_one
from polylab.run.plan import RunSpec

FOLDERS = sorted(p for p in langs_folder().iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def lang_id(name: str) -> str:
    """`lang[c]`, `lang[python:pypy]`: `pytest -k "lang[c]"` selects exactly C, where `-k c` would also pick
    csharp (-k matches substrings, and its grammar has no `=`); the brackets cannot occur in a language name.
    A variant's tests also answer to its language's id (conftest.py), so `-k "lang[python]"` runs every one."""
    return f"lang[{name}]"


def contract_spec(lang, workload, mode, workers=2, n=None, seconds=None, sink="pipe", tag="") -> RunSpec:
    return RunSpec(run_id=f"contract.{lang}.{workload}.{mode}.{n or seconds}{tag}", experiment="contract",
                   lang=lang, workload=workload, mode=mode, workers=workers, n=n, seconds=seconds, rep=1,
                   warmup=False, timeout_s=60, sink=sink, sample_hz=0, perf=False, cpus=None)


def run_ok(built, spec: RunSpec) -> dict:
    """The run's runs.jsonl row, which must be `ok`: the lab verified the result (checksums and the workload's own)."""
    lab, choice, out = built
    row = run_one(lab, spec, choice, out, sampler=None).to_row()
    assert row["status"] == "ok", f"{spec.label}: {row['status']} — {row.get('reason')}\n{row.get('stderr_tail')}"
    return row


def result_of(built, spec: RunSpec) -> dict | None:
    """The program's own result file of a finished run; None when it wrote none."""
    path = built[2] / "raw" / f"{spec.run_id}.result.json"
    return json.loads(path.read_text()) if path.exists() else None


def run_directly(built, contract_args: list[str]) -> subprocess.CompletedProcess:
    """The built program run with exactly these arguments, outside the lab (for the ones the lab never sends)."""
    _, choice, _ = built
    argv, env = choice.backend.command(choice.target, contract_args)
    return subprocess.run(argv, capture_output=True, env={**os.environ, **env}, timeout=60,
                          cwd=choice.target.build_dir)


def assert_bad_argument(built, contract_args: list[str], result_path) -> None:
    """langs/README.md section 1: exit 2, one stderr line, nothing on stdout, no result file."""
    done = run_directly(built, [*contract_args, "--result", str(result_path)])
    what = " ".join(contract_args)
    assert done.returncode == 2, f"{what}: exit {done.returncode}, expected 2\n{done.stderr.decode()[-500:]}"
    assert done.stdout == b"", f"{what}: wrote to stdout: {done.stdout[:200]!r}"
    assert len(done.stderr.decode().strip().splitlines()) == 1, f"{what}: stderr is not one line: {done.stderr!r}"
    assert not result_path.exists(), f"{what}: wrote a result file"
