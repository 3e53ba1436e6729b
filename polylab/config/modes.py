"""A manifest's `modes:` — which contract modes a language or variant runs (langs/README.md sections 6, 10).

Each entry is a mode's name or `{mode: NAME, min_version: "21"}` for a runtime that has the mode only from
that toolchain version on (Java's virtual threads). The version is compared with the variant's detected
toolchain version numerically by dotted parts ("21" ≤ "21.0.2" < "25"). Without `modes`, a folder runs
threads and processes, as every folder did before pools and async existed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from polylab.results.words import Mode

MODE_NAMES = tuple(mode.value for mode in Mode)
DEFAULT_MODES = (Mode.THREADS, Mode.PROCESSES)
VERSION_PATTERN = re.compile(r"^\d+(\.\d+)*$")
LEADING_VERSION = re.compile(r"\d+(?:\.\d+)*")
ENTRY_SHAPE = f"a mode ({', '.join(MODE_NAMES)}) or {{mode: NAME, min_version: \"21\"}}"


def version_parts(text: str | None) -> tuple[int, ...] | None:
    """The leading dotted number of a version string as integers ("21.0.2+13" → (21, 0, 2)); None if none."""
    found = LEADING_VERSION.search(text or "")
    return tuple(int(part) for part in found.group(0).split(".")) if found else None


@dataclass(frozen=True)
class ModeSupport:
    """One entry of `modes:`: a mode, and the toolchain version it needs (None: any)."""

    mode: Mode
    min_version: str | None = None

    def problem(self, toolchain_version: str | None) -> str | None:
        """Why this toolchain version lacks the mode, or None when it has it."""
        if self.min_version is None:
            return None
        found = version_parts(toolchain_version)
        if found is None:
            return f"needs toolchain version {self.min_version} or later, and the version found " \
                   f"({toolchain_version or 'none'}) has no number to compare"
        # (21,) ≤ (21, 0, 2): a shorter minimum is padded with zeros, as "21" means 21.0.0
        wanted = version_parts(self.min_version)
        width = max(len(found), len(wanted))
        if found + (0,) * (width - len(found)) < wanted + (0,) * (width - len(wanted)):
            return f"needs toolchain version {self.min_version} or later, found {toolchain_version}"
        return None


def _entry_problem(entry) -> str | None:
    if isinstance(entry, str):
        return None if entry in MODE_NAMES else f"Expected {ENTRY_SHAPE}, got {entry!r}"
    if not isinstance(entry, dict) or set(entry) - {"mode", "min_version"} or "mode" not in entry:
        return f"Expected {ENTRY_SHAPE}, got {entry!r}"
    if entry["mode"] not in MODE_NAMES:
        return f"Expected {ENTRY_SHAPE}, got mode {entry['mode']!r}"
    version = entry.get("min_version")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)   # `min_version: 21` means "21"; a float such as 3.10 would lose its zero
    if version is not None and not (isinstance(version, str) and VERSION_PATTERN.match(version)):
        return f"min_version must be a quoted dotted version such as \"21\" or \"3.13\", got {version!r}"
    return None


def modes_problem(entries) -> str | None:
    """What is wrong with a `modes:` value: not a non-empty list, a bad entry, or a mode named twice."""
    if not isinstance(entries, list) or not entries:
        return f"Expected a non-empty list, each entry {ENTRY_SHAPE}"
    for position, entry in enumerate(entries, 1):
        problem = _entry_problem(entry)
        if problem:
            return f"entry #{position}: {problem}"
    names = [entry if isinstance(entry, str) else entry["mode"] for entry in entries]
    repeated = next((name for name in names if names.count(name) > 1), None)
    return f"mode '{repeated}' is listed twice" if repeated else None


def parse_modes(entries: list | None) -> tuple[ModeSupport, ...]:
    """Entries that modes_problem accepted, as records; None (no `modes:`) is the default threads and processes."""
    if entries is None:
        return tuple(ModeSupport(mode) for mode in DEFAULT_MODES)
    return tuple(_mode_support(entry) for entry in entries)


def _mode_support(entry: str | dict) -> ModeSupport:
    """`threads`, or `{mode: pool, min_version: 21}`."""
    if isinstance(entry, str):
        return ModeSupport(Mode(entry))
    min_version = entry.get("min_version")
    return ModeSupport(Mode(entry["mode"]), None if min_version is None else str(min_version))


def mode_problem(declared: tuple[ModeSupport, ...], mode: str, toolchain_version: str | None) -> str | None:
    """Why a variant that declares `declared` cannot run `mode` with this toolchain version; None when it can."""
    entry = next((entry for entry in declared if entry.mode == mode), None)
    if entry is None:
        return f"its manifest's modes are {', '.join(e.mode.value for e in declared)}"
    return entry.problem(toolchain_version)
