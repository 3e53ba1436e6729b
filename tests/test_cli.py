"""The tasks as a user runs them: real `invoke` processes on this checkout."""

import json
import os
import shutil
import subprocess

import pytest

from labpaths import ROOT
from polylab.results.schema import SCHEMA_VERSION
from polylab.run.lab import choose, load_lab


def usable_variants() -> list[str]:
    """The keys of the variants whose toolchain is found here (what doctor shows `ok`): the tests below follow
    the languages and variants present rather than a fixed list."""
    lab = load_lab()
    return [choice.key for choice in choose(lab, list(lab.languages), "local") if choice.detection.ok]


def invoke(invoke_cmd, *args, env=None, timeout=600):
    return subprocess.run([*invoke_cmd, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def test_smoke_profile_runs_every_language_in_both_modes(invoke_cmd, tmp_path):
    done = invoke(invoke_cmd, "all", "--profile", "smoke", "--out", str(tmp_path / "set"))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "set" / "runs.jsonl").read_text().splitlines()]
    meta = json.loads((tmp_path / "set" / "meta.json").read_text())
    seen = {(key, r["mode"]) for r in rows if r["status"] == "ok" and r["checksum_ok"]
            for key, info in meta["toolchains"].items() if (info["lang"], info["variant"]) == (r["lang"], r["variant"])}
    assert seen == {(key, mode) for key in usable_variants() for mode in ("threads", "processes")}
    assert all(r["status"] == "ok" for r in rows), [r["reason"] for r in rows if r["status"] != "ok"]
    # print runs on a pseudo-terminal (the article's console) for every variant and mode, its content checked
    # line by line there as on a pipe: workers × n lines
    smoke_print = next(e for e in load_lab().config.profiles["smoke"].experiments if e.name == "print")
    printed = {(r["lang"], r["variant"], r["mode"]): (r["sink"], r["stdout_ok"], r["stdout_lines"])
               for r in rows if r["experiment"] == "print"}
    every = {(r["lang"], r["variant"], r["mode"]) for r in rows}
    assert printed == dict.fromkeys(every, ("tty", True, smoke_print.workers[0] * smoke_print.n))
    assert meta["schema_version"] == SCHEMA_VERSION and meta["profile"] == "smoke"
    assert meta["machine"]["logical_cores"] >= 1
    assert (tmp_path / "set" / "summary.md").exists()


def test_second_build_compiles_nothing(invoke_cmd):
    first = invoke(invoke_cmd, "build")
    assert first.returncode == 0, first.stderr
    second = invoke(invoke_cmd, "build")
    assert second.returncode == 0
    assert "nothing to compile: every build is up to date" in second.stderr
    assert second.stderr.count("up to date (cached build, nothing compiled)") == len(usable_variants())


def test_malformed_experiments_file_is_one_message_and_exit_1(invoke_cmd, tmp_path):
    bad = tmp_path / "experiments.yaml"
    bad.write_text((ROOT / "experiments.yaml").read_text().replace("workers: [1, 2]", "workers: many"))
    done = invoke(invoke_cmd, "all", "--config", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: ==> File {bad} ==> At profile 'quick' / experiment 'cpu' ==> At key: "
                                   "workers =====> Expected list of int, got str 'many'")
    assert "Traceback" not in done.stderr + done.stdout


def test_unknown_language_is_one_message(invoke_cmd):
    done = invoke(invoke_cmd, "doctor", "--langs", "go,cobol")
    assert done.returncode == 1
    known = ", ".join(sorted(folder.name for folder in (ROOT / "langs").iterdir() if folder.is_dir()))
    assert done.stderr.strip() == f"error: unknown language 'cobol' in --langs; known: {known}"


def test_new_lang_is_discovered_listed_and_contract_tested(invoke_cmd, tmp_path):
    langs = tmp_path / "langs"
    shutil.copytree(ROOT / "langs" / "python", langs / "python")
    env = {"POLYLAB_LANGS": str(langs)}
    made = invoke(invoke_cmd, "new-lang", "demo", env=env)
    assert made.returncode == 0 and (langs / "demo" / "lang.yaml").exists() and (langs / "demo" / "README.md").exists()
    flagged = invoke(invoke_cmd, "new-lang", "--name", "demo2", env=env)   # the form `invoke --help new-lang` shows
    assert flagged.returncode == 0 and (langs / "demo2" / "lang.yaml").exists()
    doctor = invoke(invoke_cmd, "doctor", env=env)
    assert doctor.returncode == 0 and "demo" in doctor.stdout and "missing" in doctor.stdout
    collected = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "--collect-only", "-q",
                                str(ROOT / "tests" / "langs")], capture_output=True, text=True, cwd=ROOT,
                               env={**os.environ, **env}, timeout=120)
    assert "lang[demo]" in collected.stdout and "lang[python:cpython]" in collected.stdout
    ran = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-k", "demo and count_mode",
                          str(ROOT / "tests" / "langs")], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, **env}, timeout=120)
    assert ran.returncode == 1
    assert ("demo: no toolchain found: needs todo-toolchain (TODO-compiler) — install: TODO: the command that "
            "installs the toolchain, e.g. apt-get install -y g++") in ran.stdout
    assert "Traceback" not in ran.stdout


@pytest.mark.parametrize("hosts, closing", [
    ({"alpha": {"status": "ok"}, "beta": {"status": "failed", "reason": "unreachable"}},
     "host beta did not finish (each one's reason is above and in {meta}); every row that was run is in {runs}"),
    ({"alpha": {"status": "ok"}}, "some runs were not ok; every row is in {runs}"),
    (None, "some runs were not ok; every row is in {runs}"),
])
def test_a_matrix_that_ends_1_names_the_hosts_that_failed_else_the_runs(hosts, closing, tmp_path):
    from invoke import Exit
    from polylab.cli.commands import exit_for
    (tmp_path / "meta.json").write_text(json.dumps({"hosts": hosts} if hosts else {}))
    with pytest.raises(Exit) as stopped:
        exit_for(1, tmp_path)
    assert stopped.value.code == 1
    assert stopped.value.message == closing.format(meta=tmp_path / "meta.json", runs=tmp_path / "runs.jsonl")
