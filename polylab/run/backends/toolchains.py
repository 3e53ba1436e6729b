"""Choosing a language's toolchain and reading its version, the same way on the host and in an image.

A manifest lists, per variant, toolchain candidates in order of preference; the first whose executables are
all present is used. Where "present" means (on the host's PATH, in a searched installation, inside an image)
and how a command is run are the backend's business: it passes them in. The functions here take anything
with `toolchains` (a Variant).

A search variant stands for every installation found; each is named from its version here, the same way on
the host and in an image.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from typing import Callable, Iterable

from polylab.config.manifests import Toolchain, Variant

VERSION_TIMEOUT_S = 30


def first_present(variant: Variant, present: Iterable[str] | Callable[[str], object]) -> Toolchain | None:
    """The first candidate whose required executables are all present. `present` is the set of executables
    found, or a test for one name (e.g. shutil.which)."""
    found = present if callable(present) else set(present).__contains__
    return next((t for t in variant.toolchains if all(found(tool) for tool in t.requires)), None)


def required_tools(variant: Variant) -> list[str]:
    """Every executable any candidate needs, sorted (what a backend has to look for)."""
    return sorted({tool for toolchain in variant.toolchains for tool in toolchain.requires})


def named(variant: Variant, toolchain: str | None) -> Toolchain:
    """The candidate a detection chose, by name."""
    return next(t for t in variant.toolchains if t.name == toolchain)


def wanted(variant: Variant) -> str:
    """What a variant needs, for the message of a detection that found none of its candidates."""
    return "; or ".join(f"{t.name} ({', '.join(t.requires)})" for t in variant.toolchains)


def install_hint(variant: Variant) -> str:
    return " | ".join(t.install for t in variant.toolchains)


def found_installation(variant: Variant, version: str, home: str | None = None) -> Variant:
    """A search variant's installation as a variant of its own: {major} (the version's leading number) and
    {version} filled into its name and display. A version with no leading number names it 'unknown'."""
    leading = re.match(r"\d+", version)
    major = leading.group(0) if leading else "unknown"
    slug = re.sub(r"[^a-z0-9-]+", "-", version.lower()).strip("-") or "unknown"

    def fill(text: str, version_text: str) -> str:
        return text.replace("{major}", major).replace("{version}", version_text)
    return replace(variant, name=fill(variant.name, slug), display=fill(variant.display, version), search=(),
                   home=home)


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
