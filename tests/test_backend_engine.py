"""The engine module and the container backend's detection, against a stub `docker` (tests/stub_engine.py):
looking never pulls (detection, `auto`, `doctor`); only fetch_absent, which the building commands call, does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from labpaths import ROOT, load_by_path
from polylab.run.backends import engine
from polylab.run.backends.container import ContainerBackend
from polylab.run.backends.local import LocalBackend
from polylab.run.lab import choose, fetch_absent, load_lab

stub_engine = load_by_path("polylab_tests_stub_engine", Path(__file__).parent / "stub_engine.py")

IMAGE = "stub/lang:1"
MANIFEST = f"""\
name: stub
sources: ["*.txt"]
toolchains:
  - name: preferred
    requires: [polylab-stub-preferred]
    version: [polylab-stub-preferred, --version]
    version_regex: 'Stub (\\S+)'
    run: [polylab-stub-preferred]
    install: "install polylab-stub-preferred"
  - name: fallback
    requires: [python3]
    version: [python3, --version]
    version_regex: 'Python (\\S+)'
    run: [python3]
container:
  image: {IMAGE}
"""
EXPERIMENTS = "profiles:\n  p:\n    experiments:\n      x: {workload: sum, workers: [1], n: 5}\n"


def forget_engine() -> None:
    engine.find_engine.cache_clear()
    engine.image_id.cache_clear()


@pytest.fixture
def stub(tmp_path, monkeypatch):
    """The stub engine first on PATH, and a lab in tmp_path with one language, `stub`, whose image is IMAGE."""
    made = stub_engine.make_stub_engine(tmp_path / "engine")
    for key in ("PATH", "POLYLAB_STUB_ENGINE"):
        monkeypatch.setenv(key, made.env[key])
    (tmp_path / "langs" / "stub").mkdir(parents=True)
    (tmp_path / "langs" / "stub" / "lang.yaml").write_text(MANIFEST)
    (tmp_path / "langs" / "stub" / "main.txt").write_text("stub\n")
    (tmp_path / "experiments.yaml").write_text(EXPERIMENTS)
    forget_engine()
    yield made
    forget_engine()


def stub_lab(tmp_path):
    return load_lab(str(tmp_path / "experiments.yaml"), str(tmp_path / "langs"), root=tmp_path)


def test_find_engine_names_the_engine_that_answers(stub):
    assert engine.find_engine() == ("docker", "99.0-stub")
    stub.configure(answers=False)
    forget_engine()
    assert engine.find_engine() is None


def test_image_id_only_looks(stub):
    stub.configure(present=[IMAGE], pullable=["absent:1"])
    assert engine.image_id(IMAGE) == "sha256:" + IMAGE.encode().hex()
    assert engine.image_id("absent:1") is None
    assert "pull" not in stub.verbs()


def test_ensure_image_pulls_an_absent_image_once_and_says_so(stub, capsys):
    stub.configure(pullable=[IMAGE])
    assert engine.ensure_image(IMAGE) == "sha256:" + IMAGE.encode().hex()
    assert engine.ensure_image(IMAGE) == "sha256:" + IMAGE.encode().hex()
    assert stub.verbs().count("pull") == 1
    said = capsys.readouterr().err.splitlines()
    assert said[0] == f"pulling {IMAGE} (not present here) …" and re.fullmatch(rf"pulled {IMAGE} in \d+ s", said[1])
    assert len(said) == 2


def test_detection_reports_an_absent_image_and_pulls_nothing(stub, tmp_path):
    lab = stub_lab(tmp_path)
    [found] = ContainerBackend({}).detect(lab.languages["stub"])
    assert (found.ok, found.absent, found.path, found.toolchain, found.version) == (True, IMAGE, IMAGE, None, None)
    assert stub.verbs() == ["version", "image"]


def test_auto_uses_local_when_the_image_is_absent_and_says_so(stub, tmp_path, capsys):
    [choice] = choose(stub_lab(tmp_path), ["stub"], "auto")
    assert (choice.backend.name, choice.detection.toolchain) == ("local", "fallback")
    assert capsys.readouterr().err.splitlines() == [
        "backend auto: the images of stub are not present here, so those use the local toolchains (pull the images, "
        "or use --backend container, which pulls them)"]
    assert "pull" not in stub.verbs()


def test_auto_uses_the_container_when_the_image_is_present(stub, tmp_path):
    stub.configure(present=[IMAGE], tools=["python3"], version_output="Python 3.13.9")
    [choice] = choose(stub_lab(tmp_path), ["stub"], "auto")
    assert (choice.backend.name, choice.detection.toolchain, choice.detection.version) == ("container", "fallback",
                                                                                         "3.13.9")
    assert choice.target.build_dir == (tmp_path / "build" / "_container" / "stub").resolve()


def test_doctor_shows_an_absent_image_and_pulls_nothing(stub, tmp_path):
    stub.configure(pullable=[IMAGE])
    done = subprocess.run([str(Path(sys.executable).parent / "invoke"), "--search-root", str(ROOT), "doctor",
                           "--backend", "container", "--config", str(tmp_path / "experiments.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**stub.env, "POLYLAB_LANGS": str(tmp_path / "langs")})
    assert done.returncode == 0, done.stderr
    assert f"  stub: {IMAGE} — missing (pulled when built)" in done.stdout.splitlines()
    assert "pull" not in stub.verbs()


def test_fetch_pulls_the_image_then_detects_inside_it(stub, tmp_path):
    stub.configure(pullable=[IMAGE], tools=["polylab-stub-preferred", "python3"])
    [choice] = fetch_absent(choose(stub_lab(tmp_path), ["stub"], "container"))
    found = choice.detection
    assert (found.ok, found.absent, found.path, found.toolchain, found.version) == (True, None, IMAGE, "preferred",
                                                                                     "1.2.3")
    assert stub.verbs().count("pull") == 1


def test_a_failed_pull_is_a_problem_in_one_line_with_what_to_do(stub, tmp_path):
    [choice] = fetch_absent(choose(stub_lab(tmp_path), ["stub"], "container"))
    assert not choice.detection.ok
    assert choice.detection.problem == (f'image {IMAGE} is not present and could not be pulled (Error response from '
                                        f'daemon: Get "https://{IMAGE}/v2/": connection refused)')
    assert choice.detection.hint == ("pull it where a registry is reachable (docker save/load to carry it), or pass "
                                     "--image LANG=IMAGE for a local one")


def test_local_and_container_choose_the_toolchain_the_same_way(stub, tmp_path):
    # python3 is on this machine's PATH, polylab-stub-preferred nowhere: both backends fall back alike.
    stub.configure(present=[IMAGE], tools=["python3"], version_output="Python 3.13.9")
    language = stub_lab(tmp_path).languages["stub"]
    [local], [container] = LocalBackend().detect(language), ContainerBackend({}).detect(language)
    assert local.toolchain == container.toolchain == "fallback"
    assert local.version.count(".") == 2 and local.version[0] == "3"      # 'Python 3.x.y' through the regex
