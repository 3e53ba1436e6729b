"""Choosing a language's toolchain and reading its version, the same way on the host and in an image.

A manifest lists toolchain candidates in order of preference; the first whose executables are all present
is used. Where "present" means (on the host's PATH, inside an image) and how a command is run are the
backend's business: it passes them in.
"""

from __future__ import annotations

import re
import subprocess
from typing import Callable, Iterable

from polylab.config.manifests import Language, Toolchain

VERSION_TIMEOUT_S = 30


def first_present(language: Language, present: Iterable[str] | Callable[[str], object]) -> Toolchain | None:
    """The first candidate whose required executables are all present. `present` is the set of executables
    found, or a test for one name (e.g. shutil.which)."""
    found = present if callable(present) else set(present).__contains__
    return next((t for t in language.toolchains if all(found(tool) for tool in t.requires)), None)


def required_tools(language: Language) -> list[str]:
    """Every executable any candidate needs, sorted (what a backend has to look for)."""
    return sorted({tool for toolchain in language.toolchains for tool in toolchain.requires})


def named(language: Language, variant: str | None) -> Toolchain:
    """The candidate a detection chose, by name."""
    return next(t for t in language.toolchains if t.name == variant)


def parse_version(toolchain: Toolchain, text: str) -> str:
    """The version from a version command's output: the regex's first group, else the first line."""
    text = text.strip()
    if toolchain.version_regex:
        match = re.search(toolchain.version_regex, text)
        if match:
            return match.group(1) if match.groups() else match.group(0)
    return text.splitlines()[0].strip() if text else "unknown"


def read_version(toolchain: Toolchain, run: Callable[[list[str]], subprocess.CompletedProcess]) -> str:
    """Run the manifest's version command with `run` (on the host or in an image); stdout and stderr both
    count (java -version writes to stderr)."""
    try:
        done = run(list(toolchain.version_command))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    return parse_version(toolchain, done.stdout + "\n" + done.stderr)
