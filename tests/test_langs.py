import re
import shutil

import pytest

from polylab.config.errors import ConfigError, UserError
from polylab.cli.scaffold import new_language
from polylab.config.manifests import discover, load_language, survey

from labpaths import ROOT

MANIFEST = """name: {name}
sources: ["*.py"]
toolchains:
  - name: cpython
    requires: [python3]
    version: [python3, --version]
    build: {build}
    run: [python3, "{{src}}/w.py"]
"""


def make(tmp_path, folder, name=None, build="[]"):
    path = tmp_path / "langs" / folder
    path.mkdir(parents=True)
    (path / "lang.yaml").write_text(MANIFEST.format(name=name or folder, build=build))
    (path / "w.py").write_text("")
    return path


def test_the_shipped_languages_load():
    languages = discover(ROOT / "langs")
    assert {"c", "csharp", "go", "java", "node", "python", "rust"} <= set(languages)
    csharp = languages["csharp"]
    assert [t.name for t in csharp.toolchains] == ["dotnet", "mono"]     # .NET SDK first where installed


def test_two_folders_declaring_the_same_language(tmp_path):
    make(tmp_path, "py1", name="py")
    make(tmp_path, "py2", name="py")
    with pytest.raises(ConfigError) as caught:
        discover(tmp_path / "langs", tmp_path)
    assert str(caught.value) == ("==> File langs/py2/lang.yaml ==> At language 'py' ==> At key: name =====> "
                                 "'py' is already declared by folder 'py1'; names must be unique")


def test_folder_without_manifest(tmp_path):
    (tmp_path / "langs" / "empty").mkdir(parents=True)
    with pytest.raises(ConfigError, match="At language folder 'empty' =====> no lang.yaml manifest"):
        discover(tmp_path / "langs", tmp_path)


@pytest.mark.parametrize("build, problem", [
    ('[[cp, "../secret", "{build}"]]', "'../secret' escapes the language folder"),
    ('[[cp, /etc/passwd, "{build}"]]', "'/etc/passwd' is an absolute path"),
    ('[[cc, "-o", "{build}/../../x"]]', "escapes the language folder"),
    ('[[mcs, "-out:/tmp/x.exe"]]', "is an absolute path"),
])
def test_paths_that_escape_the_folder_are_refused(tmp_path, build, problem):
    folder = make(tmp_path, "bad", build=build)
    with pytest.raises(ConfigError) as caught:
        load_language(folder, tmp_path)
    assert caught.value.key == "build" and problem in caught.value.problem
    assert caught.value.entry == "language 'bad' / toolchain #1"


def test_sources_outside_the_folder_are_refused(tmp_path):
    folder = make(tmp_path, "bad")
    (folder / "lang.yaml").write_text((folder / "lang.yaml").read_text().replace('["*.py"]', '["../*.py"]'))
    with pytest.raises(ConfigError, match="At key: sources =====> '../\\*.py' escapes"):
        load_language(folder, tmp_path)


def test_copying_a_folder_is_enough_to_add_a_language(tmp_path):
    shutil.copytree(ROOT / "langs" / "python", tmp_path / "langs" / "python2")
    manifest = tmp_path / "langs" / "python2" / "lang.yaml"
    manifest.write_text(manifest.read_text().replace("name: python", "name: python2"))
    assert "python2" in discover(tmp_path / "langs")


def test_survey_keeps_every_folder_that_loads_and_names_each_broken_one(tmp_path):
    make(tmp_path, "alpha")
    make(tmp_path, "broken", build="[cp, x]")
    make(tmp_path, "copy", name="alpha")
    make(tmp_path, "zeta")
    found = survey(tmp_path / "langs", tmp_path)
    assert list(found.languages) == ["alpha", "zeta"]
    assert {folder: str(error) for folder, error in found.broken.items()} == {
        "broken": "==> File langs/broken/lang.yaml ==> At language 'broken' / toolchain #1 ==> At key: build =====> "
                  "Expected list of argv lists (list of list of str), got list ['cp', 'x']",
        "copy": "==> File langs/copy/lang.yaml ==> At language 'alpha' ==> At key: name =====> 'alpha' is already "
                "declared by folder 'alpha'; names must be unique"}
    with pytest.raises(ConfigError) as caught:
        discover(tmp_path / "langs", tmp_path)
    assert str(caught.value) == str(found.broken["broken"])     # other commands stop at the first, as before


def test_sources_globs_reach_subfolders_only_with_double_star(tmp_path):
    """langs/README.md: `*.c` stays at the top of the folder, `**/*.c` reaches subfolders, `src/*.c` one."""
    folder = make(tmp_path, "globs")
    for name in ("top.c", "src/mid.c", "src/deep/low.c"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("")
    manifest = folder / "lang.yaml"
    for sources, found in (('["*.c"]', ["top.c"]), ('["**/*.c"]', ["src/deep/low.c", "src/mid.c", "top.c"]),
                           ('["src/*.c"]', ["src/mid.c"])):
        manifest.write_text(MANIFEST.format(name="globs", build="[]").replace('["*.py"]', sources))
        language = load_language(folder, tmp_path)
        assert [p.relative_to(language.folder).as_posix() for p in language.source_files()] == found, sources


def test_the_new_lang_template_loads_and_its_container_section_is_ready_to_uncomment(tmp_path):
    folder = new_language(tmp_path / "langs", "zig")
    language = load_language(folder, tmp_path)
    assert (language.name, language.display, language.container) == ("zig", "zig", None)
    assert [mode.mode.value for mode in language.variants[0].modes] == ["threads", "processes"]
    manifest = folder / "lang.yaml"
    manifest.write_text(re.sub(r"(?m)^# (container:|  image:|  env:)", r"\1", manifest.read_text()))
    container = load_language(folder, tmp_path).container
    assert container is not None and re.fullmatch(r"[a-z0-9./-]+:\d+(\.\d+)+-\w+", container.image)
    assert container.env == {"NAME": "value"}
    readme = (folder / "README.md").read_text()
    assert '-k "lang[zig]"' in readme and '"contract": 2' in readme and "__NAME__" not in readme


def test_the_new_lang_toolchain_is_a_placeholder_no_machine_has(tmp_path):
    """Not the language's name: `cpp` is the C preprocessor, so a scaffolded C++ folder looked ready to doctor."""
    folder = new_language(tmp_path / "langs", "cpp")
    [toolchain] = load_language(folder, tmp_path).toolchains
    assert toolchain.requires == ("TODO-compiler",) and shutil.which("TODO-compiler") is None
    assert toolchain.name == "todo-toolchain" and toolchain.install.startswith("TODO: ")
    assert "cpp" not in (*toolchain.requires, *toolchain.version_command, toolchain.install)


@pytest.mark.parametrize("name", ["g++", "C", "1c", "c_sharp", ""])
def test_new_lang_refuses_a_name_that_is_not_an_id(tmp_path, name):
    with pytest.raises(UserError, match=f"'{re.escape(name)}' is not a valid language name.*starting with a letter"):
        new_language(tmp_path / "langs", name)
    assert not (tmp_path / "langs").exists()
