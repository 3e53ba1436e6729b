"""The test image `polylab-test:bookworm`: a debootstrapped rootfs tarball cached in CACHE_DIR (keyed by a
hash of the package list and recipe), built once per machine and imported into the engine."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .common import CACHE_DIR, SBIN_PATH, EngineError, Log, stderr_log, tail, which
from .debian_host import SUITE, ensure_host_packages, find_debian_mirror
from .mounts import mount_tmpfs, remove_tree, unmount_under

if TYPE_CHECKING:
    from .dockerd import Engine

IMAGE_NAME = "polylab-test:bookworm"
VARIANT = "minbase"
IMAGE_DIR = Path(__file__).resolve().parent / "image"
PACKAGES_FILE = IMAGE_DIR / "packages.txt"
# Bump when the way the rootfs is built changes (not the package list: that is hashed itself).
RECIPE_VERSION = "2"
HASH_LABEL = "org.polylab.test-image.hash"


def read_packages(path: Path = PACKAGES_FILE) -> list[str]:
    pkgs = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pkgs.extend(line.split())
    return pkgs


def image_hash(packages: Sequence[str]) -> str:
    key = json.dumps({"suite": SUITE, "variant": VARIANT, "packages": sorted(packages),
                      "recipe": RECIPE_VERSION})
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def cache_path(digest: str) -> Path:
    return CACHE_DIR / f"polylab-test-{SUITE}-{digest}.tar"


def _import_changes(packages: Sequence[str], digest: str) -> list[str]:
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        f"LABEL {HASH_LABEL}={digest}",
        'CMD ["/bin/bash"]',
    ]
    if "golang-go" in packages:
        # Go 1.19 wants a C compiler for cgo by default; the image has none, and workloads are pure Go.
        changes.insert(2, "ENV CGO_ENABLED=0")
    return changes


# Removed from the rootfs before it is tarred: download leftovers, docs and translations, Go's own test
# suite. About 80 MB less to import on every run; toolchains are unaffected.
TRIM_PATTERNS = (
    "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "var/log/*.log", "debootstrap",
    "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
    "usr/share/go-*/test",
)


def _mount_build_tmpfs(root: Path, log: Log) -> None:
    """Build in RAM when there is room: dpkg fsyncs every file, which on this VM's disk doubles the
    debootstrap time (measured: 128 s on ext4, 48-66 s on tmpfs, python3+mono-mcs+golang-go)."""
    if mount_tmpfs(root, "3g", "POLYLAB_TEST_BUILD_TMPFS", log):
        log(f"image: building in a tmpfs at {root}")


def build_rootfs_tarball(packages: Sequence[str], dest: Path, mirror: str, log: Log = stderr_log) -> None:
    """debootstrap a bookworm rootfs with `packages` and write it as an uncompressed tar to `dest`."""
    debootstrap = which("debootstrap")
    if not debootstrap:
        raise EngineError("debootstrap not found")
    dest.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix="build-", dir=dest.parent))
    root = build / "rootfs"
    root.mkdir()
    dlog = dest.parent / "debootstrap.log"
    try:
        _mount_build_tmpfs(root, log)
        cmd = [debootstrap, f"--variant={VARIANT}", f"--include={','.join(packages)}", SUITE, str(root), mirror]
        log(f"image: {' '.join(cmd)}  (log {dlog}) ...")
        t = time.monotonic()
        with open(dlog, "wb") as out:
            r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                               env=dict(os.environ, PATH=os.environ.get("PATH", "") + ":" + SBIN_PATH))
        if r.returncode != 0:
            extra = tail(root / "debootstrap" / "debootstrap.log", 20)
            raise EngineError(f"debootstrap failed (rc {r.returncode}); tail of {dlog}:\n{tail(dlog)}\n"
                              f"target's debootstrap.log:\n{extra}")
        log(f"image: debootstrap done in {time.monotonic() - t:.1f}s")
        left = unmount_under(root, log, include_root=False)  # /proc etc. if debootstrap left them
        if left:
            raise EngineError(f"debootstrap left mounts that could not be unmounted: {left}")
        # Slim down and drop host-specific files (docker bind-mounts its own resolv.conf/hosts/hostname).
        for pattern in TRIM_PATTERNS:
            for p in root.glob(pattern):
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        for name in ("etc/resolv.conf", "etc/hostname"):
            p = root / name
            if p.exists() or p.is_symlink():
                p.unlink()
                p.write_text("")
        t = time.monotonic()
        tmp_tar = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
        r = subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tmp_tar), "."],
                           capture_output=True, text=True)
        if r.returncode != 0:
            tmp_tar.unlink(missing_ok=True)
            raise EngineError(f"tar of the rootfs failed: {r.stderr}")
        os.replace(tmp_tar, dest)
        log(f"image: rootfs tarball {dest} ({dest.stat().st_size / 1e6:.0f} MB) written in "
            f"{time.monotonic() - t:.1f}s")
    finally:
        remove_tree(build, log)


def ensure_test_image(engine: Engine, log: Log = stderr_log, packages_file: Path = PACKAGES_FILE) -> str:
    """Make `engine.image` exist in the engine: import it from the cached tarball, building that first if
    needed. Returns the image name."""
    packages = read_packages(packages_file)
    digest = image_hash(packages)
    if engine.has_image(engine.image) == digest:
        log(f"image: {engine.image} already present ({digest})")
        return engine.image
    tar = cache_path(digest)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One builder at a time per machine (two CI jobs on one machine share the cache).
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tar.is_file():
            log(f"image: using cached rootfs {tar}")
        else:
            log(f"image: no cached rootfs for packages {packages} ({digest}); building it")
            # Leftovers of a build that was killed (we hold the lock: nobody else is building).
            for old in [*CACHE_DIR.glob("build-*"), *CACHE_DIR.glob("*.tar.tmp*")]:
                log(f"image: removing leftover {old}")
                remove_tree(old, log) if old.is_dir() else old.unlink(missing_ok=True)
            ensure_host_packages(need_debootstrap=True, log=log)
            build_rootfs_tarball(packages, tar, find_debian_mirror(), log)
        t = time.monotonic()
        cmd = ["import"]
        for c in _import_changes(packages, digest):
            cmd += ["--change", c]
        try:
            engine.run([*cmd, str(tar), engine.image], check=True, timeout=600)
        except EngineError:
            tar.unlink(missing_ok=True)  # a damaged cache must not fail every later run
            raise
        # Tarballs of older package lists are dead weight (~0.5 GB each).
        for old in CACHE_DIR.glob(f"polylab-test-{SUITE}-*.tar"):
            if old != tar:
                log(f"image: removing stale cache {old}")
                old.unlink(missing_ok=True)
    log(f"image: imported {engine.image} in {time.monotonic() - t:.1f}s")
    return engine.image
