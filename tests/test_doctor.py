"""`invoke doctor` with a broken language folder: the others are listed, the broken one is an `error` row."""

import io
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from polylab.cli.doctor import apt_packages, broken_manifests, doctor_rows, print_doctor
from polylab.config.errors import ConfigError
from polylab.config.manifests import load_language
from polylab.run.backends import get_backend
from polylab.run.lab import Choice, choose, load_lab

from labpaths import ROOT

BROKEN_LINE = ("==> File langs/broken/lang.yaml ==> At language 'broken' / toolchain #1 ==> At key: run =====> "
               "Expected list of str, got str 'python3 {src}/faulty.py'")


@pytest.fixture
def lab_with_a_broken_folder(tmp_path):
    langs = tmp_path / "langs"
    for folder in ("faulty", "broken"):
        shutil.copytree(ROOT / "tests" / "faulty", langs / folder, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = langs / "broken" / "lang.yaml"
    manifest.write_text(manifest.read_text().replace("name: faulty", "name: broken")
                        .replace('run: [python3, "{src}/faulty.py"]', 'run: "python3 {src}/faulty.py"'))
    return load_lab(str(ROOT / "experiments.yaml"), str(langs), keep_broken=True)


def test_a_broken_folder_is_kept_apart_and_the_others_load(lab_with_a_broken_folder):
    lab = lab_with_a_broken_folder
    assert list(lab.languages) == ["faulty"]
    assert {folder: str(error) for folder, error in lab.broken.items()} == {"broken": BROKEN_LINE}


def test_other_commands_still_stop_at_the_broken_folder(lab_with_a_broken_folder):
    with pytest.raises(ConfigError) as caught:
        load_lab(str(ROOT / "experiments.yaml"), str(lab_with_a_broken_folder.languages["faulty"].folder.parent))
    assert str(caught.value) == BROKEN_LINE


def test_the_table_shows_the_broken_folder_as_error_with_its_line(lab_with_a_broken_folder):
    lab = lab_with_a_broken_folder
    choices = choose(lab, list(lab.languages), "local")
    rows = doctor_rows(choices, lab.broken)
    assert [(row["language"], row["status"], row["hint"]) for row in rows] == [
        ("broken", "error", BROKEN_LINE), ("faulty", "ok", "")]
    out = io.StringIO()
    print_doctor(choices, [], lab.broken, console=Console(width=400, file=out))
    lines = out.getvalue().splitlines()
    broken = next(line for line in lines if "│ broken " in line)
    assert [cell.strip() for cell in broken.strip("│ ").split("│")] == ["broken", "-", "-", "-", "-", "-", "-",
                                                                        "error", BROKEN_LINE]
    assert any(line.startswith("│ faulty ") and "│ ok " in line for line in lines)


def test_the_closing_line_is_the_first_broken_folders_and_counts_the_rest():
    first, second = (ConfigError(f"langs/{name}/lang.yaml", f"language '{name}'", "name", "bad") for name in "ab")
    assert str(broken_manifests({"a": first})) == str(first)
    assert str(broken_manifests({"a": first, "b": second})) == (f"{first} (and 1 more broken language folder: see "
                                                                 "the table)")


# The Debian package each shipped language's install hint must name (what `make toolchains` installs).
DEBIAN_PACKAGE = {"c": "gcc", "csharp": "mono-mcs", "go": "golang-go", "java": "openjdk-17-jdk-headless",
                  "node": "nodejs", "python": "python3", "rust": "rustc"}


@pytest.mark.parametrize("name", sorted(DEBIAN_PACKAGE))
def test_a_missing_toolchain_is_a_missing_row_with_its_install_hint(name, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))        # an empty PATH: no toolchain is found
    language = load_language(ROOT / "langs" / name, ROOT)
    # A search also looks outside PATH (a JDK under /usr/lib/jvm is found whatever PATH says): PATH only here.
    language = replace(language, variants=tuple(replace(v, search=("PATH",)) if v.search else v
                                                for v in language.variants))
    local = get_backend("local")
    choices = [Choice.of(local, language, found, tmp_path) for found in local.detect(language)]
    rows = doctor_rows(choices)
    assert len(rows) == len(language.variants)            # one row per variant, a search that found nothing too
    assert {(row["language"], row["status"], row["toolchain"], row["path"]) for row in rows} == {
        (name, "missing", "-", "-")}
    hints = [hint for row in rows for hint in row["hint"].partition(" — install: ")[2].split(" | ")]
    assert all(row["hint"].startswith("no toolchain found") for row in rows)
    assert any(language.toolchains[0].requires[0] in row["hint"] for row in rows)
    assert f"apt-get install -y {DEBIAN_PACKAGE[name]}" in hints
    assert DEBIAN_PACKAGE[name] in apt_packages(choices)     # what `make toolchains` installs


@pytest.mark.parametrize("hint, packages", [
    ("apt-get install -y ruby", ["ruby"]),
    ("sudo apt-get install -y -qq openjdk-17-jdk-headless g++", ["openjdk-17-jdk-headless", "g++"]),
    ("install the .NET SDK 8 (https://dot.net) or use the container backend", []),
    ("make toolchains (builds python3.13t with --disable-gil; see langs/python/README.md)", []),
    ("apt-get install -y ruby && gem install something", []),      # more than packages: left to the reader
])
def test_make_toolchains_installs_only_what_an_install_hint_names_as_debian_packages(hint, packages, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    language = load_language(ROOT / "langs" / "rust", ROOT)
    language = replace(language, variants=tuple(
        replace(v, toolchains=tuple(replace(t, install=hint) for t in v.toolchains)) for v in language.variants))
    local = get_backend("local")
    assert apt_packages([Choice.of(local, language, found, tmp_path) for found in local.detect(language)]) == packages
    present = load_language(ROOT / "langs" / "python", ROOT)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))      # a found variant installs nothing
    found = [Choice.of(local, present, detected, tmp_path) for detected in local.detect(present)][:1]
    assert found[0].detection.ok and apt_packages(found) == []


@pytest.mark.parametrize("name", ["c", "node", "rust"])
@pytest.mark.parametrize("mistake, old, new, key, problem", [
    ("sources as a string", r'^sources: \[(.*)\]$', r'sources: "*.src"', "sources", "Expected list of str, got str"),
    ("an image with a space", r"^  image: (\S+):", r"  image: \1 ", "image", "Expected an image reference"),
    ("run as one string", r"^    run: \[(.*)\]$", r"    run: \1", "run", "Expected list of str, got str"),
])
def test_a_mistake_in_a_new_folders_manifest_is_one_error_line(name, mistake, old, new, key, problem, tmp_path):
    langs = tmp_path / "langs"
    for folder in (ROOT / "langs").iterdir():     # all of them: experiments.yaml may name any
        if folder.is_dir():
            shutil.copytree(folder, langs / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = langs / name / "lang.yaml"
    broken, count = re.subn(old, new, manifest.read_text(), count=1, flags=re.MULTILINE)
    assert count == 1, mistake
    manifest.write_text(broken)
    lab = load_lab(str(ROOT / "experiments.yaml"), str(langs), keep_broken=True)
    assert list(lab.broken) == [name] and name not in lab.languages
    line = str(lab.broken[name])
    assert line.startswith(f"==> File langs/{name}/lang.yaml ==> At language '{name}'")
    assert f"==> At key: {key} =====> {problem}" in line and "\n" not in line
    row = next(row for row in doctor_rows([], lab.broken))
    assert (row["language"], row["status"], row["hint"]) == (name, "error", line)
