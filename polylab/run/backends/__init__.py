"""Backends build and launch a language's program: `local` (host toolchains), `container` (pinned images).

Each backend is a small object behind the `Backend` protocol; the registry below is an explicit dict whose
keys are the values `--backend` and the config accept. A language goes through a backend in four steps:
`detect` looks for each of its variants (never installs or pulls anything), `fetch` gets what detection found
absent but obtainable (the container image), `build` compiles one variant into its target's build folder,
`launch` describes one run.
The engine lives in engine.py, toolchain choice and versions in toolchains.py, shared by both backends.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from polylab.config.manifests import Language, Variant
from polylab.results.schema import variant_key
from polylab.results.store import atomic_write_text
from polylab.run.plan import RunSpec
from polylab.run.runner import Launch


@dataclass(frozen=True)
class Detection:
    """Whether a variant of a language can be built and run by a backend here, and with what."""

    lang: str
    backend: str
    variant: Variant             # as found: a search variant's installation is named from its version
    toolchain: str | None        # the candidate found
    path: str | None             # executable (local) or image (container) found
    version: str | None
    problem: str | None = None   # why it cannot run; None when usable
    hint: str | None = None      # the exact thing to do about it
    absent: str | None = None    # usable, but this must be fetched first (an image not present here)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def key(self) -> str:
        """`python:pypy`, or `go` for a language's only variant: its name in --langs, run ids and meta.json."""
        return variant_key(self.lang, self.variant.shown_name)


@dataclass(frozen=True)
class Target:
    """One variant of a language as a backend builds and runs it: what detection found, and its build folder."""

    language: Language
    detection: Detection
    build_dir: Path

    @property
    def variant(self) -> Variant:
        return self.detection.variant


def variant_folder(language: Language, variant: Variant) -> Path:
    """Where a variant builds, relative to a backend's build root: `go/` for a language's only variant,
    `python/pypy/` for one of several, so each variant keeps its own cache."""
    name = variant.shown_name
    return Path(language.name) if name == language.name else Path(language.name) / name


@dataclass(frozen=True)
class LaunchSpec:
    """Everything a backend needs to launch one run: the planned run, its target, its result file (host path)."""

    run: RunSpec
    target: Target
    result_path: Path


@dataclass(frozen=True)
class BuildOutcome:
    lang: str
    build_dir: Path
    compiled: bool               # False when the cache was up to date
    seconds: float
    cache_key: str


class BuildError(Exception):
    """A build that failed; the message does not repeat the language, which callers show beside it."""

    def __init__(self, lang: str, message: str, log_tail: str):
        super().__init__(message)
        self.lang, self.log_tail = lang, log_tail


class Backend(Protocol):
    name: str

    def detect(self, language: Language) -> list[Detection]:
        """Look for each variant of the language (toolchain, or engine + image), one detection per variant (a
        search variant: one per installation found, or one that says none was); change nothing."""

    def fetch(self, language: Language, detection: Detection) -> Detection:
        """Get what detection found absent (`detection.absent`), then detect that variant again; a problem when
        it fails."""

    def build_dir(self, language: Language, variant: Variant, build_root: Path) -> Path:
        """Where this backend builds the variant, under the lab's build root."""

    def build(self, target: Target) -> BuildOutcome:
        """Compile one variant into target.build_dir, skipping the work when the cache key is unchanged."""

    def launch(self, spec: LaunchSpec) -> Launch:
        """One run: argv, environment, and how to find and total its processes."""


STAMP = ".polylab-build.json"


def cache_key(target: Target, extra: str = "") -> str:
    """Hash of the manifest, every source file, the backend, the variant (and where it was found) and the
    toolchain version."""
    language, detection = target.language, target.detection
    digest = hashlib.sha256()
    digest.update(language.manifest.read_bytes())
    for path in language.source_files():
        digest.update(str(path.relative_to(language.folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    digest.update(f"{detection.backend}\0{detection.key}\0{detection.variant.home}\0{detection.toolchain}\0"
                  f"{detection.version}\0{extra}".encode())
    return digest.hexdigest()


def cached(build_dir: Path, key: str) -> bool:
    try:
        return json.loads((build_dir / STAMP).read_text())["key"] == key
    except (OSError, ValueError, KeyError):
        return False


def write_stamp(build_dir: Path, key: str, detection: Detection) -> None:
    stamp = {"key": key, "backend": detection.backend, "variant": detection.key, "toolchain": detection.toolchain,
             "version": detection.version}
    atomic_write_text(build_dir / STAMP, json.dumps(stamp))


BUILD_TIMEOUT_S = 600


def build_cached(target: Target, commands: list[list[str]], env: dict, key: str) -> BuildOutcome:
    """Run the build commands into target.build_dir unless the stamp there already has `key`.

    `commands` are complete argv lists (a container backend wraps each in `docker run`), run in the
    language folder; their output goes to build.log, whose tail explains a failure.
    """
    language, build_dir = target.language, target.build_dir
    if cached(build_dir, key):
        return BuildOutcome(language.name, build_dir, False, 0.0, key)
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    started = time.monotonic()
    log_path = build_dir / "build.log"
    with open(log_path, "w") as log:
        for command in commands:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            try:
                done = subprocess.run(command, cwd=language.folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      timeout=BUILD_TIMEOUT_S, stdin=subprocess.DEVNULL)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise BuildError(language.name, f"build command failed to run: {exc}", "") from None
            if done.returncode != 0:
                log.flush()
                tail = log_path.read_text(errors="replace")[-2000:]
                raise BuildError(language.name, f"build failed (exit {done.returncode}), see {log_path}", tail)
    write_stamp(build_dir, key, target.detection)
    return BuildOutcome(language.name, build_dir, True, time.monotonic() - started, key)


def substitute(argv, src: str, build: str) -> list[str]:
    """The only expansion manifests get: {src} and {build}; no shell, no other formatting."""
    return [arg.replace("{src}", src).replace("{build}", build) for arg in argv]


def get_backend(name: str, images: dict | None = None) -> Backend:
    """`images` maps language → image, overriding manifests (only the container backend uses it)."""
    from polylab.run.backends.container import ContainerBackend
    from polylab.run.backends.local import LocalBackend
    registry = {"local": LocalBackend, "container": ContainerBackend}
    return registry[name](images or {}) if name == "container" else registry[name]()
