"""The container engine: which one answers (docker or podman), asking it things, and its images.

Looking (find_engine, image_id) never changes anything on the machine; only `pull_image` fetches, and only
the steps that build call it (never `doctor`, never detection). Nothing here knows about languages.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from functools import lru_cache

from polylab.config.errors import UserError
from polylab.console import say

ENGINE_TIMEOUT_S = 20
PULL_TIMEOUT_S = 900
CLIS = ("docker", "podman")


@lru_cache(maxsize=1)
def find_engine() -> tuple[str, str] | None:
    """(cli, server version) of the first engine that answers; DOCKER_HOST / CONTAINER_HOST are honoured."""
    for cli in CLIS:
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


def engine_cli() -> str:
    """The engine's command-line client; callers have checked that an engine answers."""
    found = find_engine()
    if found is None:
        raise UserError("no container engine answers (docker or podman; DOCKER_HOST / CONTAINER_HOST are honoured)")
    return found[0]


def engine(*args: str, timeout: float = ENGINE_TIMEOUT_S) -> subprocess.CompletedProcess:
    """`<cli> args…`, its output captured as text."""
    return subprocess.run([engine_cli(), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@lru_cache(maxsize=None)
def image_id(image: str) -> str | None:
    """The local image's id, or None when it is not present here. Only looks."""
    done = engine("image", "inspect", "--format", "{{.Id}}", image)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def pull_image(image: str) -> str:
    """Pull an absent image, saying so before and after; returns its id. A failure is one UserError line:
    what went wrong — what to do."""
    say(f"pulling {image} (not present here) …")
    started = time.monotonic()
    try:
        pulled = engine("pull", image, timeout=PULL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pulled = None
    image_id.cache_clear()
    found = image_id(image) if pulled is not None and pulled.returncode == 0 else None
    if found is None:
        why = (pulled.stderr.strip().splitlines() or ["no reason given"])[-1] if pulled else "timed out"
        raise UserError(f"image {image} is not present and could not be pulled ({why}) — pull it where a registry "
                        f"is reachable (docker save/load to carry it), or pass --image LANG=IMAGE for a local one")
    say(f"pulled {image} in {time.monotonic() - started:.0f} s")
    return found


def ensure_image(image: str) -> str:
    """The image's id, pulling it first when it is absent."""
    return image_id(image) or pull_image(image)
