"""Toolchain choice and version reading, shared by the local and container backends."""

from __future__ import annotations

import subprocess

import pytest

from polylab.config.manifests import Toolchain
from polylab.run.backends.toolchains import first_present, named, parse_version, read_version, required_tools


def toolchain(name, requires, regex=None, version=("tool", "--version")):
    return Toolchain(name=name, requires=tuple(requires), version_command=tuple(version), version_regex=regex, env={},
                     build=(), run=("tool",), install=f"install {name}")


class Lang:
    """Only what the toolchain functions read."""

    def __init__(self, *toolchains):
        self.toolchains = toolchains


DOTNET = toolchain("dotnet", ["dotnet"], r"^(\d+\.\d+\.\d+)")
MONO = toolchain("mono", ["mcs", "mono"], r"version (\S+)")
CSHARP = Lang(DOTNET, MONO)


@pytest.mark.parametrize("present, expected", [
    ({"dotnet", "mcs", "mono"}, "dotnet"),       # the manifest's order is the preference
    ({"mcs", "mono"}, "mono"),
    ({"mcs"}, None),                             # every executable of a candidate must be there
    (set(), None),
])
def test_the_first_candidate_whose_executables_are_all_present(present, expected):
    chosen = first_present(CSHARP, present)
    assert (chosen.name if chosen else None) == expected
    by_lookup = first_present(CSHARP, lambda tool: tool in present)     # a test such as shutil.which
    assert by_lookup == chosen


def test_required_tools_lists_each_executable_once_sorted():
    assert required_tools(Lang(MONO, toolchain("other", ["mono", "csc"]))) == ["csc", "mcs", "mono"]


def test_named_finds_the_candidate_a_detection_chose():
    assert named(CSHARP, "mono") is MONO


@pytest.mark.parametrize("regex, text, expected", [
    (r"Python (\S+)", "Python 3.11.7\n", "3.11.7"),
    (r"go\d+\.\d+", "go version go1.26.8 linux/amd64", "go1.26"),             # no group: the whole match
    (r"Python (\S+)", "something else\nsecond line", "something else"),  # no match: the first line
    (None, "  rustc 1.95.0 (abc 2026-01-01)\nmore", "rustc 1.95.0 (abc 2026-01-01)"),
    (None, "   \n", "unknown"),
])
def test_parse_version(regex, text, expected):
    assert parse_version(toolchain("t", ["t"], regex), text) == expected


def test_read_version_counts_stderr_as_java_writes_there():
    java = toolchain("openjdk", ["java"], r'version "([^"]+)"', version=("java", "-version"))
    seen = []

    def run(argv):
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr='openjdk version "17.0.15" 2025-04-15\n')
    assert read_version(java, run) == "17.0.15"
    assert seen == [["java", "-version"]]


def test_read_version_of_a_command_that_cannot_run_says_why():
    def run(argv):
        raise FileNotFoundError(argv[0])
    assert read_version(MONO, run) == "unknown (FileNotFoundError)"
