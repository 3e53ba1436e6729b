"""The container backend: build and run each language in its pinned image with docker or podman.

The host keeps measuring: the container's processes run on the same kernel, so the sampler follows the
container's init process and its descendants, and run totals come from the container's cgroup.
Detection only looks: an absent image is reported (`Detection.absent`) and pulled by `fetch`, which the
commands that build call; `doctor` never pulls. One image serves every variant of a language: a variant
whose candidates are not in it is missing there. A search variant looks only at the image's PATH, and is
named from the version found there.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from polylab.config.errors import UserError
from polylab.config.manifests import Language, Toolchain, Variant
from polylab.results.schema import ContainerRun, Totals
from polylab.run.runner import Launch
from polylab.run.backends import (BuildOutcome, Detection, LaunchSpec, Target, build_cached, cache_key, substitute,
                                  variant_folder)
from polylab.run.backends.cgroups import CgroupTotals
from polylab.run.backends.engine import engine, engine_cli, ensure_image, find_engine, image_id
from polylab.run.backends.toolchains import first_present, found_installation, named, read_version, required_tools

SRC, BUILD, OUT = "/src", "/build", "/out"
# Container builds live apart from local ones (build/_container/<lang>/[<variant>/]), so switching backends
# keeps both caches; language names cannot start with '_'.
BUILD_SUBDIR = "_container"
PROBE_TIMEOUT_S = 120
PID_TIMEOUT_S = 30
# Redirects stdout inside the container, so a run's output never crosses the engine; the target comes as
# an argument ("$0"), never pasted into the script.
REDIRECT = 'exec "$@" > "$0"'
# Prints which of the executables given as arguments exist (names are arguments, never pasted into code).
PRESENT = 'for t in "$@"; do command -v "$t" >/dev/null && echo "$t"; done'


def run_options(env: dict, *options: str) -> list[str]:
    """`run` with what every container of polylab gets: no network, no engine-side log of its output, the
    given environment and no entrypoint (the manifest's argv is the whole command); then `options`."""
    return ["run", "--network", "none", "--log-driver", "none", *[f"--env={k}={v}" for k, v in env.items()],
            "--entrypoint", "", *options]


def _in_image(image: str, env: dict):
    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return engine(*run_options(env, "--rm"), image, *argv, timeout=PROBE_TIMEOUT_S)
    return run


def _user() -> list[str]:
    return [] if os.getuid() == 0 else ["--user", f"{os.getuid()}:{os.getgid()}"]


class ContainerBackend:
    name = "container"

    def __init__(self, images: dict):
        self.images = images
        self.pull_failed: dict[str, str] = {}     # image → why: one pull per image, whatever its variants

    def image_for(self, language: Language) -> str | None:
        return self.images.get(language.name) or (language.container.image if language.container else None)

    def _missing(self, language: Language, variant: Variant, problem: str, hint: str) -> Detection:
        return Detection(language.name, self.name, variant, None, None, None, problem=problem, hint=hint)

    def detect(self, language: Language) -> list[Detection]:
        if find_engine() is None:
            return [self._missing(language, variant, "no container engine answers (docker or podman)",
                                  "install docker or podman and start it, or use --backend local")
                    for variant in language.variants]
        image = self.image_for(language)
        if image is None:
            return [self._missing(language, variant, "lang.yaml has no container section",
                                  f"add `container: {{image: ...}}` to {language.manifest.name} or pass "
                                  f"--image {language.name}=IMAGE") for variant in language.variants]
        if image_id(image) is None:
            return [Detection(language.name, self.name, variant, None, image, None, absent=image)
                    for variant in language.variants]
        present = _in_image(image, {})(["sh", "-c", PRESENT, "sh", *required_tools(language)]).stdout.split()
        return [self._detect_in(language, variant, image, present) for variant in language.variants]

    def fetch(self, language: Language, detection: Detection) -> Detection:
        if not detection.absent:
            return detection
        if detection.absent not in self.pull_failed:
            try:
                ensure_image(detection.absent)     # pulled for an earlier variant of the language: present now
            except UserError as exc:
                self.pull_failed[detection.absent] = str(exc)
        if detection.absent in self.pull_failed:
            problem, _, hint = self.pull_failed[detection.absent].partition(" — ")
            return self._missing(language, detection.variant, problem, hint)
        present = _in_image(detection.absent, {})(["sh", "-c", PRESENT, "sh", *required_tools(detection.variant)])
        return self._detect_in(language, detection.variant, detection.absent, present.stdout.split())

    def _detect_in(self, language: Language, variant: Variant, image: str, present: list[str]) -> Detection:
        """The variant inside a present image: the first candidate whose executables all exist there."""
        toolchain = first_present(variant, present)
        if toolchain is None:
            return self._missing(language, variant, f"image {image} has none of the toolchains of this variant",
                                 "use an image with " + " or ".join("+".join(t.requires) for t in variant.toolchains))
        version = read_version(toolchain, _in_image(image, self._env(language, toolchain)))
        found = found_installation(variant, version) if variant.search else variant
        return Detection(language.name, self.name, found, toolchain.name, image, version)

    @staticmethod
    def _env(language: Language, toolchain: Toolchain) -> dict:
        # HOME in /tmp: build tools write caches there, and the sources are mounted read-only.
        return {"HOME": "/tmp", **toolchain.env, **(language.container.env if language.container else {})}

    def build_dir(self, language: Language, variant: Variant, build_root: Path) -> Path:
        return (build_root / BUILD_SUBDIR / variant_folder(language, variant)).resolve()

    def build(self, target: Target) -> BuildOutcome:
        language, image = target.language, target.detection.path
        toolchain = named(target.variant, target.detection.toolchain)
        env = self._env(language, toolchain)
        prefix = [engine_cli(), *run_options(env, "--rm", *_user(), "--volume", f"{language.folder}:{SRC}:ro",
                                             "--volume", f"{target.build_dir}:{BUILD}", "--workdir", SRC), image]
        commands = [prefix + substitute(argv, SRC, BUILD) for argv in toolchain.build]
        key = cache_key(target, extra=image_id(image) or "")
        return build_cached(target, commands, dict(os.environ), key)

    def launch(self, spec: LaunchSpec) -> Launch:
        run, target, result_path = spec.run, spec.target, spec.result_path
        toolchain = named(target.variant, target.detection.toolchain)
        image = target.detection.path
        raw = result_path.parent
        token = f"polylab-{uuid.uuid4().hex[:12]}"
        cidfile = raw / f".{run.run_id}.cid"
        cidfile.unlink(missing_ok=True)
        cgroup = CgroupTotals.for_engine(token)
        limits = ["--cpus", str(run.cpus), "--cpuset-cpus", run.cpu_list()] if run.cpus else []
        program = substitute(toolchain.run, SRC, BUILD) + run.contract_args(f"{OUT}/{result_path.name}")
        if run.sink in ("devnull", "file"):   # redirect inside; `pipe` and `tty` stream through the engine to us
            sink = "/dev/null" if run.sink == "devnull" else f"{OUT}/{run.run_id}.stdout"
            program = ["sh", "-c", REDIRECT, sink, *program]
        terminal = ["--tty"] if run.sink == "tty" else []   # the engine gives the program a terminal of its own
        argv = [engine_cli(), *run_options(self._env(target.language, toolchain), "--name", token, "--cidfile",
                                           str(cidfile), *_user(), *cgroup.engine_args(), *limits, *terminal,
                                           "--volume", f"{target.language.folder}:{SRC}:ro",
                                           "--volume", f"{target.build_dir}:{BUILD}:ro",
                                           "--volume", f"{raw.resolve()}:{OUT}", "--workdir", BUILD),
                image, *program]
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

        def finish(t0: float) -> tuple[Totals, ContainerRun]:
            started_s = state["pid_at"] - t0 if state["pid_at"] else None
            return cgroup.read(), ContainerRun(container_start_s=started_s, image=image)

        def cleanup() -> None:
            engine("rm", "--force", token)
            cidfile.unlink(missing_ok=True)
            cgroup.remove()

        return Launch(argv=argv, env={}, cwd=target.build_dir.parent, result_path=result_path,
                      sample_root=container_pid, finish=finish, cleanup=cleanup, terminal_inside=bool(terminal))
