"""The test image `polylab-test:bookworm`: a Debian rootfs tarball made by mmdebstrap, cached in CACHE_DIR
(keyed by a hash of the package list and recipe), built once per machine and imported into the engine."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
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
# Essential packages plus the list: no apt, nothing to manage packages with inside the image.
VARIANT = "essential"
IMAGE_DIR = Path(__file__).resolve().parent / "image"
PACKAGES_FILE = IMAGE_DIR / "packages.txt"
# Bump when the way the rootfs is built changes (not the package list: that is hashed itself).
RECIPE_VERSION = "3"
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
        # The workloads are pure Go: without cgo, builds never reach for the image's gcc.
        changes.insert(2, "ENV CGO_ENABLED=0")
    return changes


# Not in the image: docs, man pages, translations, and what the workloads never use: Go's own test suite
# and the precompiled packages of its cmd/ tree, the JDK's jmods (for jlink only).
EXCLUDED_PATHS = (
    "/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*",
    "/usr/share/go-*/test/*", "/usr/lib/go-*/pkg/linux_amd64/cmd/*", "/usr/lib/jvm/*/jmods/*",
)
TRIM_CONFIG = "/etc/dpkg/dpkg.cfg.d/99polylab-trim"


def _hooks() -> list[str]:
    """The exclusions reach dpkg through a config file written after the essential packages are in, not
    through --dpkgopt: mmdebstrap would then pipe every essential package through its Python tar filter
    (measured: 67 s of a 215 s build). What the essential packages brought is deleted at the end."""
    config = "\n".join(f"path-exclude={pattern}" for pattern in EXCLUDED_PATHS)
    essential = (f'printf "%s\\n" {shlex.quote(config)} > "$1{TRIM_CONFIG}"; '
                 # openjdk's postinst registers its man pages with update-alternatives: it needs the folder.
                 'mkdir -p "$1/usr/share/man/man1"')
    trim = " ".join(f'"$1"{pattern}' for pattern in EXCLUDED_PATHS)
    # Docker bind-mounts its own resolv.conf/hosts/hostname: the host's copies go, and the build's logs.
    customize = (f'rm -rf {trim} "$1{TRIM_CONFIG}" "$1"/var/log/*.log; '
                 'for f in etc/resolv.conf etc/hostname; do rm -f "$1/$f"; : > "$1/$f"; done')
    return [f"--essential-hook={essential}", f"--customize-hook={customize}"]


def _mount_build_tmpfs(root: Path, log: Log) -> None:
    """Build in RAM when there is room: the ~1 GB tree of small files is written once, tarred and deleted,
    which this VM's disk (ext4 with discard) makes slow."""
    if mount_tmpfs(root, "3g", "POLYLAB_TEST_BUILD_TMPFS", log):
        log(f"image: building in a tmpfs at {root}")


def builder_command(packages: Sequence[str], root: Path, mirror: str) -> list[str]:
    """mmdebstrap rather than debootstrap: apt downloads in parallel and dpkg installs in one run, with
    unsafe-io and the exclusions above applied at unpack time. It fills the directory `root`: its own
    tarball writer is slower than plain tar (measured under the same load: 32 s against 10 s for 1.4 GB)."""
    return ["mmdebstrap", "--mode=root", f"--variant={VARIANT}", "--format=directory",
            f"--include={','.join(packages)}", "--dpkgopt=force-unsafe-io", *_hooks(), SUITE, str(root), mirror]


def build_rootfs_tarball(packages: Sequence[str], dest: Path, mirror: str, log: Log = stderr_log) -> None:
    """Build a bookworm rootfs with `packages` and write it as an uncompressed tar to `dest`."""
    if not which("mmdebstrap"):
        raise EngineError("mmdebstrap not found")
    dest.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix="build-", dir=dest.parent))
    root = build / "rootfs"
    blog = dest.parent / "mmdebstrap.log"
    tmp_tar = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
    try:
        _mount_build_tmpfs(build, log)
        cmd = builder_command(packages, root, mirror)
        log(f"image: {' '.join(cmd)}  (log {blog}) ...")
        t = time.monotonic()
        with open(blog, "wb") as out:
            r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=dict(os.environ, TMPDIR=str(build),
                                        PATH=os.environ.get("PATH", "") + ":" + SBIN_PATH))
        if r.returncode != 0:
            raise EngineError(f"mmdebstrap failed (rc {r.returncode}); tail of {blog}:\n{tail(blog)}")
        log(f"image: mmdebstrap done in {time.monotonic() - t:.1f}s")
        left = unmount_under(root, log, include_root=False)  # /proc etc., should mmdebstrap leave them
        if left:
            raise EngineError(f"mmdebstrap left mounts that could not be unmounted: {left}")
        t = time.monotonic()
        r = subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tmp_tar), "."],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise EngineError(f"tar of the rootfs failed: {r.stderr}")
        os.replace(tmp_tar, dest)
        log(f"image: rootfs tarball {dest} ({dest.stat().st_size / 1e6:.0f} MB) written in "
            f"{time.monotonic() - t:.1f}s")
    finally:
        tmp_tar.unlink(missing_ok=True)
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
            ensure_host_packages(need_builder=True, log=log)
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
