"""Runtime variants on the lab's side: manifests that declare them, detection and skipping per variant, search
variants named from their version, selection by language or by variant, run ids, and a matrix (and its
resume) over variants. The analysis side is tests/analysis/test_variants.py."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from labpaths import ROOT
from polylab.cli import commands as cli
from polylab.cli.doctor import doctor_rows
from polylab.config.errors import ConfigError, UserError
from polylab.config.experiments import load_config
from polylab.config.manifests import load_language
from polylab.results import store
from polylab.run.backends import get_backend
from polylab.run.lab import Choice, choose, load_lab, select_langs
from polylab.run.plan import plan

PYTHON_CANDIDATE = """      - name: {tool}
        requires: [{tool}]
        version: [{tool}, --version]
        version_regex: 'Python (\\S+)'
        run: [{tool}, "{{src}}/workload.py"]
        install: "apt-get install -y {install}"
"""


def two_variant_manifest(second_tool: str = "polylab-no-such-python") -> str:
    """Two variants of one language: `here` runs python3; `gone` needs second_tool. The language is named python
    because its program is langs/python's, which reports that name."""
    return ("name: python\ndisplay: Python\nsources: [\"*.py\"]\nvariants:\n"
            "  - name: here\n    display: CPython here\n    threads: one-core\n    toolchains:\n"
            + PYTHON_CANDIDATE.format(tool="python3", install="python3")
            + "  - name: gone\n    threads: all-cores\n    toolchains:\n"
            + PYTHON_CANDIDATE.format(tool=second_tool, install="gone"))


def langs_with(tmp_path, manifest: str, name: str = "python"):
    folder = tmp_path / "langs" / name
    folder.mkdir(parents=True)
    for source in (ROOT / "langs" / "python").glob("*.py"):
        shutil.copy(source, folder)
    (folder / "lang.yaml").write_text(manifest)
    return tmp_path / "langs"


CONFIG = """profiles:
  tiny:
    defaults: {repetitions: 2, sample_hz: 0, perf: false, timeout_s: 60}
    experiments:
      x: {workload: sum, workers: [1], n: 1000, modes: [threads]}
"""


@pytest.fixture
def two_variant_lab(tmp_path):
    langs = langs_with(tmp_path, two_variant_manifest())
    (tmp_path / "experiments.yaml").write_text(CONFIG)
    return load_lab(str(tmp_path / "experiments.yaml"), str(langs))


def test_a_folder_without_variants_is_one_variant_named_after_the_language():
    go = load_language(ROOT / "langs" / "go", ROOT)
    [variant] = go.variants
    assert (variant.name, variant.display, variant.threads.value, go.key(variant)) == ("go", "Go", "all-cores", "go")


def test_the_shipped_variants_and_their_thread_models():
    python = load_language(ROOT / "langs" / "python", ROOT)
    assert [(v.name, v.threads.value) for v in python.variants] == [
        ("cpython", "one-core"), ("cpython-ft", "all-cores"), ("pypy", "one-core")]
    assert [t.name for t in python.variants[1].toolchains] == ["python3.14t", "python3.13t"]   # the newest first
    [java] = load_language(ROOT / "langs" / "java", ROOT).variants
    assert java.search and java.name == "{major}" and java.shown_name == "*"
    csharp = load_language(ROOT / "langs" / "csharp", ROOT)
    assert [v.name for v in csharp.variants] == ["dotnet", "mono"]


@pytest.mark.parametrize("change, entry, key, problem", [
    (lambda m: m.replace("variants:\n", "toolchains: []\nvariants:\n"), "language 'python'", "variants",
     "Set exactly one of 'toolchains' (one variant) or 'variants' (several, each with its toolchains)"),
    (lambda m: m.replace("variants:\n", "threads: one-core\nvariants:\n"), "language 'python'", "variants",
     "'threads' belongs in each variant when a language declares variants"),
    (lambda m: m.replace("name: gone", "name: here"), "language 'python'", "variants",
     "variant 'here' is declared twice; names must be unique"),
    (lambda m: m.replace("threads: all-cores", "threads: some-cores"), "language 'python' / variant #2", "threads",
     "Expected one of one-core, all-cores, got 'some-cores'"),
    (lambda m: m.replace("name: gone\n", "name: gone\n    search: [/opt/*]\n"), "language 'python' / variant #2",
     "search", "a variant with `search:` is one per installation found: put {major} in its name"),
    (lambda m: m.replace("name: gone", "name: \"{major}\""), "language 'python' / variant #2", "search",
     "{major} and {version} are filled only for a variant with `search:`"),
    (lambda m: m.replace("name: gone\n", "name: \"v{major}\"\n    search: [lib/*]\n"),
     "language 'python' / variant #2", "search",
     "'lib/*' is neither an absolute directory glob, a $VARIABLE naming a directory, nor PATH"),
])
def test_a_mistake_in_the_variants_is_one_line(tmp_path, change, entry, key, problem):
    langs = langs_with(tmp_path, change(two_variant_manifest()))
    with pytest.raises(ConfigError) as caught:
        load_language(langs / "python", tmp_path)
    assert (caught.value.entry, caught.value.key, caught.value.problem) == (entry, key, problem)


def test_each_variant_is_detected_or_skipped_on_its_own(two_variant_lab):
    local, language = get_backend("local"), two_variant_lab.languages["python"]
    here, gone = local.detect(language)
    assert (here.key, here.ok, here.toolchain) == ("python:here", True, "python3")
    assert (gone.key, gone.ok, gone.hint) == ("python:gone", False, "apt-get install -y gone")
    assert gone.problem == "no toolchain found: needs polylab-no-such-python (polylab-no-such-python)"
    choices = [Choice.of(local, language, found, two_variant_lab.build_root) for found in (here, gone)]
    rows = doctor_rows(choices)
    assert [(r["variant"], r["threads"], r["status"]) for r in rows] == [("python:here", "one-core", "ok"),
                                                                          ("python:gone", "all-cores", "missing")]
    assert rows[1]["hint"] == f"{gone.problem} — install: apt-get install -y gone"
    assert choices[0].target.build_dir.parts[-2:] == ("python", "here")       # each variant builds apart


def test_selection_by_language_and_by_variant(two_variant_lab):
    def chosen(names):
        return [c.key for c in choose(two_variant_lab, select_langs(two_variant_lab, names), "local")]
    assert chosen(["python"]) == ["python:here", "python:gone"]
    assert chosen(["python:here"]) == ["python:here"]
    with pytest.raises(UserError) as caught:
        select_langs(two_variant_lab, ["python:there"])
    assert str(caught.value) == "unknown variant 'python:there' in --langs; python has python:here, python:gone"
    with pytest.raises(UserError, match="^unknown language 'trio' in --langs; known: python$"):
        select_langs(two_variant_lab, ["trio:here"])


def test_experiments_may_name_variants_and_a_wrong_one_stops_before_anything_runs(tmp_path):
    langs = langs_with(tmp_path, two_variant_manifest())
    config = tmp_path / "experiments.yaml"
    config.write_text(CONFIG.replace("modes: [threads]}", "modes: [threads], langs: [python:here]}"))
    lab = load_lab(str(config), str(langs))
    runs = plan(lab.config.profile("tiny"), ["python:here", "python:gone"])
    assert {run.key for run in runs} == {"python:here"}
    config.write_text(CONFIG.replace("modes: [threads]}", "modes: [threads], langs: [python:hre]}"))
    with pytest.raises(ConfigError) as caught:
        load_lab(str(config), str(langs)).profile("tiny")
    assert str(caught.value) == (f"==> File {config} ==> At profile 'tiny' / experiment 'x' ==> At key: langs =====> "
                                 "unknown variant 'python:hre'; python has python:here, python:gone")


def test_only_the_profile_run_must_name_languages_that_langs_holds(tmp_path):
    """A profile naming a language this langs/ lacks (a scratch copy, a folder removed) stops only itself."""
    langs = langs_with(tmp_path, two_variant_manifest())
    config = tmp_path / "experiments.yaml"
    other = CONFIG.replace("modes: [threads]}", "modes: [threads], langs: [go]}").split("profiles:\n", 1)[1]
    config.write_text(CONFIG + other.replace("tiny:", "with-go:", 1))
    lab = load_lab(str(config), str(langs))
    assert lab.profile("tiny").name == "tiny"
    with pytest.raises(ConfigError, match="experiment 'x' ==> At key: langs =====> unknown language 'go'; known: "
                                          "python$"):
        lab.profile("with-go")


def _fake_jdk(home, major: str):
    (home / "bin").mkdir(parents=True)
    tool = home / "bin" / "polylab-fake-java"
    tool.write_text(f"#!/bin/sh\necho 'openjdk version \"{major}.0.2\" 2026-01-01'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)


SEARCHED = """name: toy
sources: ["*.py"]
variants:
  - name: "{{major}}"
    display: "Toy {{major}}"
    search: [{place}, PATH]
    toolchains:
      - name: jdk
        requires: [polylab-fake-java]
        version: [polylab-fake-java]
        version_regex: 'version "([\\d.]+)"'
        run: [polylab-fake-java]
        install: "apt-get install -y toy"
"""


def test_a_search_variant_is_one_variant_per_installation_named_by_its_major_version(tmp_path):
    jvm = tmp_path / "jvm"
    _fake_jdk(jvm / "toy-17", "17")
    _fake_jdk(jvm / "toy-25", "25")
    (jvm / "toy-1.17-alias").symlink_to(jvm / "toy-17")         # an alias of the same JDK, found once
    langs = langs_with(tmp_path, SEARCHED.format(place=f"{jvm}/*"), "toy")
    toy = load_language(langs / "toy", tmp_path)
    found = get_backend("local").detect(toy)
    assert [(d.key, d.version, d.variant.display, d.variant.home) for d in found] == [
        ("toy:17", "17.0.2", "Toy 17", str(jvm / "toy-17")), ("toy:25", "25.0.2", "Toy 25", str(jvm / "toy-25"))]
    assert found[1].path == str(jvm / "toy-25" / "bin" / "polylab-fake-java")
    nothing = load_language(langs_with(tmp_path / "empty", SEARCHED.format(place=f"{tmp_path}/none/*"), "toy") / "toy")
    [missing] = get_backend("local").detect(nothing)
    assert (missing.key, missing.ok, missing.hint) == ("toy:*", False, "apt-get install -y toy")
    assert missing.problem.startswith(f"no toolchain found in {tmp_path}/none/*, PATH: needs jdk")


def test_a_search_variant_asked_for_by_a_name_not_found_is_skipped_with_what_was_found(tmp_path):
    _fake_jdk(tmp_path / "jvm" / "toy-17", "17")
    langs = langs_with(tmp_path, SEARCHED.format(place=f"{tmp_path}/jvm/*"), "toy")
    (tmp_path / "experiments.yaml").write_text(CONFIG)
    lab = load_lab(str(tmp_path / "experiments.yaml"), str(langs))
    [wanted] = choose(lab, select_langs(lab, ["toy:21"]), "local")     # any name passes until detection
    assert (wanted.key, wanted.detection.ok) == ("toy:21", False)
    assert wanted.detection.problem == "no installation named 'toy:21' found (found: toy:17)"


def test_run_ids_are_unique_and_a_one_variant_language_keeps_its_own():
    quick = load_config(ROOT / "experiments.yaml").profile("quick")
    runs = plan(quick, ["go", "python:cpython", "python:cpython-ft", "python:pypy", "java:17", "java:25"])
    ids = [run.run_id for run in runs]
    assert len(ids) == len(set(ids))
    assert {"cpu.go.threads.w1.r1", "cpu.python:cpython-ft.threads.w1.r1", "cpu.java:25.processes.w2.r3"} <= set(ids)
    assert {(run.lang, run.variant) for run in runs if run.run_id.startswith("cpu.java:17.")} == {("java", "17")}


def _run_tiny(tmp_path, langs, out, resume=None):
    config = tmp_path / "experiments.yaml"
    config.write_text(CONFIG)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLYLAB_LANGS", str(langs))
        return cli.run(profile="tiny", langs="python", out=str(out), config=str(config), backend="local",
                       resume=resume)


def test_a_matrix_runs_the_variants_found_and_records_the_one_missing(tmp_path):
    out, code = _run_tiny(tmp_path, langs_with(tmp_path, two_variant_manifest()), tmp_path / "set")
    assert code == 0
    rows = store.read_runs(out)
    assert [(r["run_id"], r["lang"], r["variant"], r["toolchain"], r["status"]) for r in rows] == [
        (f"x.python:here.threads.w1.r{k}", "python", "here", "python3", "ok") for k in (1, 2)]
    meta = store.read_meta(out)
    assert list(meta["toolchains"]) == ["python:here"]
    assert {k: meta["toolchains"]["python:here"][k] for k in ("lang", "variant", "label", "threads", "toolchain")} == {
        "lang": "python", "variant": "here", "label": "CPython here", "threads": "one-core", "toolchain": "python3"}
    assert meta["skipped"] == {"python:gone": {"label": "Python gone", "reason": "no toolchain found: needs "
                                               "polylab-no-such-python (polylab-no-such-python)",
                                               "hint": "apt-get install -y gone"}}


def test_resume_with_variants_runs_only_what_is_missing(tmp_path):
    langs = langs_with(tmp_path, two_variant_manifest(second_tool="python3"))   # both present
    out, code = _run_tiny(tmp_path, langs, tmp_path / "set")
    runs_file = out / "runs.jsonl"
    lines = runs_file.read_text().splitlines()
    planned = [json.loads(line)["run_id"] for line in lines]
    assert code == 0 and planned == [f"x.python:{v}.threads.w1.r{k}" for k in (1, 2) for v in ("here", "gone")]
    runs_file.write_text("\n".join(lines[:1]) + "\n")           # as if interrupted after the first run
    _, code = _run_tiny(tmp_path, langs, tmp_path / "set", resume=str(out))
    rows = store.read_runs(out)
    assert code == 0 and sorted(r["run_id"] for r in rows) == sorted(planned)
    assert rows[0] == json.loads(lines[0])                          # the finished run was kept, not run again
    assert {r["variant"] for r in rows} == {"here", "gone"}


def test_a_set_from_before_variants_reads_as_one_variant_per_language():
    rows = store.read_runs(ROOT / "tests" / "fixtures" / "v1-smoke")
    assert {(r["lang"], r["variant"], r["toolchain"]) for r in rows} == {("python", "python", "cpython"),
                                                                        ("go", "go", "go")}
    entry = store.read_meta(ROOT / "tests" / "fixtures" / "v1-smoke")["toolchains"]["python"]
    assert (entry["lang"], entry["variant"], entry["toolchain"], "threads" in entry) == (
        "python", "python", "cpython", False)
