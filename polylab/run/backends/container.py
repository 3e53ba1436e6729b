"""The container backend: build and run each language in its pinned image with docker or podman.

The host keeps measuring: the container's processes run on the same kernel, so the sampler follows the
container's init process and its descendants, and run totals come from the container's cgroup.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from functools import lru_cache
from pathlib import Path

from polylab.config.errors import UserError
from polylab.config.manifests import Language, Toolchain
from polylab.run.plan import RunSpec
from polylab.run.runner import Launch
from polylab.run.backends import BuildOutcome, Detection, build_cached, cache_key, substitute
from polylab.run.backends.cgroups import CgroupTotals

SRC, BUILD, OUT = "/src", "/build", "/out"
# Container builds live apart from local ones (build/_container/<lang>/), so switching backends keeps both
# caches; language names cannot start with '_'.
BUILD_SUBDIR = "_container"
ENGINE_TIMEOUT_S = 20
PULL_TIMEOUT_S = 900
PID_TIMEOUT_S = 30
# Redirects stdout inside the container, so a run's output never crosses the engine; the target comes as
# an argument ("$0"), never pasted into the script.
REDIRECT = 'exec "$@" > "$0"'


@lru_cache(maxsize=1)
def find_engine() -> tuple[str, str] | None:
    """(cli, server version) of the first engine that answers; DOCKER_HOST / CONTAINER_HOST are honoured."""
    for cli in ("docker", "podman"):
        if not shutil.which(cli):
            continue
        try:
            done = subprocess.run([cli, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                                  timeout=ENGINE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip():
            return cli, done.stdout.strip()
    return None


def engine(*args: str, timeout: float = ENGINE_TIMEOUT_S) -> subprocess.CompletedProcess:
    cli, _ = find_engine()
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@lru_cache(maxsize=None)
def image_id(image: str) -> str | None:
    done = engine("image", "inspect", "--format", "{{.Id}}", image)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_image(image: str) -> str:
    """The image's id; pulls it when absent. Raises UserError with one line on what to do."""
    found = image_id(image)
    if found:
        return found
    try:
        pulled = engine("pull", image, timeout=PULL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pulled = None
    image_id.cache_clear()
    if pulled is None or pulled.returncode != 0:
        why = (pulled.stderr.strip().splitlines() or ["timed out"])[-1] if pulled else "timed out"
        raise UserError(f"image {image} is not present and could not be pulled ({why}) — pull it where a registry "
                        f"is reachable (docker save/load to carry it), or pass --image LANG=IMAGE for a local one")
    return image_id(image)


def run_options(env: dict, *options: str) -> list[str]:
    """`run` with what every container of polylab gets: no network, no engine-side log of its output, the
    given environment and no entrypoint (the manifest's argv is the whole command); then `options`."""
    return ["run", "--network", "none", "--log-driver", "none", *[f"--env={k}={v}" for k, v in env.items()],
            "--entrypoint", "", *options]


def _in_image(image: str, argv: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return engine(*run_options(env or {}, "--rm"), image, *argv, timeout=120)


def _toolchain_in_image(language: Language, image: str) -> Toolchain | None:
    """The first candidate whose executables all exist in the image (names passed as arguments, not code)."""
    wanted = sorted({tool for t in language.toolchains for tool in t.requires})
    probe = _in_image(image, ["sh", "-c", 'for t in "$@"; do command -v "$t" >/dev/null && echo "$t"; done', "sh",
                              *wanted])
    present = set(probe.stdout.split())
    return next((t for t in language.toolchains if set(t.requires) <= present), None)


class ContainerBackend:
    name = "container"

    def __init__(self, images: dict):
        self.images = images

    def image_for(self, language: Language) -> str | None:
        return self.images.get(language.name) or (language.container.image if language.container else None)

    def detect(self, language: Language) -> Detection:
        def missing(problem: str, hint: str) -> Detection:
            return Detection(language.name, self.name, None, None, None, problem=problem, hint=hint)
        if find_engine() is None:
            return missing("no container engine answers (docker or podman)",
                           "install docker or podman and start it, or use --backend local")
        image = self.image_for(language)
        if image is None:
            return missing("lang.yaml has no container section", f"add `container: {{image: ...}}` to "
                           f"{language.manifest.name} or pass --image {language.name}=IMAGE")
        try:
            ensure_image(image)
        except UserError as exc:
            return missing(str(exc).split(" — ")[0], str(exc).split(" — ")[-1])
        toolchain = _toolchain_in_image(language, image)
        if toolchain is None:
            return missing(f"image {image} has none of the toolchains in {language.manifest.name}",
                           f"use an image with {' or '.join('+'.join(t.requires) for t in language.toolchains)}")
        version = _in_image(image, list(toolchain.version_command), self._env(language, toolchain))
        from polylab.run.backends.local import parse_version
        return Detection(language.name, self.name, toolchain.name, image,
                         parse_version(toolchain, version.stdout + "\n" + version.stderr))

    def _toolchain(self, language: Language, detection: Detection) -> Toolchain:
        return next(t for t in language.toolchains if t.name == detection.variant)

    @staticmethod
    def _env(language: Language, toolchain: Toolchain) -> dict:
        # HOME in /tmp: build tools write caches there, and the sources are mounted read-only.
        return {"HOME": "/tmp", **toolchain.env, **(language.container.env if language.container else {})}

    def _user(self) -> list[str]:
        return [] if os.getuid() == 0 else ["--user", f"{os.getuid()}:{os.getgid()}"]

    def build(self, language: Language, detection: Detection, build_root: Path) -> BuildOutcome:
        build_root = build_root / BUILD_SUBDIR
        toolchain = self._toolchain(language, detection)
        build_dir = (build_root / language.name).resolve()
        env = self._env(language, toolchain)
        cli, _ = find_engine()
        prefix = [cli, *run_options(env, "--rm", *self._user(), "--volume", f"{language.folder}:{SRC}:ro",
                                    "--volume", f"{build_dir}:{BUILD}", "--workdir", SRC), detection.path]
        commands = [prefix + substitute(argv, SRC, BUILD) for argv in toolchain.build]
        key = cache_key(language, detection, extra=image_id(detection.path) or "")
        return build_cached(language, detection, build_root, commands, dict(os.environ), key)

    def launch(self, language: Language, detection: Detection, build_root: Path, spec: RunSpec,
               result_path: Path) -> Launch:
        toolchain = self._toolchain(language, detection)
        raw = result_path.parent
        token = f"polylab-{uuid.uuid4().hex[:12]}"
        cidfile = raw / f".{spec.run_id}.cid"
        cidfile.unlink(missing_ok=True)
        cgroup = CgroupTotals.for_engine(token)
        limits = ["--cpus", str(spec.cpus), "--cpuset-cpus", spec.cpu_list()] if spec.cpus else []
        program = substitute(toolchain.run, SRC, BUILD) + spec.contract_args(f"{OUT}/{result_path.name}")
        if spec.sink != "pipe":   # devnull / file: redirect inside; `pipe` streams through the engine to us
            target = "/dev/null" if spec.sink == "devnull" else f"{OUT}/{spec.run_id}.stdout"
            program = ["sh", "-c", REDIRECT, target, *program]
        cli, _ = find_engine()
        build_dir = (build_root / BUILD_SUBDIR / language.name).resolve()
        argv = [cli, *run_options(self._env(language, toolchain), "--name", token, "--cidfile", str(cidfile),
                                  *self._user(), *cgroup.engine_args(), *limits,
                                  "--volume", f"{language.folder}:{SRC}:ro", "--volume", f"{build_dir}:{BUILD}:ro",
                                  "--volume", f"{raw.resolve()}:{OUT}", "--workdir", BUILD),
                detection.path, *program]
        state = {"pid_at": None}

        def container_pid(popen) -> int | None:
            """The container's init process as the host sees it (same kernel), once the engine started it."""
            deadline = time.monotonic() + PID_TIMEOUT_S
            while time.monotonic() < deadline and popen.poll() is None:
                if cidfile.exists() and cidfile.read_text().strip():
                    done = engine("inspect", "--format", "{{.State.Pid}}", token)
                    pid = int(done.stdout.strip() or 0) if done.returncode == 0 else 0
                    if pid > 0:
                        state["pid_at"] = time.monotonic()
                        return pid
                time.sleep(0.01)
            return None

        def finish(t0: float) -> dict:
            totals = cgroup.read()
            start = {"container_start_s": state["pid_at"] - t0 if state["pid_at"] else None, "image": detection.path}
            return {**start, **totals}

        def cleanup() -> None:
            engine("rm", "--force", token)
            cidfile.unlink(missing_ok=True)
            cgroup.remove()

        return Launch(argv=argv, env={}, cwd=build_root, result_path=result_path, sample_root=container_pid,
                      finish=finish, cleanup=cleanup)
