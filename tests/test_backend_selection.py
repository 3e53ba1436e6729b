"""Backend choice when no engine answers: auto falls back to local once, container fails in one line."""

import os
import re
import subprocess

from labpaths import ROOT


def no_engine_env(tmp_path):
    # A daemon socket that does not exist: the docker client answers "cannot connect".
    return {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/absent.sock", "CONTAINER_HOST": f"unix://{tmp_path}/x"}


def test_auto_falls_back_to_local_and_says_so_once(invoke_cmd, tmp_path):
    done = subprocess.run([*invoke_cmd, "doctor", "--backend", "auto"], capture_output=True, text=True,
                          env=no_engine_env(tmp_path), cwd=ROOT, timeout=120)
    assert done.returncode == 0
    assert done.stderr.count("no container engine answers") == 1
    backends = re.findall(r"│ (local|container) +│", done.stdout)   # the backend column of each row
    assert backends and set(backends) == {"local"}


def test_container_without_engine_fails_in_one_line(invoke_cmd, tmp_path):
    done = subprocess.run([*invoke_cmd, "all", "--backend", "container", "--profile", "smoke", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, env=no_engine_env(tmp_path),
                          cwd=ROOT, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: --backend container: no container engine answers (docker or podman; DOCKER_HOST / CONTAINER_HOST "
        "are honoured) — start one, or use --backend local or auto"]
    assert not (tmp_path / "out").exists()
