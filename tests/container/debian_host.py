"""The Debian host side: install docker.io and mmdebstrap with apt-get when missing, and find the Debian
mirror apt already uses (mmdebstrap builds the test image from it; nothing else is downloaded)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Iterable

from .common import CACHE_DIR, SBIN_PATH, EngineError, Log, stderr_log, tail, which

SUITE = "bookworm"  # the Debian release: of the test image, and the suite looked up in apt's sources
DEFAULT_MIRROR = "http://deb.debian.org/debian"
HOST_PACKAGES = ("docker.io", "mmdebstrap")
_apt_updated = False


def _missing_tools(need_builder: bool) -> list[str]:
    tools = ["dockerd", "containerd", "runc"] + (["mmdebstrap"] if need_builder else [])
    return [t for t in tools if which(t) is None]


@contextlib.contextmanager
def _no_service_starts(log: Log):
    """Installing docker.io must not start the system's docker service (it would create docker0 and
    iptables rules). Debian honours /usr/sbin/policy-rc.d (exit 101 = "don't start"); add one for the
    duration of the install if the machine has none, and remove it afterwards."""
    policy = Path("/usr/sbin/policy-rc.d")
    created = False
    if not policy.exists():
        policy.write_text("#!/bin/sh\n# temporary, written by polylab tests/container/debian_host.py\nexit 101\n")
        policy.chmod(0o755)
        created = True
        log(f"wrote temporary {policy} (exit 101) so apt does not start docker.service")
    try:
        yield
    finally:
        if created:
            policy.unlink(missing_ok=True)


def ensure_host_packages(need_builder: bool = True, log: Log = stderr_log) -> None:
    """Install docker.io (and mmdebstrap when the image must be built) if missing. Raises EngineError."""
    global _apt_updated
    missing = _missing_tools(need_builder)
    if not missing:
        log("host packages: dockerd, containerd, runc" + (", mmdebstrap" if need_builder else "")
            + " present")
        return
    if os.geteuid() != 0:
        raise EngineError(f"missing {', '.join(missing)} and not root: cannot apt-get install "
                          f"{' '.join(HOST_PACKAGES)}")
    if which("apt-get") is None:
        raise EngineError(f"missing {', '.join(missing)} and no apt-get on this machine: install "
                          f"{' '.join(HOST_PACKAGES)} (Debian) by hand")
    packages = ["docker.io"] if {"dockerd", "containerd", "runc"} & set(missing) else []
    if "mmdebstrap" in missing:
        packages.append("mmdebstrap")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH=os.environ.get("PATH", "") + ":" + SBIN_PATH)
    apt_opts = ["-q", "-o", "Dpkg::Use-Pty=0", "-o", "DPkg::Lock::Timeout=300"]
    logfile = CACHE_DIR / "apt-install.log"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(logfile, "w") as out:
        if not _apt_updated:
            log("host packages: apt-get update ...")
            t = time.monotonic()
            r = subprocess.run(["apt-get", *apt_opts, "update"], stdout=out, stderr=subprocess.STDOUT, env=env)
            if r.returncode != 0:
                out.flush()
                raise EngineError(f"apt-get update failed (rc {r.returncode}); log {logfile}:\n{tail(logfile)}")
            _apt_updated = True
            log(f"host packages: apt-get update done in {time.monotonic() - t:.1f}s")
        log(f"host packages: apt-get install {' '.join(packages)} (missing: {', '.join(missing)}) ...")
        t = time.monotonic()
        with _no_service_starts(log):
            r = subprocess.run(["apt-get", *apt_opts, "install", "-y", "--no-install-recommends", *packages],
                               stdout=out, stderr=subprocess.STDOUT, env=env)
    if r.returncode != 0:
        raise EngineError(f"apt-get install {' '.join(packages)} failed (rc {r.returncode}); "
                          f"log {logfile}:\n{tail(logfile)}")
    log(f"host packages: installed in {time.monotonic() - t:.1f}s")
    still = _missing_tools(need_builder)
    if still:
        raise EngineError(f"after apt-get install, still missing: {', '.join(still)}")


def _deb822_stanzas(text: str) -> Iterable[dict[str, str]]:
    stanza: dict[str, str] = {}
    key = None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
        elif line[0] in " \t" and key:
            stanza[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip()


def _mirror_candidates(apt_dir: Path) -> Iterable[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) for every enabled 'deb' source apt uses."""
    lists = []
    if (apt_dir / "sources.list").is_file():
        lists.append(apt_dir / "sources.list")
    lists += sorted((apt_dir / "sources.list.d").glob("*.list"))
    for path in lists:
        for line in path.read_text(errors="replace").splitlines():
            line = line.split("#", 1)[0].strip()
            line = re.sub(r"\[[^\]]*\]", " ", line)  # drop [arch=... signed-by=...] options
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb":
                yield parts[1], [parts[2]], parts[3:]
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for st in _deb822_stanzas(path.read_text(errors="replace")):
            if "deb" not in st.get("types", "").split() or st.get("enabled", "yes").lower() == "no":
                continue
            for uri in st.get("uris", "").split():
                yield uri, st.get("suites", "").split(), st.get("components", "").split()


def find_debian_mirror(apt_dir: Path = Path("/etc/apt"), suite: str = SUITE) -> str:
    """The Debian mirror apt uses for `suite` (e.g. http://deb.debian.org/debian), else DEFAULT_MIRROR."""
    for uri, suites, components in _mirror_candidates(apt_dir):
        if suite in suites and "main" in components and uri.startswith(("http://", "https://", "file:/")):
            return uri.rstrip("/")
    return DEFAULT_MIRROR
