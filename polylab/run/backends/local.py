"""The local backend: toolchains installed on the host.

A variant with `search:` is every installation found in the places it names (directory globs, $VARIABLES,
PATH): an installation is a directory whose bin/ holds a candidate's executables, and its bin/ goes first
on PATH for the version probe, the build and every run. Installations are told apart by the real path of
their first executable (a symlinked alias of a JDK is the same JDK); of two with the same name, the first
found is used.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

from polylab.config.manifests import PATH_ENTRY, Language, Toolchain, Variant
from polylab.run.runner import Launch
from polylab.run.backends import (BuildOutcome, Detection, LaunchSpec, Target, build_cached, cache_key, substitute,
                                  variant_folder)
from polylab.run.backends.toolchains import (VERSION_TIMEOUT_S, first_present, found_installation, install_hint,
                                             named, read_version, wanted)


def search_path(variant: Variant) -> str:
    """PATH for the variant's commands: an installation's bin/ first."""
    path = os.environ.get("PATH", os.defpath)
    return f"{variant.home}/bin{os.pathsep}{path}" if variant.home else path


def path_env(variant: Variant) -> dict:
    return {"PATH": search_path(variant)} if variant.home else {}


def tool_env(toolchain: Toolchain, variant: Variant) -> dict:
    return {**os.environ, **toolchain.env, **path_env(variant)}


def _run_on_host(toolchain: Toolchain, variant: Variant):
    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, env=tool_env(toolchain, variant),
                              timeout=VERSION_TIMEOUT_S, stdin=subprocess.DEVNULL)
    return run


def _homes(entry: str) -> list[str]:
    """The directories one `search:` entry names (`PATH` is handled by the caller)."""
    pattern = os.path.expanduser(os.path.expandvars(entry))
    if "$" in pattern:     # an unset variable: nothing to look at
        return []
    return list(dict.fromkeys(os.path.realpath(path) for path in sorted(glob.glob(pattern)) if os.path.isdir(path)))


def _installations(variant: Variant) -> list[tuple[str | None, Toolchain]]:
    """(home, candidate) of every installation the search finds, in search order, each once."""
    found, seen = [], set()
    for entry in variant.search:
        homes = [None] if entry == PATH_ENTRY else _homes(entry)
        for home in homes:
            bin_dir = None if home is None else f"{home}/bin"
            lookup = (lambda tool, where=bin_dir: shutil.which(tool, path=where))   # where=None: PATH
            toolchain = first_present(variant, lookup)
            if toolchain is None:
                continue
            identity = os.path.realpath(lookup(toolchain.requires[0]))
            if identity not in seen:
                seen.add(identity)
                found.append((home, toolchain))
    return found


class LocalBackend:
    name = "local"

    def detect(self, language: Language) -> list[Detection]:
        found: list[Detection] = []
        for variant in language.variants:
            found += self._search(language, variant) if variant.search else [self._detect(language, variant)]
        return found

    def _missing(self, language: Language, variant: Variant, where: str = "") -> Detection:
        return Detection(language.name, self.name, variant, None, None, None,
                         problem=f"no toolchain found{where}: needs {wanted(variant)}", hint=install_hint(variant))

    def _found(self, language: Language, variant: Variant, toolchain: Toolchain) -> Detection:
        path = shutil.which(toolchain.requires[0], path=search_path(variant))
        return Detection(language.name, self.name, variant, toolchain.name, path,
                         read_version(toolchain, _run_on_host(toolchain, variant)))

    def _detect(self, language: Language, variant: Variant) -> Detection:
        toolchain = first_present(variant, shutil.which)
        return self._missing(language, variant) if toolchain is None else self._found(language, variant, toolchain)

    def _search(self, language: Language, variant: Variant) -> list[Detection]:
        """One detection per installation found, named from its version; the first of a name wins."""
        detections: dict[str, Detection] = {}
        for home, toolchain in _installations(variant):
            version = read_version(toolchain, _run_on_host(toolchain, replace(variant, home=home)))
            installation = found_installation(variant, version, home)
            detections.setdefault(installation.name, self._found(language, installation, toolchain))
        return list(detections.values()) or [self._missing(language, variant, f" in {', '.join(variant.search)}")]

    def fetch(self, language: Language, detection: Detection) -> Detection:
        return detection          # host toolchains are the user's to install: the hint says how

    def build_dir(self, language: Language, variant: Variant, build_root: Path) -> Path:
        return (build_root / variant_folder(language, variant)).resolve()

    def build(self, target: Target) -> BuildOutcome:
        toolchain = named(target.variant, target.detection.toolchain)
        commands = [substitute(argv, str(target.language.folder), str(target.build_dir)) for argv in toolchain.build]
        return build_cached(target, commands, tool_env(toolchain, target.variant), cache_key(target))

    def command(self, target: Target, contract_args: list[str], cpu_list: str | None = None) -> tuple[list[str], dict]:
        """(argv, environment additions) that run the built program with these contract arguments."""
        toolchain = named(target.variant, target.detection.toolchain)
        argv = substitute(toolchain.run, str(target.language.folder), str(target.build_dir))
        if cpu_list:
            argv = ["taskset", "--cpu-list", cpu_list, *argv]
        return argv + contract_args, {**toolchain.env, **path_env(target.variant)}

    def launch(self, spec: LaunchSpec) -> Launch:
        argv, env = self.command(spec.target, spec.run.contract_args(str(spec.result_path)), spec.run.cpu_list())
        return Launch(argv=argv, env=env, cwd=spec.target.build_dir, result_path=spec.result_path)
