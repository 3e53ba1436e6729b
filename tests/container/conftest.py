"""pytest wiring for the container tests: the `container` marker and the session fixture `docker_engine`.

`docker_engine` provides a real, private dockerd (no network bridge) with the test image
`polylab-test:bookworm`; see engine.py. If the engine cannot be provided, the tests ERROR (they are not
skipped): CI must run them. Deselect them locally with `-m "not container"`.
"""

from __future__ import annotations

import atexit
from pathlib import Path

import pytest

from labpaths import load_by_path

_HERE = Path(__file__).resolve().parent


engine = load_by_path("polylab_tests_container_engine", _HERE / "engine.py")


def pytest_configure(config):
    if not any(m.split(":")[0].strip() == "container" for m in config.getini("markers")):
        config.addinivalue_line(
            "markers", "container: needs a real container engine (docker); started by the docker_engine fixture")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.container)


@pytest.fixture(scope="session")
def engine_module():
    """engine.py itself, for tests of its helpers."""
    return engine


@pytest.fixture(scope="session")
def docker_engine(request):
    """A running private dockerd with the test image imported.

    Yields an `engine.Engine` with: `host` (unix:// URL), `env` (os.environ copy with DOCKER_HOST and a
    matching `docker` first on PATH), `image` ("polylab-test:bookworm"), `run(args) -> CompletedProcess`
    (`docker -H <host> args`; `run`/`create` must pass `--network none`), `docker` (CLI path).
    """
    capman = request.config.pluginmanager.getplugin("capturemanager")

    def log(msg: str) -> None:
        # Progress should be visible live even without -s: the first run takes minutes.
        try:
            with capman.global_and_fixture_disabled():
                engine.stderr_log(msg)
        except Exception:  # no capture plugin, or called at exit after pytest tore it down
            engine.stderr_log(msg)

    eng = engine.Engine(log=log)
    atexit.register(eng.stop)  # safety net if the session dies before teardown
    try:
        cached = engine.cache_path(engine.image_hash(engine.read_packages())).is_file()
        # mmdebstrap is only needed when the image tarball is not cached yet.
        engine.ensure_host_packages(need_builder=not cached, log=log)
        eng.start()
        engine.ensure_test_image(eng, log=log)
    except engine.EngineError as exc:
        error = str(exc)
    except BaseException:
        eng.stop()
        raise
    else:
        error = None
    if error is not None:
        eng.stop()
        # An error, not a skip: CI must run these tests. Locally: pytest -m "not container".
        pytest.fail(f"container engine for tests unavailable: {error}", pytrace=False)
    try:
        yield eng
    finally:
        eng.stop()
        atexit.unregister(eng.stop)
