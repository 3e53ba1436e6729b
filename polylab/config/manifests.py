"""Language folders: discover `langs/*/lang.yaml` and validate each manifest into frozen records.

A language is data, not code: adding a folder with a manifest is all it takes (see langs/README.md).
A language runs as one or more *variants* (runtimes side by side: CPython with and without the GIL, each
JDK found). A folder without `variants:` is one variant named after the language, made of its top-level
`toolchains` and `threads`. A variant with `search:` stands for every installation found there; the backend
that finds them names each one from its version (`{major}`), so this module only validates the template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cfgv

from polylab.config.errors import ConfigError
from polylab.config.modes import ModeSupport, mode_problem, modes_problem, parse_modes
from polylab.config.validation import (Across, Numbered, Record, Section, check_and, check_argv_list,
                                       check_one_of, check_problem, check_str, check_str_list, check_str_map,
                                       load_yaml, str_map, validate)
from polylab.results.schema import Mode, ThreadModel, variant_key

MANIFEST = "lang.yaml"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]*$")
TOOLCHAIN_PATTERN = re.compile(r"^[a-z][a-z0-9.-]*$")
VARIANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")      # a JDK's variant is its major version: "17"
VERSION_FIELDS = ("{major}", "{version}")                    # what a search variant's name and display may hold
PATH_ENTRY = "PATH"                                          # in `search:`: the executables on PATH
PLACEHOLDERS = ("{src}", "{build}")
THREAD_MODELS = tuple(model.value for model in ThreadModel)


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
class Variant:
    """One runtime of a language. `threads` is the thread model the article's hypothesis predicts for it,
    which the analysis judges it by. With `search`, the variant is a template that the backend expands into
    one variant per installation found (`home` set, name and display filled from the version)."""

    name: str
    display: str
    threads: ThreadModel
    toolchains: tuple[Toolchain, ...]
    search: tuple[str, ...] = ()
    home: str | None = None          # an installation found by search: its bin/ goes first on PATH
    modes: tuple[ModeSupport, ...] = parse_modes(None)   # its `modes:`, else its language's, else the default

    def mode_problem(self, mode: str, toolchain_version: str | None) -> str | None:
        """Why this variant, with the toolchain version detected, cannot run `mode`; None when it can."""
        return mode_problem(self.modes, mode, toolchain_version)

    def supported_modes(self, toolchain_version: str | None) -> tuple[Mode, ...]:
        """The modes this variant runs with the toolchain version detected, in manifest order."""
        return tuple(entry.mode for entry in self.modes if entry.problem(toolchain_version) is None)

    @property
    def shown_name(self) -> str:
        """The name, with a search template's version fields as '*' (a search that found nothing)."""
        name = self.name
        for field in VERSION_FIELDS:
            name = name.replace(field, "*")
        return name


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
    variants: tuple[Variant, ...]
    container: ContainerSpec | None

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    @property
    def toolchains(self) -> tuple[Toolchain, ...]:
        """Every variant's candidates, in order."""
        return tuple(toolchain for variant in self.variants for toolchain in variant.toolchains)

    @property
    def searches(self) -> bool:
        """Whether some variant is found by search, so its names are known only once detected."""
        return any(variant.search for variant in self.variants)

    def key(self, variant: Variant) -> str:
        """How the variant is named in --langs, run ids and meta.json (`python:pypy`; `go` for an only variant)."""
        return variant_key(self.name, variant.shown_name)

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


def _search_problem(entries: tuple[str, ...]) -> str | None:
    """Absolute directory globs, $VARIABLES naming a directory, or PATH; nothing relative to an unknown place."""
    if not entries:
        return "Expected at least one place to search"
    for entry in entries:
        if entry != PATH_ENTRY and not entry.startswith(("/", "$", "~")):
            return (f"{entry!r} is neither an absolute directory glob, a $VARIABLE naming a directory, "
                    f"nor {PATH_ENTRY}")
    return None


def _variant_name_problem(name: str) -> str | None:
    filled = name
    for field in VERSION_FIELDS:
        filled = filled.replace(field, "0")
    return None if VARIANT_PATTERN.match(filled) else \
        "Expected lowercase letters, digits and '-' (and {major} or {version} in a search variant)"


def _variant_problem(variant: dict) -> str | None:
    """A search variant's name must hold a version field, or every installation would get the same name."""
    templated = any(field in variant["name"] for field in VERSION_FIELDS)
    if "search" in variant and not templated:
        return f"a variant with `search:` is one per installation found: put {{major}} in its name"
    if "search" not in variant and templated:
        return "{major} and {version} are filled only for a variant with `search:`"
    return None


def _variants_problem(spec: dict) -> str | None:
    """Exactly one of `toolchains` (one variant) and `variants`; `threads` goes in each variant then."""
    if ("toolchains" in spec) == ("variants" in spec):
        return "Set exactly one of 'toolchains' (one variant) or 'variants' (several, each with its toolchains)"
    if "variants" in spec and "threads" in spec:
        return "'threads' belongs in each variant when a language declares variants"
    variants = spec.get("variants")
    names = [variant.get("name") for variant in variants if isinstance(variant, dict)] \
        if isinstance(variants, list) else []
    repeated = next((name for name in names if names.count(name) > 1), None)
    return f"variant '{repeated}' is declared twice; names must be unique" if repeated else None


check_name = check_and(check_str, check_problem(
    lambda name: None if NAME_PATTERN.match(name) else "Expected lowercase letters, digits and '-'"))
check_argv = check_and(check_str_list, check_problem(_check_argv))
check_threads = check_one_of(THREAD_MODELS)
check_modes = check_problem(modes_problem)
check_toolchain_name = check_and(check_str, check_problem(   # a candidate is often named after its executable
    lambda name: None if TOOLCHAIN_PATTERN.match(name) else "Expected lowercase letters, digits, '.' and '-'"))
TOOLCHAINS_PROBLEM = "Expected a non-empty list of toolchain candidates"

TOOLCHAIN = Record(
    cfgv.OptionalNoDefault("version_regex", check_and(check_str, check_problem(_regex_problem))),
    cfgv.Required("name", check_toolchain_name),
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
VARIANT = Record(
    cfgv.Required("name", check_and(check_str, check_problem(_variant_name_problem))),
    cfgv.OptionalNoDefault("display", check_str),
    cfgv.Optional("threads", check_threads, ThreadModel.ALL_CORES.value),
    cfgv.OptionalNoDefault("modes", check_modes),           # default: the language's
    cfgv.OptionalNoDefault("search", check_and(check_str_list, check_problem(_search_problem))),
    Across("search", _variant_problem),
    Numbered("toolchains", "toolchain", TOOLCHAIN, TOOLCHAINS_PROBLEM),
)
LANGUAGE = Record(
    cfgv.Required("name", check_name),
    Across("variants", _variants_problem),
    Numbered("toolchains", "toolchain", TOOLCHAIN, TOOLCHAINS_PROBLEM, optional=True),
    Numbered("variants", "variant", VARIANT, "Expected a non-empty list of variants", optional=True),
    cfgv.Optional("threads", check_threads, ThreadModel.ALL_CORES.value),
    cfgv.OptionalNoDefault("modes", check_modes),           # default: threads and processes (config/modes.py)
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


def _variants(spec: dict, display: str) -> tuple[Variant, ...]:
    """The declared variants; a folder without `variants:` is one, named after the language. A variant's
    `modes` replaces its language's."""
    if "variants" not in spec:
        return (Variant(spec["name"], display, ThreadModel(spec["threads"]),
                        tuple(map(_toolchain, spec["toolchains"])), modes=parse_modes(spec.get("modes"))),)
    return tuple(Variant(name=variant["name"], display=variant.get("display", f"{display} {variant['name']}"),
                         threads=ThreadModel(variant["threads"]),
                         toolchains=tuple(map(_toolchain, variant["toolchains"])),
                         search=tuple(variant.get("search", ())),
                         modes=parse_modes(variant.get("modes", spec.get("modes")))) for variant in spec["variants"])


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
    display = spec.get("display", spec["name"])
    return Language(
        name=spec["name"],
        display=display,
        folder=folder.resolve(),
        sources=tuple(spec["sources"]),
        variants=_variants(spec, display),
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
