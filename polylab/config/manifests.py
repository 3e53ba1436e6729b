"""Language folders: discover `langs/*/lang.yaml` and validate each manifest into frozen records.

A language is data, not code: adding a folder with a manifest is all it takes (see langs/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from polylab.config.errors import ConfigError
from polylab.config.validation import Fields, load_yaml

MANIFEST = "lang.yaml"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
PLACEHOLDERS = ("{src}", "{build}")


@dataclass(frozen=True)
class Toolchain:
    """One way to build and run a language; the first candidate whose executables exist is used."""

    name: str
    requires: tuple[str, ...]
    version_command: tuple[str, ...]
    version_regex: str | None
    env: dict
    build: tuple[tuple[str, ...], ...]
    run: tuple[str, ...]
    install: str


@dataclass(frozen=True)
class ContainerSpec:
    """The official, pinned image to build and run the language in. The toolchain candidates are the same
    as on the host: the first whose executables exist in the image is used, with its build and run."""

    image: str
    env: dict


@dataclass(frozen=True)
class Language:
    name: str
    display: str
    folder: Path
    sources: tuple[str, ...]
    toolchains: tuple[Toolchain, ...]
    container: ContainerSpec | None

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    def source_files(self) -> list[Path]:
        """The files the sources globs match, sorted: the build cache hashes exactly these."""
        found = {p for pattern in self.sources for p in self.folder.glob(pattern) if p.is_file()}
        return sorted(found)


def _relative_path_problem(value: str) -> str | None:
    """Manifests may only name things inside their folder: no absolute paths, no '..'."""
    for piece in re.split(r"[=:,]", value):
        for placeholder in PLACEHOLDERS:
            if piece.startswith(placeholder):
                piece = "." + piece[len(placeholder):]
        path = PurePosixPath(piece)
        if path.is_absolute():
            return f"{value!r} is an absolute path; paths must stay inside the language folder"
        if ".." in path.parts:
            return f"{value!r} escapes the language folder ('..'); paths must stay inside it"
    return None


def _check_argv(argv: tuple[str, ...]) -> str | None:
    if not argv:
        return "Expected a non-empty command"
    for arg in argv:
        problem = _relative_path_problem(arg)
        if problem:
            return problem
    return None


def _check_argv_list(commands: tuple[tuple[str, ...], ...]) -> str | None:
    for argv in commands:
        problem = _check_argv(argv)
        if problem:
            return problem
    return None


def _check_sources(patterns: tuple[str, ...]) -> str | None:
    if not patterns:
        return "Expected at least one source pattern"
    for pattern in patterns:
        problem = _relative_path_problem(pattern)
        if problem:
            return problem
    return None


EXECUTABLE_PATTERN = re.compile(r"^[A-Za-z0-9._+-]+$")


def _check_executables(names: tuple[str, ...]) -> str | None:
    for name in names:
        if not EXECUTABLE_PATTERN.match(name):
            return f"{name!r} must be a bare executable name looked up on PATH"
    return None


def _toolchain(fields: Fields) -> Toolchain:
    fields.warn_unknown(["name", "requires", "version", "version_regex", "env", "build", "run", "install"])
    regex = fields.get("version_regex", "str", None)
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise fields.error("version_regex", f"invalid regular expression: {exc}") from None
    return Toolchain(
        name=fields.get("name", "str", check=lambda v: None if NAME_PATTERN.match(v) else
                        "Expected lowercase letters, digits and '-'"),
        requires=fields.get("requires", "list[str]", check=_check_executables),
        version_command=fields.get("version", "list[str]", check=_check_argv),
        version_regex=regex,
        env=fields.get("env", "dict[str]", {}),
        build=fields.get("build", "list[list[str]]", (), check=_check_argv_list),
        run=fields.get("run", "list[str]", check=_check_argv),
        install=fields.get("install", "str", "see the language's README"),
    )


def _container(fields: Fields) -> ContainerSpec:
    fields.warn_unknown(["image", "env"])
    return ContainerSpec(
        image=fields.get("image", "str", check=lambda v: None if v.strip() and " " not in v else
                         "Expected an image reference such as golang:1.25.4-bookworm"),
        env=fields.get("env", "dict[str]", {}),
    )


def load_language(folder: Path, display_root: Path | None = None) -> Language:
    """Validate one folder's manifest."""
    manifest = folder / MANIFEST
    shown = str(manifest.relative_to(display_root)) if display_root else str(manifest)
    if not manifest.is_file():
        raise ConfigError(shown, f"language folder '{folder.name}'", None,
                          f"no {MANIFEST} manifest; every folder under langs/ is a language "
                          f"(copy one with `invoke new-lang NAME`)")
    top = Fields.of(load_yaml(manifest, shown), shown, f"language '{folder.name}'")
    top.warn_unknown(["name", "display", "sources", "toolchains", "container"])
    name = top.get("name", "str", check=lambda v: None if NAME_PATTERN.match(v) else
                   "Expected lowercase letters, digits and '-'")
    raw_toolchains = top.data.get("toolchains")
    if not isinstance(raw_toolchains, list) or not raw_toolchains:
        raise top.error("toolchains", "Expected a non-empty list of toolchain candidates")
    toolchains = tuple(
        _toolchain(Fields.of(item, shown, f"language '{name}' / toolchain #{index + 1}"))
        for index, item in enumerate(raw_toolchains))
    container = None
    if top.data.get("container") is not None:
        container = _container(top.child("container", f"language '{name}' / container"))
    return Language(
        name=name,
        display=top.get("display", "str", name),
        folder=folder.resolve(),
        sources=top.get("sources", "list[str]", check=_check_sources),
        toolchains=toolchains,
        container=container,
    )


def discover(langs_dir: Path, display_root: Path | None = None) -> dict[str, Language]:
    """Every folder under langs_dir is a language; names must be unique."""
    if not langs_dir.is_dir():
        raise ConfigError(str(langs_dir), "top level", None, "language folder not found")
    languages: dict[str, Language] = {}
    for folder in sorted(p for p in langs_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        language = load_language(folder, display_root)
        if language.name in languages:
            other = languages[language.name].folder.name
            raise ConfigError(str(language.manifest.relative_to(display_root) if display_root else language.manifest),
                              f"language '{language.name}'", "name",
                              f"'{language.name}' is already declared by folder '{other}'; names must be unique")
        languages[language.name] = language
    return languages
