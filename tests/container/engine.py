"""A private, network-less Docker engine for polylab's container tests.

The API used by ``tests/container/conftest.py`` (plain helpers, no pytest in here), re-exported from its
sibling modules: common.py (EngineError, progress log), debian_host.py (host packages, Debian mirror),
processes.py and mounts.py (pid and mount helpers), dockerd.py (``Engine``), image_build.py (the test image).

What it does (each step idempotent, progress on stderr):

1. ``ensure_host_packages``: make sure Debian's ``docker.io`` (dockerd, containerd, runc and a matching
   ``docker`` CLI) and ``mmdebstrap`` are installed, with ``apt-get`` if they are missing.
2. ``Engine.start``: start our own ``dockerd`` in a short temp dir, with no network bridge, no iptables,
   no IP forwarding, its own data root (a tmpfs when RAM allows), exec root, socket, pid file and its own
   containerd (dockerd's managed one; a private one started here if a system containerd socket exists).
3. ``ensure_test_image``: import ``polylab-test:bookworm`` from a cached rootfs tarball
   (``/var/cache/polylab/polylab-test-bookworm-<hash>.tar``), building that tarball once with
   ``mmdebstrap --variant=essential`` from the Debian mirror apt already uses.
4. ``Engine.stop``: remove our containers, stop dockerd (and its containerd and shims) by pid, unmount what
   is left under the temp dir, delete it. The image cache is kept.

Network rules of the development/CI machines (no bridge, no traffic off the host): dockerd runs with
``--bridge=none --iptables=false --ip6tables=false``; every container must run with ``--network none``
(``Engine.run`` refuses ``run``/``create`` without it). Nothing is downloaded except Debian packages.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

# conftest.py loads this file by path (no __init__.py files; pytest imports every folder's conftest as
# `conftest`). Its siblings are imported as submodules of a package made here for this folder, under a name
# unique to it, so they can use plain relative imports of each other.
_PACKAGE = "polylab_tests_container"
if _PACKAGE not in sys.modules:
    _spec = importlib.machinery.ModuleSpec(_PACKAGE, None, is_package=True)
    _spec.submodule_search_locations = [str(Path(__file__).resolve().parent)]
    sys.modules[_PACKAGE] = importlib.util.module_from_spec(_spec)

from polylab_tests_container.common import EngineError, stderr_log  # noqa: E402
from polylab_tests_container.debian_host import DEFAULT_MIRROR, ensure_host_packages, find_debian_mirror  # noqa: E402
from polylab_tests_container.dockerd import Engine  # noqa: E402
from polylab_tests_container.image_build import (  # noqa: E402
    cache_path, ensure_test_image, image_hash, read_packages)

__all__ = ["DEFAULT_MIRROR", "Engine", "EngineError", "cache_path", "ensure_host_packages", "ensure_test_image",
           "find_debian_mirror", "image_hash", "read_packages", "stderr_log"]
