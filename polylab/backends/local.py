"""The local backend: toolchains installed on the host."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from ..langs import Language, Toolchain
from . import BuildError, BuildOutcome, Detection, cache_key, cached, substitute, write_stamp

VERSION_TIMEOUT_S = 30
BUILD_TIMEOUT_S = 600


def toolchain_version(toolchain: Toolchain, env: dict) -> str:
    """Run the manifest's version command; stdout and stderr both count (java -version uses stderr)."""
    try:
        done = subprocess.run(list(toolchain.version_command), capture_output=True, text=True, env=env,
                              timeout=VERSION_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    text = (done.stdout + "\n" + done.stderr).strip()
    if toolchain.version_regex:
        match = re.search(toolchain.version_regex, text)
        if match:
            return match.group(1) if match.groups() else match.group(0)
    return text.splitlines()[0].strip() if text else "unknown"


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
        build_dir = (build_root / language.name).resolve()
        key = cache_key(language, detection)
        if cached(build_dir, key):
            return BuildOutcome(language.name, build_dir, False, 0.0, key)
        if build_dir.exists():
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        started = time.monotonic()
        log_path = build_dir / "build.log"
        with open(log_path, "w") as log:
            for argv in toolchain.build:
                command = substitute(argv, str(language.folder), str(build_dir))
                log.write(f"$ {' '.join(command)}\n")
                log.flush()
                try:
                    done = subprocess.run(command, cwd=language.folder, env=tool_env(toolchain.env), stdout=log,
                                          stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_S,
                                          stdin=subprocess.DEVNULL)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise BuildError(language.name, f"build command failed to run: {exc}", "") from None
                if done.returncode != 0:
                    log.close()
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise BuildError(language.name, f"build failed (exit {done.returncode}), see {log_path}", tail)
        write_stamp(build_dir, key, detection)
        return BuildOutcome(language.name, build_dir, True, time.monotonic() - started, key)

    def command(self, language: Language, detection: Detection, build_root: Path,
                contract_args: list[str], cpus: int | None) -> tuple[list[str], dict]:
        toolchain = self._toolchain(language, detection)
        argv = substitute(toolchain.run, str(language.folder), str((build_root / language.name).resolve()))
        if cpus:
            argv = ["taskset", "--cpu-list", f"0-{cpus - 1}", *argv]
        return argv + contract_args, dict(toolchain.env)
