"""A results set that --resume would mix with runs of another plan, or whose files are damaged, through the real
`invoke`: a resume of another profile, experiments or languages is refused in one line naming both and leaves
the set byte for byte as it was; `--resume` alone continues with the set's own plan; `--extend` adds languages;
a damaged meta.json is one line, exit 1; unreadable lines of runs.jsonl are named on stderr and in the report."""

from __future__ import annotations

import html
import json
import shutil

import pytest
import yaml

from invoke_harness import ROOT, read_rows, single_error_line

RUN = {"workload": "sum", "modes": ["threads"], "workers": [1], "n": 10}
# `p` is the set's profile; `q`, the file's default, is another one.
PROFILES = {"default_profile": "q", "profiles": {
    "p": {"defaults": {"repetitions": 2, "sample_hz": 0}, "experiments": {"well-behaved": RUN}},
    "q": {"defaults": {"repetitions": 1, "sample_hz": 0}, "experiments": {"wrong-checksum": RUN}}}}


def write_config(path, profiles=PROFILES):
    path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def started(module_session):
    """A set of profile `p` run by `faulty` alone (a second language, `other`, is there but not asked for)."""
    module_session.add_language()
    program = module_session.add_language("other", edits={"name: faulty": "name: other"}) / "faulty.py"
    program.write_text(program.read_text().replace('"lang": "faulty"', '"lang": "other"'))   # answers as `other`
    config = write_config(module_session.workdir / "experiments.yaml")
    folder = module_session.workdir / "set"
    done = module_session.run("run", "--config", config, "--profile", "p", "--langs", "faulty", "--out", folder)
    assert done.returncode == 0, done.stderr[-2000:]
    return module_session, config, folder


def set_files(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("runs.jsonl", "meta.json")}


def refused_resume(started, *args) -> str:
    session, config, folder = started
    before = set_files(folder)
    done = session.run("all", "--resume", folder, *args)
    assert set_files(folder) == before            # byte for byte
    assert " to go " not in done.stderr           # refused before anything was planned or built
    return single_error_line(done)


def test_a_resume_with_another_profile_is_refused_naming_both(started):
    session, config, folder = started
    assert refused_resume(started, "--config", config, "--profile", "q") == (
        f"error: {folder} was run with profile 'p' ({config}, 2 runs planned); --resume with profile 'q' would mix "
        f"them — resume with --profile p, or start a new set")
    done = session.run("all", "--resume", folder, "--config", config, "--profile", "q")
    assert done.stderr.strip().count("\n") == 0   # before any toolchain or engine is looked for, and says so


def test_a_resume_after_the_experiments_changed_is_refused_naming_both(started, tmp_path):
    _, config, folder = started
    changed = json.loads(json.dumps(PROFILES))
    changed["profiles"]["p"]["experiments"]["well-behaved"]["workers"] = [1, 2]
    edited = write_config(tmp_path / "edited.yaml", changed)
    assert refused_resume(started, "--config", edited) == (
        f"error: {folder} was run with profile 'p' as {config} had it (experiment 'well-behaved': workers [1]); "
        f"--resume with it as {edited} has it now (experiment 'well-behaved': workers [1, 2]) would mix them — "
        f"resume with the experiments it was run with, or start a new set")


def test_a_resume_with_more_languages_is_refused_without_extend(started):
    _, _, folder = started
    assert refused_resume(started, "--langs", "faulty,other") == (
        f"error: {folder} was run with languages faulty; --resume with languages faulty, other would mix them — "
        f"resume with --langs faulty, add other to the set with --extend, or start a new set")


def test_extend_without_resume_is_refused(started):
    session, config, folder = started
    done = session.run("run", "--config", config, "--extend", "--out", folder.parent / "new")
    assert single_error_line(done) == "error: --extend adds languages to a set you continue: use it with --resume DIR"


def copy_of(started, name: str):
    session, _, folder = started
    copy = session.workdir / name
    shutil.copytree(folder, copy)
    return copy


def test_resume_alone_continues_the_sets_own_profile_languages_and_experiments_file(started):
    """No flag but --resume: not the file's default profile q, nor every language, nor experiments.yaml of the
    current folder (there is none at the repository's root for profile p)."""
    session, _, _ = started
    copy = copy_of(started, "interrupted")
    rows = (copy / "runs.jsonl").read_text().splitlines()
    (copy / "runs.jsonl").write_text(rows[0] + "\n")       # as if interrupted after the first run
    done = session.run("run", "--resume", copy)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "profile 'p': 2 runs, 1 already done, 1 to go" in done.stderr
    assert [row["run_id"] for row in read_rows(copy)] == ["well-behaved.faulty.threads.w1.r1",
                                                           "well-behaved.faulty.threads.w1.r2"]


def test_extend_adds_a_language_to_the_set(started):
    session, config, _ = started
    copy = copy_of(started, "extended")
    before = (copy / "runs.jsonl").read_bytes()
    done = session.run("run", "--resume", copy, "--langs", "faulty,other", "--extend")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"extending {copy} with other" in done.stderr.splitlines()
    assert (copy / "runs.jsonl").read_bytes().startswith(before)           # appended to, nothing rewritten
    assert [row["run_id"] for row in read_rows(copy)][2:] == ["well-behaved.other.threads.w1.r1",
                                                              "well-behaved.other.threads.w1.r2"]
    meta = json.loads((copy / "meta.json").read_text())
    assert list(meta["toolchains"]) == ["faulty", "other"] and meta["planned_runs"] == 4
    assert meta["profile"] == "p" and meta["config_file"] == str(config)


def test_a_damaged_meta_json_is_one_line_for_report_and_resume(started):
    session, _, _ = started
    copy = copy_of(started, "damaged-meta")
    (copy / "meta.json").write_text('{"schema_version": 4, "profile": ')
    expected = (f"error: {copy / 'meta.json'} cannot be read: Expecting value: line 1 column 34 (char 33) — the set "
                f"cannot be interpreted without it")
    for args in (["report", "--results", copy], ["all", "--resume", copy]):
        done = session.run(*args)
        assert single_error_line(done) == expected
    assert not (copy / "report.html").exists()


def test_unreadable_lines_of_runs_jsonl_are_named_on_resume(started):
    session, _, _ = started
    copy = copy_of(started, "garbled")
    first, second = (copy / "runs.jsonl").read_text().splitlines()
    (copy / "runs.jsonl").write_text(f"{first}\n{{\"run_id\": \"well-beh\n{second}\n")
    done = session.run("run", "--resume", copy)
    assert done.returncode == 0, done.stderr[-2000:]
    warning = f"warning: {copy / 'runs.jsonl'}: skipped 1 unreadable line (line 2); a run written there counts as not run"
    assert done.stderr.splitlines().count(warning) == 1
    assert "profile 'p': 2 runs, 2 already done, 0 to go" in done.stderr


def test_report_of_a_set_with_damaged_samples_and_an_unreadable_line(session):
    """v1-smoke with its samples.parquet cut short and a line of runs.jsonl garbled: the report is written from
    what can be read, and says what could not be, on stderr and in the report; the figures that need samples
    name the file as the reason they have none (the claims, in tests/analysis/test_unreadable.py: this set has
    too few runs for the report to show them)."""
    folder = session.workdir / "set"
    shutil.copytree(ROOT / "tests" / "fixtures" / "v1-smoke", folder)
    samples = folder / "samples.parquet"
    samples.write_bytes(samples.read_bytes()[:200])
    rows = (folder / "runs.jsonl").read_text().splitlines()
    (folder / "runs.jsonl").write_text("\n".join([rows[0], "not json", *rows[1:]]) + "\n")
    done = session.run("report", "--results", folder, langs=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    reason = "samples.parquet could not be read: Parquet magic bytes not found in footer. Either the file is " \
             "corrupted or this is not a parquet file"
    assert done.stderr.splitlines()[:2] == [
        f"warning: {folder / 'runs.jsonl'}: skipped 1 unreadable line (line 2); a run written there counts as not run",
        f"warning: {folder}/{reason}; the figures and claims that need it are left out, saying why"]
    page = html.unescape((folder / "report.html").read_text())
    assert f"runs.jsonl: skipped 1 unreadable line (line 2); a run written there is not in this report." in page
    assert f"Per-core samples: {reason} (figures that need them say why they are left out" in page
    assert page.count(f"— not drawn: {reason}<") == 3       # the Task Manager view, the per-core graphs, noise
    assert f"{len(rows)} runs recorded" in page                  # every row, the garbled line aside
