"""What --resume holds a plan to (polylab/run/resume.py), case by case; the refusals through the real `invoke`,
with the set left byte for byte as it was, are in tests/reliability/test_bad_results.py."""

from __future__ import annotations

import pytest
import yaml

from polylab.cli.commands import resolve_out
from polylab.config.errors import UserError
from polylab.config.experiments import load_config
from polylab.hosts.orchestrate import _refuse_another_plan
from polylab.results.store import point_latest, resume_folder
from polylab.run.resume import StartedSet, extended_meta, recorded_experiments

RUN = {"workload": "sum", "modes": ["threads"], "workers": [1], "n": 10}


def profile_of(tmp_path, **changes):
    path = tmp_path / "experiments.yaml"
    path.write_text(yaml.safe_dump({"profiles": {"p": {"experiments": {"cpu": {**RUN, **changes}}}}}))
    return load_config(path, "experiments.yaml").profile("p")


def started(tmp_path, variants=("go", "python:pypy"), **fields) -> StartedSet:
    recorded = {"profile": "p", "config_file": "experiments.yaml",
                "experiments": recorded_experiments(profile_of(tmp_path)), "variants": list(variants),
                "planned_runs": 12, **fields}
    return StartedSet(tmp_path / "set", **recorded)


def checked(started_set: StartedSet, profile, config_file: str, variants: list[str], extend: bool) -> list[str]:
    """The whole check of a resume, as plan_matrix makes it: the profile first, then the variants found."""
    started_set.check_profile(profile, config_file)
    return started_set.check_variants(variants, extend)


def test_the_same_plan_goes_on(tmp_path):
    assert checked(started(tmp_path), profile_of(tmp_path), "experiments.yaml", ["go", "python:pypy"], False) == []


def test_fewer_languages_are_refused_even_with_extend(tmp_path):
    with pytest.raises(UserError) as caught:
        checked(started(tmp_path), profile_of(tmp_path), "experiments.yaml", ["go"], True)
    assert str(caught.value) == (f"{tmp_path / 'set'} was run with languages go, python:pypy; --resume with "
                                 "languages go would leave out python:pypy — resume with --langs go,python:pypy (each "
                                 "must be found here: see `invoke doctor`), or start a new set")


def test_extend_returns_the_languages_it_adds(tmp_path):
    added = checked(started(tmp_path), profile_of(tmp_path), "experiments.yaml", ["go", "python:pypy", "java:17"], True)
    assert added == ["java:17"]


def test_extend_does_not_let_the_experiments_change(tmp_path):
    with pytest.raises(UserError, match=r"\(experiment 'cpu': n 10\); --resume with it as other.yaml has it now "
                                        r"\(experiment 'cpu': n 20\) would mix them"):
        checked(started(tmp_path), profile_of(tmp_path, n=20), "other.yaml", ["go", "python:pypy", "java:17"], True)


def test_a_setting_only_one_side_records_is_not_compared(tmp_path):
    """A set written before a setting existed (here: without `perf`) resumes with the code that has it."""
    older = [{key: value for key, value in experiment.items() if key != "perf"}
             for experiment in recorded_experiments(profile_of(tmp_path))]
    assert checked(started(tmp_path, experiments=older), profile_of(tmp_path), "experiments.yaml",
                   ["go", "python:pypy"], False) == []


def test_an_experiment_added_to_the_profile_is_refused(tmp_path):
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump({"profiles": {"p": {"experiments": {"cpu": RUN, "more": RUN}}}}))
    grown = load_config(path, "more.yaml").profile("p")
    with pytest.raises(UserError, match=r"\(experiments cpu\); --resume with it as more.yaml has it now "
                                        r"\(experiments cpu, more\) would mix them"):
        checked(started(tmp_path), grown, "more.yaml", ["go", "python:pypy"], False)


def test_what_the_command_line_leaves_out_comes_from_the_set(tmp_path):
    (tmp_path / "experiments.yaml").write_text("")
    recorded = started(tmp_path)
    assert recorded.defaults(tmp_path, None, None, None) == ("p", "go,python:pypy",
                                                             str(tmp_path / "experiments.yaml"))
    assert recorded.defaults(tmp_path, "q", "go", "mine.yaml") == ("q", "go", "mine.yaml")
    gone = started(tmp_path, config_file=str(tmp_path / "deleted.yaml"))
    assert gone.defaults(tmp_path, None, None, None)[2] is None      # then the default experiments file


def test_extended_meta_keeps_what_was_recorded_and_adds_the_new_variants():
    recorded = {"profile": "p", "machine": {"cpu_model": "then"}, "planned_runs": 4,
                "toolchains": {"go": {"version": "1.19"}}, "skipped": {"java:17": "no javac"}}
    planned = {"profile": "p", "machine": {"cpu_model": "now"}, "planned_runs": 8,
               "toolchains": {"java:17": {"version": "17"}, "go": {"version": "1.25"}}, "skipped": {}}
    assert extended_meta(recorded, planned) == {
        "profile": "p", "machine": {"cpu_model": "then"}, "planned_runs": 8,
        "toolchains": {"go": {"version": "1.19"}, "java:17": {"version": "17"}}, "skipped": {}}


def test_a_hosts_set_resumes_only_with_its_own_request(tmp_path):
    saved = {"profile": "quick", "langs": None, "config": None}
    _refuse_another_plan(tmp_path, saved, {"profile": "quick"})
    with pytest.raises(UserError) as caught:
        _refuse_another_plan(tmp_path, saved, {"profile": "smoke"})
    assert str(caught.value) == (f"{tmp_path} was run with --profile quick; --resume with --profile smoke would mix "
                                 "them — resume without --profile, or start a new set")
    with pytest.raises(UserError, match="was run with --langs \\(the default\\); --resume with --langs go would"):
        _refuse_another_plan(tmp_path, saved, {"langs": "go"})


def test_which_set_resume_names(tmp_path, monkeypatch):
    """One answer for one machine (resolve_out) and for hosts: the folder given, or the checkout's
    results/latest (`--resume` alone, or `latest`); without one, one line that says what to pass."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as raised:
        resume_folder(True, tmp_path)
    assert str(raised.value) == "nothing to resume: results/latest does not exist — pass the folder: --resume DIR"
    (tmp_path / "results" / "20261130-060000").mkdir(parents=True)
    point_latest(tmp_path / "results" / "20261130-060000")
    for resume in (True, "latest"):
        assert resume_folder(resume, tmp_path) == tmp_path / "results" / "20261130-060000"
        assert resolve_out(None, resume, tmp_path) == (tmp_path / "results" / "20261130-060000", True)
    assert resume_folder("elsewhere/set", tmp_path) == tmp_path / "elsewhere" / "set"
