"""`invoke doctor`: what each variant of each language would run with here, and what to install when something
is missing (one row per variant: a language without variants is one row, a search that found nothing too).

A broken language folder is listed as `error` with its one-line message among the others, and doctor then
exits 1: every other command stops on that folder until it is fixed, whatever --langs says.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table

from polylab.config.errors import ConfigError, UserError
from polylab.run.backends.engine import find_engine, image_id
from polylab.run.lab import Choice

ABSENT = "missing (pulled when built)"
# An install hint `make toolchains` can act on: Debian packages, named after `apt-get install` and its options.
APT_INSTALL = re.compile(r"(?:sudo\s+)?apt-get\s+install\s+(?:-\S+\s+)*(?P<packages>[a-z0-9][a-z0-9.+-]*"
                         r"(?:\s+[a-z0-9][a-z0-9.+-]*)*)")
STATUS_STYLE = {"ok": "green", ABSENT: "yellow"}


def doctor_rows(choices: list[Choice], broken: dict[str, ConfigError] | None = None) -> list[dict]:
    """One row per variant, by language folder: each chosen variant, and each broken folder."""
    rows = [{"language": folder, "folder": folder, "variant": "-", "threads": "-", "toolchain": "-", "path": "-",
             "version": "-", "backend": "-", "status": "error", "hint": str(error)}
            for folder, error in (broken or {}).items()]
    for choice in choices:
        found = choice.detection
        rows.append({
            "language": choice.language.name,
            "folder": str(choice.language.folder.name),
            "variant": choice.key,
            "threads": found.variant.threads.value,
            "toolchain": found.toolchain or "-",
            "path": found.path or "-",
            "version": found.version or "-",
            "backend": found.backend,
            "status": ABSENT if found.absent else "ok" if found.ok else "missing",
            "hint": "" if found.ok else f"{found.problem} — install: {found.hint}",
        })
    return sorted(rows, key=lambda row: row["folder"])     # stable: a language's variants stay in manifest order


def apt_packages(choices: list[Choice]) -> list[str]:
    """The Debian packages that the install hints of the missing variants name, in order, each once: what
    `make toolchains` installs, so that a new folder's `install: "apt-get install -y PKG"` is all it takes."""
    packages: dict[str, None] = {}
    for choice in choices:
        found = choice.detection
        if found.ok or found.absent:
            continue
        for toolchain in found.variant.toolchains:
            hint = APT_INSTALL.fullmatch(toolchain.install.strip())
            packages.update(dict.fromkeys(hint["packages"].split() if hint else ()))
    return list(packages)


def print_doctor(choices: list[Choice], notes: list[str], broken: dict[str, ConfigError] | None = None,
                 console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 160)
    table = Table(title="polylab doctor")
    for column in ("language", "variant", "threads", "toolchain", "path", "version", "backend", "status",
                   "install hint"):
        table.add_column(column, overflow="fold")
    for row in doctor_rows(choices, broken):
        style = STATUS_STYLE.get(row["status"], "red")
        table.add_row(row["language"], row["variant"], row["threads"], row["toolchain"], row["path"], row["version"],
                      row["backend"], f"[{style}]{row['status']}[/{style}]", row["hint"])
    console.print(table)
    for note in notes:
        console.print(note, markup=False)


def broken_manifests(broken: dict[str, ConfigError]) -> UserError:
    """The line doctor ends with when folders are broken: the first one's, as every other command prints it."""
    first, more = next(iter(broken.values())), len(broken) - 1
    return UserError(f"{first}" + (f" (and {more} more broken language folder{'s' if more > 1 else ''}: see the "
                                   "table)" if more else ""))


def container_notes(lab, images: dict) -> list[str]:
    """The engine, and for each language its image and whether it is present (nothing is pulled here)."""
    found = find_engine()
    if found is None:
        return ["container engine: none answers (docker/podman; DOCKER_HOST / CONTAINER_HOST honoured)"]
    notes = [f"container engine: {found[0]} {found[1]}"]
    images = {**lab.config.images, **images}
    for language in lab.languages.values():
        image = images.get(language.name) or (language.container.image if language.container else None)
        state = "no image configured" if image is None else ("present" if image_id(image) else ABSENT)
        notes.append(f"  {language.name}: {image or '-'} — {state}")
    return notes
