"""The local backend: toolchains installed on the host."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from polylab.config.manifests import Language, Toolchain
from polylab.run.plan import RunSpec
from polylab.run.runner import Launch
from polylab.run.backends import BuildOutcome, Detection, build_cached, cache_key, substitute

VERSION_TIMEOUT_S = 30


def parse_version(toolchain: Toolchain, text: str) -> str:
    """The version from a version command's output: the regex's first group, else the first line."""
    text = text.strip()
    if toolchain.version_regex:
        match = re.search(toolchain.version_regex, text)
        if match:
            return match.group(1) if match.groups() else match.group(0)
    return text.splitlines()[0].strip() if text else "unknown"


def toolchain_version(toolchain: Toolchain, env: dict) -> str:
    """Run the manifest's version command; stdout and stderr both count (java -version uses stderr)."""
    try:
        done = subprocess.run(list(toolchain.version_command), capture_output=True, text=True, env=env,
                              timeout=VERSION_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    return parse_version(toolchain, done.stdout + "\n" + done.stderr)


def tool_env(extra: dict) -> dict:
    return {**os.environ, **extra}


class LocalBackend:
    name = "local"

    def detect(self, language: Language) -> Detection:
        missing = []
        for toolchain in language.toolchains:
            paths = [shutil.which(tool) for tool in toolchain.requires]
            if all(paths):
                return Detection(language.name, self.name, toolchain.name, paths[0],
                                 toolchain_version(toolchain, tool_env(toolchain.env)))
            missing.append(toolchain)
        wanted = "; or ".join(f"{t.name} ({', '.join(t.requires)})" for t in missing)
        return Detection(language.name, self.name, None, None, None,
                         problem=f"no toolchain found: needs {wanted}",
                         hint=" | ".join(t.install for t in missing))

    def _toolchain(self, language: Language, detection: Detection) -> Toolchain:
        return next(t for t in language.toolchains if t.name == detection.variant)

    def build(self, language: Language, detection: Detection, build_root: Path) -> BuildOutcome:
        toolchain = self._toolchain(language, detection)
        build_dir = str((build_root / language.name).resolve())
        commands = [substitute(argv, str(language.folder), build_dir) for argv in toolchain.build]
        return build_cached(language, detection, build_root, commands, tool_env(toolchain.env),
                            cache_key(language, detection))

    def command(self, language: Language, detection: Detection, build_root: Path,
                contract_args: list[str], cpu_list: str | None = None) -> tuple[list[str], dict]:
        toolchain = self._toolchain(language, detection)
        argv = substitute(toolchain.run, str(language.folder), str((build_root / language.name).resolve()))
        if cpu_list:
            argv = ["taskset", "--cpu-list", cpu_list, *argv]
        return argv + contract_args, dict(toolchain.env)

    def launch(self, language: Language, detection: Detection, build_root: Path, spec: RunSpec,
               result_path: Path) -> Launch:
        argv, env = self.command(language, detection, build_root, spec.contract_args(str(result_path)), spec.cpu_list())
        return Launch(argv=argv, env=env, cwd=build_root / language.name, result_path=result_path)
