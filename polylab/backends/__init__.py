"""Backends build and launch a language's program: `local` (host toolchains), `container` (pinned images).

Each backend is a small object behind the `Backend` protocol; the registry below is an explicit dict whose
keys are the values `--backend` and the config accept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..langs import Language


@dataclass(frozen=True)
class Detection:
    """Whether a language can be built and run by a backend here, and with what."""

    lang: str
    backend: str
    variant: str | None          # toolchain candidate name (local) or image (container)
    path: str | None             # executable or image found
    version: str | None
    problem: str | None = None   # why it cannot run; None when usable
    hint: str | None = None      # the exact thing to do about it

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class BuildOutcome:
    lang: str
    build_dir: Path
    compiled: bool               # False when the cache was up to date
    seconds: float
    cache_key: str


class BuildError(Exception):
    def __init__(self, lang: str, message: str, log_tail: str):
        super().__init__(f"{lang}: {message}")
        self.lang, self.log_tail = lang, log_tail


class Backend(Protocol):
    name: str

    def detect(self, language: Language) -> Detection:
        """Find what this backend needs for the language (toolchain or engine + image)."""

    def build(self, language: Language, detection: Detection, build_root: Path) -> BuildOutcome:
        """Compile into build_root/<lang>/, skipping the work when the cache key is unchanged."""

    def command(self, language: Language, detection: Detection, build_root: Path,
                contract_args: list[str], cpus: int | None) -> tuple[list[str], dict]:
        """argv and extra environment that start one run of the program."""


STAMP = ".polylab-build.json"


def cache_key(language: Language, detection: Detection, extra: str = "") -> str:
    """Hash of the manifest, every source file, the backend and the toolchain version."""
    digest = hashlib.sha256()
    digest.update(language.manifest.read_bytes())
    for path in language.source_files():
        digest.update(str(path.relative_to(language.folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    digest.update(f"{detection.backend}\0{detection.variant}\0{detection.version}\0{extra}".encode())
    return digest.hexdigest()


def cached(build_dir: Path, key: str) -> bool:
    try:
        return json.loads((build_dir / STAMP).read_text())["key"] == key
    except (OSError, ValueError, KeyError):
        return False


def write_stamp(build_dir: Path, key: str, detection: Detection) -> None:
    stamp = {"key": key, "backend": detection.backend, "variant": detection.variant, "version": detection.version}
    tmp = build_dir / (STAMP + ".tmp")
    tmp.write_text(json.dumps(stamp))
    tmp.replace(build_dir / STAMP)


def substitute(argv, src: str, build: str) -> list[str]:
    """The only expansion manifests get: {src} and {build}; no shell, no other formatting."""
    return [arg.replace("{src}", src).replace("{build}", build) for arg in argv]


def get_backend(name: str) -> Backend:
    from .local import LocalBackend
    registry = {"local": LocalBackend}
    try:
        from .container import ContainerBackend
        registry["container"] = ContainerBackend
    except ImportError:
        pass
    return registry[name]()
