"""Language folders: discover `langs/*/lang.yaml` and validate each manifest into frozen records.

A language is data, not code: adding a folder with a manifest is all it takes (see langs/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cfgv

from polylab.config.errors import ConfigError
from polylab.config.validation import (Numbered, Record, Section, check_and, check_argv_list, check_problem,
                                       check_str, check_str_list, check_str_map, load_yaml, str_map, validate)

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


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    return None


check_name = check_and(check_str, check_problem(
    lambda name: None if NAME_PATTERN.match(name) else "Expected lowercase letters, digits and '-'"))
check_argv = check_and(check_str_list, check_problem(_check_argv))

TOOLCHAIN = Record(
    cfgv.OptionalNoDefault("version_regex", check_and(check_str, check_problem(_regex_problem))),
    cfgv.Required("name", check_name),
    cfgv.Required("requires", check_and(check_str_list, check_problem(_check_executables))),
    cfgv.Required("version", check_argv),
    cfgv.Optional("env", check_str_map, {}),
    cfgv.Optional("build", check_and(check_argv_list, check_problem(_check_argv_list)), []),
    cfgv.Required("run", check_argv),
    cfgv.Optional("install", check_str, "see the language's README"),
)
CONTAINER = Record(
    cfgv.Required("image", check_and(check_str, check_problem(
        lambda image: None if image.strip() and " " not in image else
        "Expected an image reference such as golang:1.25.4-bookworm"))),
    cfgv.Optional("env", check_str_map, {}),
)
LANGUAGE = Record(
    cfgv.Required("name", check_name),
    Numbered("toolchains", "toolchain", TOOLCHAIN, "Expected a non-empty list of toolchain candidates"),
    Section("container", CONTAINER),
    cfgv.OptionalNoDefault("display", check_str),
    cfgv.Required("sources", check_and(check_str_list, check_problem(_check_sources))),
)


def _toolchain(spec: dict) -> Toolchain:
    return Toolchain(
        name=spec["name"],
        requires=tuple(spec["requires"]),
        version_command=tuple(spec["version"]),
        version_regex=spec.get("version_regex"),
        env=str_map(spec["env"]),
        build=tuple(tuple(argv) for argv in spec["build"]),
        run=tuple(spec["run"]),
        install=spec["install"],
    )


def _shown(path: Path, display_root: Path | None) -> str:
    return str(path.relative_to(display_root)) if display_root else str(path)


def load_language(folder: Path, display_root: Path | None = None) -> Language:
    """Validate one folder's manifest."""
    manifest = folder / MANIFEST
    shown = _shown(manifest, display_root)
    if not manifest.is_file():
        raise ConfigError(shown, f"language folder '{folder.name}'", None,
                          f"no {MANIFEST} manifest; every folder under langs/ is a language "
                          f"(copy one with `invoke new-lang NAME`)")
    spec = validate(load_yaml(manifest, shown), LANGUAGE, shown, f"language '{folder.name}'")
    container = spec.get("container")
    return Language(
        name=spec["name"],
        display=spec.get("display", spec["name"]),
        folder=folder.resolve(),
        sources=tuple(spec["sources"]),
        toolchains=tuple(map(_toolchain, spec["toolchains"])),
        container=ContainerSpec(image=container["image"], env=str_map(container["env"])) if container else None,
    )


@dataclass(frozen=True)
class Survey:
    """Every language folder, each loaded on its own, so that one broken manifest hides none of the others."""

    languages: dict[str, Language]
    broken: dict[str, ConfigError]      # folder name -> the one line that says what is wrong with it

    def raise_first(self) -> None:
        """Stop at the first broken folder, in folder order, as every command but `doctor` does."""
        for error in self.broken.values():
            raise error


def survey(langs_dir: Path, display_root: Path | None = None) -> Survey:
    """Every folder under langs_dir is a language; names must be unique (the later folder is the broken one)."""
    if not langs_dir.is_dir():
        raise ConfigError(str(langs_dir), "top level", None, "language folder not found")
    languages: dict[str, Language] = {}
    broken: dict[str, ConfigError] = {}
    for folder in sorted(p for p in langs_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        try:
            language = load_language(folder, display_root)
        except ConfigError as error:
            broken[folder.name] = error
            continue
        if language.name in languages:
            other = languages[language.name].folder.name
            broken[folder.name] = ConfigError(
                _shown(language.manifest, display_root), f"language '{language.name}'", "name",
                f"'{language.name}' is already declared by folder '{other}'; names must be unique")
            continue
        languages[language.name] = language
    return Survey(languages, broken)


def discover(langs_dir: Path, display_root: Path | None = None) -> dict[str, Language]:
    """Every language under langs_dir; the first broken folder raises its ConfigError."""
    found = survey(langs_dir, display_root)
    found.raise_first()
    return found.languages
