"""A private, network-less Docker engine for polylab's container tests.

Plain helpers used by ``tests/container/conftest.py``; no pytest in here.

What it does (each step idempotent, progress on stderr):

1. ``ensure_host_packages``: make sure Debian's ``docker.io`` (dockerd, containerd, runc and a matching
   ``docker`` CLI) and ``debootstrap`` are installed, with ``apt-get`` if they are missing.
2. ``Engine.start``: start our own ``dockerd`` in a short temp dir, with no network bridge, no iptables,
   no IP forwarding, its own data root (a tmpfs when RAM allows), exec root, socket, pid file and its own
   containerd (dockerd's managed one; a private one started here if a system containerd socket exists).
3. ``ensure_test_image``: import ``polylab-test:bookworm`` from a cached rootfs tarball
   (``/var/cache/polylab/polylab-test-bookworm-<hash>.tar``), building that tarball once with
   ``debootstrap --variant=minbase`` from the Debian mirror apt already uses.
4. ``Engine.stop``: remove our containers, stop dockerd (and its containerd and shims) by pid, unmount what
   is left under the temp dir, delete it. The image cache is kept.

Network rules of the development/CI machines (see shared MACHINE-NOTES): dockerd runs with
``--bridge=none --iptables=false --ip6tables=false``; every container must run with ``--network none``
(``Engine.run`` refuses ``run``/``create`` without it). Nothing is downloaded except Debian packages.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

IMAGE_NAME = "polylab-test:bookworm"
SUITE = "bookworm"
VARIANT = "minbase"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
IMAGE_DIR = Path(__file__).resolve().parent / "image"
PACKAGES_FILE = IMAGE_DIR / "packages.txt"
CACHE_DIR = Path(os.environ.get("POLYLAB_TEST_IMAGE_CACHE", "/var/cache/polylab"))
# Bump when the way the rootfs is built changes (not the package list: that is hashed itself).
RECIPE_VERSION = "2"
HASH_LABEL = "org.polylab.test-image.hash"

# The network rules: no bridge, no iptables/ip6tables rules, no ip_forward / masquerading changes.
DOCKERD_NETWORK_FLAGS = (
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
)
HOST_PACKAGES = ("docker.io", "debootstrap")
SYSTEM_CONTAINERD_SOCK = "/run/containerd/containerd.sock"
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_T0 = time.monotonic()

Log = Callable[[str], None]


class EngineError(RuntimeError):
    """The test engine could not be provided. CI must treat this as a failure, not a skip."""


def stderr_log(msg: str) -> None:
    print(f"[polylab-engine +{time.monotonic() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + _SBIN_PATH)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------------------------------
# 1. host packages
# --------------------------------------------------------------------------------------------------

_apt_updated = False


def _missing_tools(need_debootstrap: bool) -> list[str]:
    tools = ["dockerd", "containerd", "runc"] + (["debootstrap"] if need_debootstrap else [])
    return [t for t in tools if _which(t) is None]


@contextlib.contextmanager
def _no_service_starts(log: Log):
    """Installing docker.io must not start the system's docker service (it would create docker0 and
    iptables rules). Debian honours /usr/sbin/policy-rc.d (exit 101 = "don't start"); add one for the
    duration of the install if the machine has none, and remove it afterwards."""
    policy = Path("/usr/sbin/policy-rc.d")
    created = False
    if not policy.exists():
        policy.write_text("#!/bin/sh\n# temporary, written by polylab tests/container/engine.py\nexit 101\n")
        policy.chmod(0o755)
        created = True
        log(f"wrote temporary {policy} (exit 101) so apt does not start docker.service")
    try:
        yield
    finally:
        if created:
            policy.unlink(missing_ok=True)


def ensure_host_packages(need_debootstrap: bool = True, log: Log = stderr_log) -> None:
    """Install docker.io (and debootstrap when the image must be built) if missing. Raises EngineError."""
    global _apt_updated
    missing = _missing_tools(need_debootstrap)
    if not missing:
        log("host packages: dockerd, containerd, runc" + (", debootstrap" if need_debootstrap else "")
            + " present")
        return
    if os.geteuid() != 0:
        raise EngineError(f"missing {', '.join(missing)} and not root: cannot apt-get install "
                          f"{' '.join(HOST_PACKAGES)}")
    if _which("apt-get") is None:
        raise EngineError(f"missing {', '.join(missing)} and no apt-get on this machine: install "
                          f"{' '.join(HOST_PACKAGES)} (Debian) by hand")
    packages = ["docker.io"] if {"dockerd", "containerd", "runc"} & set(missing) else []
    if "debootstrap" in missing:
        packages.append("debootstrap")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH=os.environ.get("PATH", "") + ":" + _SBIN_PATH)
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
                raise EngineError(f"apt-get update failed (rc {r.returncode}); log {logfile}:\n{_tail(logfile)}")
            _apt_updated = True
            log(f"host packages: apt-get update done in {time.monotonic() - t:.1f}s")
        log(f"host packages: apt-get install {' '.join(packages)} (missing: {', '.join(missing)}) ...")
        t = time.monotonic()
        with _no_service_starts(log):
            r = subprocess.run(["apt-get", *apt_opts, "install", "-y", "--no-install-recommends", *packages],
                               stdout=out, stderr=subprocess.STDOUT, env=env)
    if r.returncode != 0:
        raise EngineError(f"apt-get install {' '.join(packages)} failed (rc {r.returncode}); "
                          f"log {logfile}:\n{_tail(logfile)}")
    log(f"host packages: installed in {time.monotonic() - t:.1f}s")
    still = _missing_tools(need_debootstrap)
    if still:
        raise EngineError(f"after apt-get install, still missing: {', '.join(still)}")


# --------------------------------------------------------------------------------------------------
# Debian mirror used by apt on this machine
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# /proc helpers (no psutil needed)
# --------------------------------------------------------------------------------------------------

def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, start time) of a live, non-zombie pid, else None."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])


def _proc_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        st = _proc_stat(pid)
        if st:
            children.setdefault(st[0], []).append(pid)
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class _Proc:
    """A pid pinned to its start time, so a recycled pid is never signalled."""

    def __init__(self, pid: int):
        self.pid = pid
        st = _proc_stat(pid)
        self.start = st[1] if st else None
        self.name = (_proc_cmdline(pid) or ["?"])[0]

    def alive(self) -> bool:
        st = _proc_stat(self.pid)
        return st is not None and st[1] == self.start

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def __repr__(self) -> str:
        return f"{os.path.basename(self.name)}[{self.pid}]"


def _wait_gone(procs: Sequence[_Proc], timeout: float, reap: Callable[[], None] = lambda: None) -> list[_Proc]:
    deadline = time.monotonic() + timeout
    while True:
        reap()
        alive = [p for p in procs if p.alive()]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.1)


def _mounts_under(root: Path, include_root: bool = True) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    out = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[1])
        if mp.startswith(prefix) or (include_root and mp == str(root)):
            out.append(mp)
    return sorted(set(out), key=lambda p: p.count("/"), reverse=True)


def unmount_under(root: Path, log: Log = stderr_log, include_root: bool = True) -> list[str]:
    """Unmount everything mounted below (and, with include_root, at) `root`, deepest first.
    Returns what is still mounted."""
    for _ in range(3):
        mounts = _mounts_under(root, include_root)
        if not mounts:
            return []
        for mp in mounts:
            r = subprocess.run(["umount", mp], capture_output=True, text=True)
            if r.returncode != 0:
                r = subprocess.run(["umount", "-l", mp], capture_output=True, text=True)
            log(f"unmounted {mp}" if r.returncode == 0 else f"could not unmount {mp}: {r.stderr.strip()}")
    return _mounts_under(root, include_root)


def remove_tree(root: Path, log: Log = stderr_log) -> None:
    """rm -rf `root`, but only after nothing is mounted below it (never descend into /proc, /sys, /dev)."""
    if not root.exists():
        return
    left = unmount_under(root, log)
    if left:
        log(f"NOT deleting {root}: still mounted below it: {left}")
        return
    shutil.rmtree(root, ignore_errors=True)


def mem_available_mb() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def mount_tmpfs(path: Path, size: str, switch: str, log: Log, mode: str = "0755",
                min_avail_mb: int = 4096) -> bool:
    """Mount a tmpfs at `path` if RAM allows and env `switch` is not "0". False: stay on disk."""
    if os.environ.get(switch, "1") == "0":
        return False
    avail = mem_available_mb()
    if avail < min_avail_mb:
        log(f"only {avail} MB RAM available: {path} stays on disk")
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode={mode}", "polylab-test", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"cannot mount a tmpfs at {path} ({r.stderr.strip()}): it stays on disk")
        return False
    return True


# --------------------------------------------------------------------------------------------------
# 2. the engine
# --------------------------------------------------------------------------------------------------

def _find_cli(dockerd: str) -> str:
    """The docker CLI from the same package as dockerd (Debian: /usr/bin/docker next to /usr/sbin/dockerd),
    not whatever client is first on PATH (this machine has an unrelated /usr/local/bin/docker)."""
    prefix = Path(dockerd).resolve().parent.parent
    for cand in (prefix / "bin" / "docker", Path("/usr/bin/docker")):
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    found = _which("docker")
    if not found:
        raise EngineError("no docker CLI found next to dockerd or on PATH")
    return found


class Engine:
    """Our own dockerd. Use: e = Engine(); e.start(); ... e.run([...]) ...; e.stop()."""

    def __init__(self, log: Log = stderr_log, image: str = IMAGE_NAME):
        self.log = log
        self.image = image
        self.tmp: Path | None = None
        self.dockerd: str | None = None
        self.docker: str | None = None
        self.host = ""
        self.env: dict[str, str] = {}
        self._popen: subprocess.Popen | None = None
        self._daemon: _Proc | None = None
        self._logfh = None
        self.info: dict = {}
        self._containerd: _Proc | None = None
        self._containerd_popen: subprocess.Popen | None = None
        self._containerd_log = None

    # paths -------------------------------------------------------------------------------------
    @property
    def sock(self) -> Path:
        return self.tmp / "docker.sock"

    @property
    def pidfile(self) -> Path:
        return self.tmp / "docker.pid"

    @property
    def logfile(self) -> Path:
        return self.tmp / "dockerd.log"

    # start -------------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "Engine":
        if self._daemon is not None and self._daemon.alive():
            return self
        if os.geteuid() != 0:
            raise EngineError("the test engine needs root (dockerd)")
        self.dockerd = _which("dockerd")
        if not self.dockerd:
            raise EngineError("dockerd not found (install Debian's docker.io)")
        self.docker = _find_cli(self.dockerd)
        # Short path: unix socket paths are limited to 108 bytes, and containerd's socket lives at
        # <exec-root>/containerd/containerd.sock.
        self.tmp = Path(tempfile.mkdtemp(prefix="pl-dk-", dir="/tmp"))
        try:
            self._start_in_tmp(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_in_tmp(self, timeout: float) -> None:
        for d in ("data", "exec", "cli-config", "bin"):
            (self.tmp / d).mkdir()
        # Data root in RAM when there is room: importing the ~650 MB image and deleting it at teardown
        # cost 5-30 s on this VM's disk (ext4 with discard), next to nothing on a tmpfs.
        if mount_tmpfs(self.tmp / "data", "8g", "POLYLAB_TEST_ENGINE_TMPFS", self.log, mode="0711"):
            self.log(f"data root {self.tmp / 'data'} is a tmpfs (up to 8 GB; POLYLAB_TEST_ENGINE_TMPFS=0: disk)")
        # An explicit config file: ignore any /etc/docker/daemon.json on the machine.
        (self.tmp / "daemon.json").write_text(json.dumps(self._daemon_config()) + "\n")
        self.host = f"unix://{self.sock}"
        # Anyone running plain `docker` with self.env gets the CLI that matches our daemon.
        (self.tmp / "bin" / "docker").symlink_to(self.docker)
        env = dict(os.environ)
        for k in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION"):
            env.pop(k, None)
        env.update(DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.tmp / "cli-config"),
                   PATH=f"{self.tmp / 'bin'}:{env.get('PATH', _SBIN_PATH)}")
        self.env = env

        # dockerd uses /run/containerd/containerd.sock whenever that path exists (a system containerd, or
        # a stale socket), sharing it with other engines. Otherwise it starts and supervises its own
        # containerd under our exec root: what we want. In the first case, start a private containerd
        # ourselves and point dockerd at it with --containerd.
        extra: list[str] = []
        if Path(SYSTEM_CONTAINERD_SOCK).exists() or os.environ.get("POLYLAB_TEST_OWN_CONTAINERD") == "1":
            extra = ["--containerd", self._start_own_containerd()]
        cmd = [self.dockerd, *DOCKERD_NETWORK_FLAGS,
               "--config-file", str(self.tmp / "daemon.json"),
               "--data-root", str(self.tmp / "data"),
               "--exec-root", str(self.tmp / "exec"),
               "--host", self.host,
               "--pidfile", str(self.pidfile),
               *extra]
        self.log(f"starting dockerd: {' '.join(cmd)}")
        self._logfh = open(self.logfile, "wb")
        t = time.monotonic()
        self._popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._logfh,
                                       stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self._daemon = _Proc(self._popen.pid)
        self._wait_ready(timeout)
        self._check_no_network()
        self.log(f"dockerd ready in {time.monotonic() - t:.1f}s at {self.host} "
                 f"(pid {self._popen.pid}, log {self.logfile})")

    def _start_own_containerd(self) -> str:
        containerd = _which("containerd")
        if not containerd:
            raise EngineError("containerd not found (install Debian's docker.io)")
        state = self.tmp / "exec" / "containerd"
        sock = state / "containerd.sock"
        conf = self.tmp / "containerd.toml"
        conf.write_text(
            "version = 2\n"
            f'root = "{self.tmp / "data" / "containerd"}"\n'
            f'state = "{state}"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'[grpc]\n  address = "{sock}"\n'
            '[debug]\n  address = ""\n'
            '[metrics]\n  address = ""\n')
        cmd = [containerd, "--config", str(conf)]
        self.log(f"a containerd socket exists at {SYSTEM_CONTAINERD_SOCK} (or POLYLAB_TEST_OWN_CONTAINERD=1): "
                 f"starting a private containerd: {' '.join(cmd)}")
        self._containerd_log = open(self.tmp / "containerd.log", "wb")
        self._containerd_popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._containerd_log,
                                                  stderr=subprocess.STDOUT, start_new_session=True)
        self._containerd = _Proc(self._containerd_popen.pid)
        deadline = time.monotonic() + 30
        while not sock.exists():
            if self._containerd_popen.poll() is not None or time.monotonic() > deadline:
                raise EngineError(f"private containerd did not come up; log tail:\n"
                                  f"{_tail(self.tmp / 'containerd.log')}")
            time.sleep(0.1)
        return str(sock)

    def _daemon_config(self) -> dict:
        # dockerd 20.10 (Debian 12) writes a trust key to /etc/docker/key.json unless its config file says
        # otherwise, with a key later versions dropped (and would reject); set it only where it is known.
        r = subprocess.run(["grep", "-q", "-a", "-F", "deprecated-key-path", self.dockerd])
        return {"deprecated-key-path": str(self.tmp / "key.json")} if r.returncode == 0 else {}

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise EngineError(f"dockerd exited with rc {self._popen.returncode}; log tail:\n"
                                  f"{_tail(self.logfile)}")
            if self.sock.exists():
                r = self.run(["info", "--format", "{{json .}}"], timeout=10)
                if r.returncode == 0:
                    info = json.loads(r.stdout)
                    self.info = info
                    self.log(f"dockerd {info.get('ServerVersion')}: storage {info.get('Driver')}, "
                             f"cgroups {info.get('CgroupDriver')} v{info.get('CgroupVersion')}, "
                             f"runtime {info.get('DefaultRuntime')}, CLI {self.docker}")
                    return
                last = (r.stderr or r.stdout).strip()
            time.sleep(0.2)
        raise EngineError(f"dockerd did not answer `docker -H {self.host} info` within {timeout:.0f}s "
                          f"({last}); log tail:\n{_tail(self.logfile)}")

    def _check_no_network(self) -> None:
        r = self.run(["network", "ls", "--format", "{{.Name}} {{.Driver}}"], check=True)
        drivers = {line.split()[1] for line in r.stdout.split("\n") if line.strip()}
        if "bridge" in drivers:
            raise EngineError(f"our dockerd created a bridge network, which is not allowed here:\n{r.stdout}")

    # use ---------------------------------------------------------------------------------------
    def run(self, args: Sequence[str], *, check: bool = False, timeout: float | None = 300,
            input: str | None = None) -> subprocess.CompletedProcess:
        """`docker -H <our socket> args`, text output captured. `run`/`create` need `--network none`."""
        args = [str(a) for a in args]
        if args and args[0] in ("run", "create") or args[:2] in (["container", "run"], ["container", "create"]):
            if not _has_network_none(args):
                raise EngineError(f"refusing `docker {' '.join(args)}`: every container must use "
                                  "--network none on this machine")
        r = subprocess.run([self.docker, "-H", self.host, *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise EngineError(f"docker {' '.join(args)} failed (rc {r.returncode}):\n{r.stderr}{r.stdout}")
        return r

    def has_image(self, name: str) -> str | None:
        """The image's hash label if `name` exists in our daemon, '' if it has none, None if absent."""
        r = self.run(["image", "inspect", "--format", "{{json .Config.Labels}}", name])
        if r.returncode != 0:
            return None
        labels = json.loads(r.stdout.strip() or "null") or {}
        return labels.get(HASH_LABEL, "")

    # stop --------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Remove our containers, stop dockerd + containerd + shims by pid, unmount, delete the temp dir."""
        if self.tmp is None:
            return
        tmp = self.tmp
        t0 = time.monotonic()
        daemon = self._daemon
        if daemon is not None and daemon.alive():
            try:
                r = self.run(["ps", "-aq"], timeout=30)
                ids = r.stdout.split()
                if ids:
                    self.log(f"teardown: removing {len(ids)} container(s)")
                    self.run(["rm", "-f", *ids], timeout=120)
            except (subprocess.TimeoutExpired, OSError) as exc:
                self.log(f"teardown: could not remove containers: {exc}")
            # The daemon's pid per its pid file (it should be the pid we started).
            try:
                pid = int(self.pidfile.read_text().strip())
                if pid != daemon.pid:
                    self.log(f"teardown: pid file says {pid}, we started {daemon.pid}; stopping ours")
            except (OSError, ValueError):
                pass
        # Everything that is ours: dockerd's descendants (its managed containerd) and any process whose
        # command line names our temp dir (containerd shims re-parent away from containerd).
        ours: list[_Proc] = []
        if daemon is not None and daemon.alive():
            ours += [_Proc(p) for p in _descendants(daemon.pid)]
        tmp_s = str(tmp) + "/"
        known = {p.pid for p in ours} | {daemon.pid if daemon else -1, os.getpid(),
                                          self._containerd.pid if self._containerd else -1}
        for pid in _all_pids():
            if pid not in known and any(tmp_s in a for a in _proc_cmdline(pid)):
                ours.append(_Proc(pid))
        reap = (lambda: self._popen.poll()) if self._popen else (lambda: None)
        if daemon is not None and daemon.alive():
            self.log(f"teardown: stopping dockerd[{daemon.pid}] (SIGTERM); also watching {ours}")
            daemon.signal(signal.SIGTERM)
            if _wait_gone([daemon], 20, reap):
                self.log("teardown: dockerd still running after 20s: SIGKILL")
                daemon.signal(signal.SIGKILL)
                _wait_gone([daemon], 5, reap)
            self.log(f"teardown: dockerd stopped after {time.monotonic() - t0:.1f}s")
        if self._containerd is not None:
            # Our private containerd (not dockerd's child): dockerd does not stop it.
            self._containerd.signal(signal.SIGTERM)
            reap_c = self._containerd_popen.poll
            if _wait_gone([self._containerd], 10, reap_c):
                self._containerd.signal(signal.SIGKILL)
                _wait_gone([self._containerd], 5, reap_c)
            self._containerd_log.close()
            self._containerd = self._containerd_popen = self._containerd_log = None
        left = _wait_gone(ours, 10)
        if left:
            self.log(f"teardown: still running after dockerd stopped: {left}: SIGTERM")
            for p in left:
                p.signal(signal.SIGTERM)
            left = _wait_gone(left, 10)
            for p in left:
                self.log(f"teardown: SIGKILL {p}")
                p.signal(signal.SIGKILL)
            _wait_gone(left, 5)
        if self._logfh:
            self._logfh.close()
            self._logfh = None
        with contextlib.suppress(OSError):
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.logfile, CACHE_DIR / "dockerd-last.log")
        t1 = time.monotonic()
        remove_tree(tmp, self.log)
        self.log(f"teardown: done in {time.monotonic() - t0:.1f}s ({tmp} removed in {time.monotonic() - t1:.1f}s, dockerd log kept at {CACHE_DIR / 'dockerd-last.log'})")
        self.tmp = None
        self._daemon = None
        self._popen = None

    def __enter__(self) -> "Engine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _has_network_none(args: Sequence[str]) -> bool:
    for i, a in enumerate(args):
        if a in ("--network", "--net") and i + 1 < len(args) and args[i + 1] == "none":
            return True
        if a in ("--network=none", "--net=none"):
            return True
    return False


# --------------------------------------------------------------------------------------------------
# 3. the test image
# --------------------------------------------------------------------------------------------------

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
    debootstrap = _which("debootstrap")
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
                               env=dict(os.environ, PATH=os.environ.get("PATH", "") + ":" + _SBIN_PATH))
        if r.returncode != 0:
            extra = _tail(root / "debootstrap" / "debootstrap.log", 20)
            raise EngineError(f"debootstrap failed (rc {r.returncode}); tail of {dlog}:\n{_tail(dlog)}\n"
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
