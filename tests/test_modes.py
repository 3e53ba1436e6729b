"""A manifest's `modes:` (langs/README.md sections 6 and 10): the default, language and variant levels, a
minimum toolchain version compared by dotted parts, and one line for each bad value."""

from __future__ import annotations

import pytest

from polylab.config.errors import ConfigError
from polylab.config.manifests import load_language
from polylab.config.modes import version_parts

TOOLCHAIN = """    toolchains:
      - name: python3
        requires: [python3]
        version: [python3, --version]
        run: [python3, "{src}/workload.py"]
"""


def manifest(language_modes: str = "", first_modes: str = "") -> str:
    """Two variants, `old` and `new`; `language_modes` and `first_modes` are `modes:` lines, or nothing."""
    return ("name: python\nsources: [\"*.py\"]\n" + language_modes + "variants:\n"
            + "  - name: old\n" + first_modes + TOOLCHAIN + "  - name: new\n" + TOOLCHAIN)


def load(tmp_path, text: str):
    folder = tmp_path / "langs" / "python"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lang.yaml").write_text(text)
    return load_language(folder, tmp_path)


def modes(variant, version="3.12.3") -> list[str]:
    return [mode.value for mode in variant.supported_modes(version)]


def test_without_modes_a_variant_runs_threads_and_processes(tmp_path):
    old, new = load(tmp_path, manifest()).variants
    assert modes(old) == modes(new) == ["threads", "processes"]
    assert old.mode_problem("pool", "3.12.3") == "its manifest's modes are threads, processes"


def test_a_variant_s_modes_replace_its_language_s(tmp_path):
    old, new = load(tmp_path, manifest("modes: [threads, processes, pool, async]\n",
                                       "    modes: [threads, pool]\n")).variants
    assert modes(old) == ["threads", "pool"]
    assert modes(new) == ["threads", "processes", "pool", "async"]


@pytest.mark.parametrize("version, supported", [
    ("20.0.2", False), ("21", True), ("21.0.2", True), ("25.0.1", True), ("3", False),
    ("openjdk 21.0.2 2024-01-16", True), ("unknown", False), (None, False),
])
def test_min_version_is_compared_by_dotted_parts(tmp_path, version, supported):
    old, _ = load(tmp_path, manifest("modes: [threads, processes, pool, {mode: async, min_version: \"21\"}]\n")).variants
    assert ("async" in modes(old, version)) == supported
    assert "pool" in modes(old, version)


def test_the_reason_a_version_lacks_a_mode(tmp_path):
    old, _ = load(tmp_path, manifest("modes: [threads, {mode: async, min_version: \"21\"}]\n")).variants
    assert old.mode_problem("async", "17.0.9") == "needs toolchain version 21 or later, found 17.0.9"
    assert old.mode_problem("async", "unknown") == \
        "needs toolchain version 21 or later, and the version found (unknown) has no number to compare"
    assert old.mode_problem("async", "21.0.1") is None and old.mode_problem("threads", None) is None


def test_minimums_with_more_parts_than_the_version():
    assert version_parts("3.13") == (3, 13) and version_parts("v1.22.5 linux") == (1, 22, 5)


@pytest.mark.parametrize("modes_line, entry, problem", [
    ("modes: [threads, fibers]\n", "language 'python'",
     "entry #2: Expected a mode (threads, processes, pool, async) or {mode: NAME, min_version: \"21\"}, got 'fibers'"),
    ("modes: pool\n", "language 'python'",
     "Expected a non-empty list, each entry a mode (threads, processes, pool, async) or "
     "{mode: NAME, min_version: \"21\"}"),
    ("modes: [pool, pool]\n", "language 'python'", "mode 'pool' is listed twice"),
    ("modes: [{mode: async, min_version: \"21 LTS\"}]\n", "language 'python'",
     "entry #1: min_version must be a quoted dotted version such as \"21\" or \"3.13\", got '21 LTS'"),
    ("modes: [{mode: async, since: \"21\"}]\n", "language 'python'",
     "entry #1: Expected a mode (threads, processes, pool, async) or {mode: NAME, min_version: \"21\"}, "
     "got {'mode': 'async', 'since': '21'}"),
])
def test_a_bad_modes_value_is_one_line(tmp_path, modes_line, entry, problem):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, manifest(modes_line))
    assert (caught.value.file, caught.value.entry, caught.value.key, caught.value.problem) == \
        ("langs/python/lang.yaml", entry, "modes", problem)


def test_a_bad_variant_modes_value_names_the_variant(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, manifest(first_modes="    modes: [threads, {mode: async, min_version: 3.10}]\n"))
    assert str(caught.value) == (
        "==> File langs/python/lang.yaml ==> At language 'python' / variant #1 ==> At key: modes =====> "
        "entry #2: min_version must be a quoted dotted version such as \"21\" or \"3.13\", got 3.1")


def test_an_unquoted_integer_minimum_is_that_version(tmp_path):
    old, _ = load(tmp_path, manifest("modes: [threads, {mode: async, min_version: 21}]\n")).variants
    assert modes(old, "21.0.2") == ["threads", "async"] and modes(old, "17") == ["threads"]
