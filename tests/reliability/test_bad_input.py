"""Bad input, through the real `invoke run`: each mistake is one line on stderr naming the file, the entry and
the key, exit code 1, no traceback, and nothing runs. Mistakes that are not fatal (an unknown key, a missing
toolchain) warn and the rest runs. Cases already run through `invoke` in tests/test_cli.py (a wrong type in
experiments.yaml, an unknown language in --langs) are not repeated here."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from invoke_harness import read_rows, single_error_line, write_experiments
from polylab.results import store
from polylab.config.errors import UserError

EXPERIMENT = {"workload": "sum", "modes": ["threads"], "workers": [1], "n": 10}
RUN_LINE = 'run: [python3, "{src}/faulty.py"]'
MISSING_TOOL = "polylab-no-such-compiler"


def run_with(session, *args, out=None, **experiment_changes):
    """`invoke run` of the faulty language's `well-behaved` experiment, with these changes to it."""
    config = write_experiments(session.workdir / "experiments.yaml",
                               {"well-behaved": {**EXPERIMENT, **experiment_changes}}, repetitions=1)
    return session.run("run", "--config", config, "--out", out or session.workdir / "results", *args), config


def nothing_was_built(done) -> bool:
    return not any(" built with " in line or "(cached build" in line for line in done.stderr.splitlines())


def test_invalid_yaml_syntax_in_the_experiments_file(session):
    session.add_language()
    config = session.workdir / "experiments.yaml"
    config.write_text("profiles:\n  p:\n    experiments: {well-behaved: {workload: sum\n")
    done = session.run("run", "--config", config)
    assert single_error_line(done) == (f"error: ==> File {config} ==> At line 4, column 1 =====> invalid YAML "
                                       "syntax: expected ',' or '}', but got '<stream end>'")


def test_invalid_yaml_syntax_in_a_manifest(session):
    session.add_language(edits={'sources: ["*.py"]': 'sources: ["*.py"'})
    done, _ = run_with(session)
    assert single_error_line(done) == ("error: ==> File langs/faulty/lang.yaml ==> At line 6, column 1 =====> "
                                       "invalid YAML syntax: expected ',' or ']', but got '<scalar>'")


def test_a_key_given_twice_in_the_experiments_file(session):
    """PyYAML keeps the last of two values silently: a second `workers` would run other worker counts than the
    first says."""
    session.add_language()
    config = session.workdir / "experiments.yaml"
    config.write_text("version: 1\nprofiles:\n  p:\n    description: d\n    experiments:\n      well-behaved:\n"
                      "        workload: sum\n        workers: [1]\n        n: 10\n        workers: [2]\n")
    done = session.run("run", "--config", config, "--out", session.workdir / "results")
    assert single_error_line(done) == (f"error: ==> File {config} ==> At line 10, column 9 =====> invalid YAML: "
                                       "duplicate key 'workers' (first on line 8): only one value would be kept")
    assert not (session.workdir / "results").exists()


def test_a_key_given_twice_in_a_manifest(session):
    session.add_language(edits={"display: Faulty": "display: Faulty\ndisplay: Faulty again"})
    done, _ = run_with(session)
    assert single_error_line(done) == ("error: ==> File langs/faulty/lang.yaml ==> At line 5, column 1 =====> "
                                       "invalid YAML: duplicate key 'display' (first on line 4): only one value "
                                       "would be kept")


def test_a_command_given_as_a_shell_string_is_a_wrong_type(session):
    session.add_language(edits={RUN_LINE: 'run: "python3 {src}/faulty.py"'})
    done, _ = run_with(session)
    assert single_error_line(done) == ("error: ==> File langs/faulty/lang.yaml ==> At language 'faulty' / toolchain "
                                       "#1 ==> At key: run =====> Expected list of str, got str "
                                       "'python3 {src}/faulty.py'")


def test_unknown_workload(session):
    session.add_language()
    done, config = run_with(session, workload="summ")
    assert single_error_line(done) == (f"error: ==> File {config} ==> At profile 'p' / experiment 'well-behaved' "
                                       "==> At key: workload =====> Expected one of sum, sum-print, pingpong, contended, io, "
                                       "native, crash, got 'summ'")


@pytest.mark.parametrize("changes, problem", [
    ({"sample_hz": 0.5}, "At key: sample_hz =====> Expected 0 (off) or 1 to 50 Hz, got 0.5"),
    ({"n": 2 ** 63}, "At key: n =====> Expected at most 9223372036854775807 (the largest 64-bit integer), got "
                     "9223372036854775808"),
    ({"n": 200_000_000_000, "timeout_s": 1}, "At key: n =====> 200000000000 iterations cannot finish within "
     "timeout_s (1 s), even at 1e+11 iterations/s (faster than any CPU core): lower n or raise timeout_s"),
], ids=["sample_hz below the sampler's lowest rate", "n beyond int64", "n beyond what timeout_s allows"])
def test_a_setting_no_run_could_use(session, changes, problem):
    session.add_language()
    done, config = run_with(session, **changes)
    assert single_error_line(done) == (f"error: ==> File {config} ==> At profile 'p' / experiment 'well-behaved' "
                                       f"==> {problem}")
    assert nothing_was_built(done)


def test_unknown_language_in_an_experiment(session):
    session.add_language()
    done, config = run_with(session, langs=["fualty"])
    assert single_error_line(done) == (f"error: ==> File {config} ==> At profile 'p' / experiment 'well-behaved' "
                                       "==> At key: langs =====> unknown language 'fualty'; known: faulty")



def test_an_unknown_profile_is_one_line_before_any_toolchain_is_looked_at(session):
    session.add_language()
    done, config = run_with(session, "--profile", "nosuch")
    assert single_error_line(done) == (f"error: ==> File {config} ==> At profiles ==> At key: nosuch =====> unknown "
                                       "profile 'nosuch'; known: p")
    assert done.stderr.strip().count("\n") == 0   # not even the backend's or a skipped toolchain's line before it

def test_empty_matrix_after_filtering(session):
    session.add_language()
    session.add_language("other", edits={"name: faulty": "name: other"})
    done, config = run_with(session, "--langs", "other", langs=["faulty"])
    assert single_error_line(done) == (f"error: ==> File {config} ==> At profile 'p' ==> At key: experiments =====> "
                                       "nothing to run for languages other — check --langs and the experiments' "
                                       "`langs` keys")
    assert nothing_was_built(done)


def test_two_folders_declaring_the_same_language(session):
    session.add_language()
    session.add_language("faulty-copy")
    done, _ = run_with(session)
    assert single_error_line(done) == ("error: ==> File langs/faulty-copy/lang.yaml ==> At language 'faulty' ==> "
                                       "At key: name =====> 'faulty' is already declared by folder 'faulty'; names "
                                       "must be unique")


def test_a_folder_without_manifest(session):
    session.add_language()
    (session.langs / "notes").mkdir()
    done, _ = run_with(session)
    assert single_error_line(done) == ("error: ==> File langs/notes/lang.yaml ==> At language folder 'notes' =====> "
                                       "no lang.yaml manifest; every folder under langs/ is a language (copy one "
                                       "with `invoke new-lang NAME`)")


@pytest.mark.parametrize("path, problem", [
    ("{src}/../faulty.py", "'{src}/../faulty.py' escapes the language folder ('..'); paths must stay inside it"),
    ("/tmp/faulty.py", "'/tmp/faulty.py' is an absolute path; paths must stay inside the language folder"),
])
def test_a_path_that_escapes_the_language_folder(session, path, problem):
    session.add_language(edits={RUN_LINE: f'run: [python3, "{path}"]'})
    done, _ = run_with(session)
    assert single_error_line(done) == ("error: ==> File langs/faulty/lang.yaml ==> At language 'faulty' / toolchain "
                                       f"#1 ==> At key: run =====> {problem}")


def test_doctor_lists_every_language_and_the_broken_one(session):
    """doctor prints its table with the broken folder as `error`, then ends as `invoke run` would, exit 1."""
    session.add_language()
    session.add_language("broken", edits={"name: faulty": "name: broken", RUN_LINE: 'run: "python3 {src}/faulty.py"'})
    config = write_experiments(session.workdir / "experiments.yaml", {"well-behaved": EXPERIMENT})
    done = session.run("doctor", "--config", config)
    assert single_error_line(done) == ("error: ==> File langs/broken/lang.yaml ==> At language 'broken' / toolchain "
                                       "#1 ==> At key: run =====> Expected list of str, got str "
                                       "'python3 {src}/faulty.py'")
    rows = [[cell.strip() for cell in line.strip("│ ").split("│")] for line in done.stdout.splitlines()
            if line.startswith("│ broken ") or line.startswith("│ faulty ")]
    status = [(row[0], next(cell for cell in row if cell in ("ok", "error", "missing"))) for row in rows]
    assert status == [("broken", "error"), ("faulty", "ok")]


@pytest.mark.parametrize("task, flag", [("bench-accuracy", "--langs"), ("bench-sampler", "--lang")])
def test_a_benchmark_of_an_unknown_language(session, task, flag):
    session.add_language()
    done = session.run(task, flag, "goo")
    assert single_error_line(done) == f"error: unknown language 'goo' in {flag}; known: faulty"


@pytest.mark.parametrize("task", ["run", "doctor", "bench-accuracy"])
def test_a_langs_flag_that_names_nothing_is_refused_not_read_as_every_language(session, task):
    session.add_language()
    done = session.run(task, "--langs", " , ")
    assert single_error_line(done) == ("error: --langs names no language: give some (e.g. --langs go,python:pypy), "
                                       "or leave it out to run every language")


@pytest.mark.parametrize("task, args, message", [
    ("bench-sampler", ["--max-pairs", "0"], "--max-pairs must be at least 6 (fewer have no 95 % interval of their "
                                            "median), got 0"),
    ("bench-trace", ["--max-pairs", "5"], "--max-pairs must be at least 6 (fewer have no 95 % interval of their "
                                          "median), got 5"),
    ("bench-accuracy", ["--repetitions", "0"], "--repetitions must be at least 1, got 0"),
    ("bench-accuracy", ["--seconds", "0"], "--seconds must be at least 0.1 (one interval of the sampler at 10 Hz), "
                                           "got 0.0")])
def test_a_benchmark_asked_for_too_little_says_so_before_running(session, task, args, message):
    session.add_language()
    done = session.run(task, *args)
    assert single_error_line(done) == f"error: {message}" and nothing_was_built(done)


def add_language_without_toolchain(session):
    session.add_language()
    session.add_language("missing", edits={"name: faulty": "name: missing", "[python3]": f"[{MISSING_TOOL}]",
                                           "apt-get install -y python3": f"apt-get install -y {MISSING_TOOL}"})


def test_a_missing_toolchain_is_skipped_with_its_install_hint(session):
    add_language_without_toolchain(session)
    done, _ = run_with(session, "--langs", "faulty,missing")
    assert done.returncode == 0, done.stderr
    skip = (f"skipping missing: no toolchain found: needs cpython ({MISSING_TOOL}) — "
            f"apt-get install -y {MISSING_TOOL}")
    assert skip in done.stderr.splitlines()
    assert [row["lang"] for row in read_rows(session.workdir / "results")] == ["faulty"]
    meta = json.loads((session.workdir / "results" / "meta.json").read_text())
    assert list(meta["skipped"]) == ["missing"]


def test_strict_makes_a_missing_toolchain_an_error(session):
    add_language_without_toolchain(session)
    done, _ = run_with(session, "--langs", "faulty,missing", "--strict")
    assert single_error_line(done) == (f"error: missing: no toolchain found: needs cpython ({MISSING_TOOL}) — "
                                       f"apt-get install -y {MISSING_TOOL} (--strict makes a missing toolchain an "
                                       "error)")
    assert not (session.workdir / "results").exists()


def test_an_unknown_key_warns_and_the_run_goes_on(session):
    session.add_language()
    done, config = run_with(session, repetitons=2)
    assert done.returncode == 0, done.stderr
    assert (f"warning: {config}: profile 'p' / experiment 'well-behaved': unknown key 'repetitons' ignored — "
            "did you mean 'repetitions'?"
            in done.stderr.splitlines())
    assert [row["status"] for row in read_rows(session.workdir / "results")] == ["ok"]


def mount_tmpfs(target, *options) -> bool:
    target.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)],
                          capture_output=True).returncode == 0


@pytest.fixture
def mounted(tmp_path):
    """Mount a tmpfs (needs root; the test is skipped elsewhere) and unmount it afterwards."""
    mounts = []

    def mount(name, *options):
        target = tmp_path / name
        if not mount_tmpfs(target, *options):
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounts.append(target)
        return target
    yield mount
    for target in mounts:
        subprocess.run(["umount", str(target)], check=True)


def unwritable_results(session, out) -> str:
    session.add_language()
    done, _ = run_with(session, out=out)
    assert nothing_was_built(done)
    return single_error_line(done)


def test_results_folder_under_proc(session):
    out = "/proc/polylab-results"
    assert unwritable_results(session, out) == (f"error: results folder {out} is not writable: No such file or "
                                                "directory — choose another with --out or free some space")


def test_results_folder_on_a_read_only_filesystem(session, mounted):
    out = mounted("read-only", "ro", "size=1m") / "results"
    assert unwritable_results(session, out) == (f"error: results folder {out} is not writable: Read-only file "
                                                "system — choose another with --out or free some space")


def test_results_folder_on_a_full_filesystem(session, mounted):
    out = mounted("full", "size=1m") / "results"
    assert unwritable_results(session, out) == (f"error: results folder {out} has only 1.0 MiB free, less than the "
                                                "32 MiB a results set may need — choose another with --out or free "
                                                "some space")


def test_the_free_space_probe_without_root(tmp_path, monkeypatch):
    """The same check as the tmpfs test above, where mounting is not allowed: os.statvfs says 5 MiB free."""
    real = os.statvfs(tmp_path)
    small = os.statvfs_result((*real[:4], 5 * 2**20 // real.f_frsize, *real[5:]))
    monkeypatch.setattr(store.os, "statvfs", lambda path: small)
    with pytest.raises(UserError, match=r"has only 5\.0 MiB free, less than the 32 MiB"):
        store.prepare(tmp_path / "results")
