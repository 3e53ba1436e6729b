"""The local backend: toolchains installed on the host."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from polylab.config.manifests import Language, Toolchain
from polylab.run.runner import Launch
from polylab.run.backends import BuildOutcome, Detection, LaunchSpec, Target, build_cached, cache_key, substitute
from polylab.run.backends.toolchains import VERSION_TIMEOUT_S, first_present, named, read_version


def tool_env(toolchain: Toolchain) -> dict:
    return {**os.environ, **toolchain.env}


def _run_on_host(toolchain: Toolchain):
    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, env=tool_env(toolchain), timeout=VERSION_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    return run


class LocalBackend:
    name = "local"

    def detect(self, language: Language) -> Detection:
        toolchain = first_present(language, shutil.which)
        if toolchain is None:
            wanted = "; or ".join(f"{t.name} ({', '.join(t.requires)})" for t in language.toolchains)
            return Detection(language.name, self.name, None, None, None,
                             problem=f"no toolchain found: needs {wanted}",
                             hint=" | ".join(t.install for t in language.toolchains))
        return Detection(language.name, self.name, toolchain.name, shutil.which(toolchain.requires[0]),
                         read_version(toolchain, _run_on_host(toolchain)))

    def fetch(self, language: Language, detection: Detection) -> Detection:
        return detection          # host toolchains are the user's to install: the hint says how

    def build_dir(self, language: Language, build_root: Path) -> Path:
        return (build_root / language.name).resolve()

    def build(self, target: Target) -> BuildOutcome:
        toolchain = named(target.language, target.detection.variant)
        commands = [substitute(argv, str(target.language.folder), str(target.build_dir)) for argv in toolchain.build]
        return build_cached(target, commands, tool_env(toolchain), cache_key(target))

    def command(self, target: Target, contract_args: list[str], cpu_list: str | None = None) -> tuple[list[str], dict]:
        """(argv, environment additions) that run the built program with these contract arguments."""
        toolchain = named(target.language, target.detection.variant)
        argv = substitute(toolchain.run, str(target.language.folder), str(target.build_dir))
        if cpu_list:
            argv = ["taskset", "--cpu-list", cpu_list, *argv]
        return argv + contract_args, dict(toolchain.env)

    def launch(self, spec: LaunchSpec) -> Launch:
        argv, env = self.command(spec.target, spec.run.contract_args(str(spec.result_path)), spec.run.cpu_list())
        return Launch(argv=argv, env=env, cwd=spec.target.build_dir, result_path=spec.result_path)
