"""The private dockerd: `Engine` starts our own network-less dockerd (and containerd) in a short temp dir,
runs `docker` against it, and stops everything it started by pid, unmounts and deletes the temp dir."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from .common import CACHE_DIR, SBIN_PATH, EngineError, Log, stderr_log, tail, which
from .image_build import HASH_LABEL, IMAGE_NAME
from .mounts import mount_tmpfs, remove_tree
from .processes import Proc, all_pids, descendants, proc_cmdline, wait_gone

# The network rules: no bridge, no iptables/ip6tables rules, no ip_forward / masquerading changes.
DOCKERD_NETWORK_FLAGS = (
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
)
SYSTEM_CONTAINERD_SOCK = "/run/containerd/containerd.sock"


def _find_cli(dockerd: str) -> str:
    """The docker CLI from the same package as dockerd (Debian: /usr/bin/docker next to /usr/sbin/dockerd),
    not whatever client is first on PATH (this machine has an unrelated /usr/local/bin/docker)."""
    prefix = Path(dockerd).resolve().parent.parent
    for cand in (prefix / "bin" / "docker", Path("/usr/bin/docker")):
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    found = which("docker")
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
        self._daemon: Proc | None = None
        self._logfh = None
        self.info: dict = {}
        self._containerd: Proc | None = None
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
        self.dockerd = which("dockerd")
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
                   PATH=f"{self.tmp / 'bin'}:{env.get('PATH', SBIN_PATH)}")
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
        self._daemon = Proc(self._popen.pid)
        self._wait_ready(timeout)
        self._check_no_network()
        self.log(f"dockerd ready in {time.monotonic() - t:.1f}s at {self.host} "
                 f"(pid {self._popen.pid}, log {self.logfile})")

    def _start_own_containerd(self) -> str:
        containerd = which("containerd")
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
        self._containerd = Proc(self._containerd_popen.pid)
        deadline = time.monotonic() + 30
        while not sock.exists():
            if self._containerd_popen.poll() is not None or time.monotonic() > deadline:
                raise EngineError(f"private containerd did not come up; log tail:\n"
                                  f"{tail(self.tmp / 'containerd.log')}")
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
                                  f"{tail(self.logfile)}")
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
                          f"({last}); log tail:\n{tail(self.logfile)}")

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
        ours: list[Proc] = []
        if daemon is not None and daemon.alive():
            ours += [Proc(p) for p in descendants(daemon.pid)]
        tmp_s = str(tmp) + "/"
        known = {p.pid for p in ours} | {daemon.pid if daemon else -1, os.getpid(),
                                          self._containerd.pid if self._containerd else -1}
        for pid in all_pids():
            if pid not in known and any(tmp_s in a for a in proc_cmdline(pid)):
                ours.append(Proc(pid))
        reap = (lambda: self._popen.poll()) if self._popen else (lambda: None)
        if daemon is not None and daemon.alive():
            self.log(f"teardown: stopping dockerd[{daemon.pid}] (SIGTERM); also watching {ours}")
            daemon.signal(signal.SIGTERM)
            if wait_gone([daemon], 20, reap):
                self.log("teardown: dockerd still running after 20s: SIGKILL")
                daemon.signal(signal.SIGKILL)
                wait_gone([daemon], 5, reap)
            self.log(f"teardown: dockerd stopped after {time.monotonic() - t0:.1f}s")
        if self._containerd is not None:
            # Our private containerd (not dockerd's child): dockerd does not stop it.
            self._containerd.signal(signal.SIGTERM)
            reap_c = self._containerd_popen.poll
            if wait_gone([self._containerd], 10, reap_c):
                self._containerd.signal(signal.SIGKILL)
                wait_gone([self._containerd], 5, reap_c)
            self._containerd_log.close()
            self._containerd = self._containerd_popen = self._containerd_log = None
        left = wait_gone(ours, 10)
        if left:
            self.log(f"teardown: still running after dockerd stopped: {left}: SIGTERM")
            for p in left:
                p.signal(signal.SIGTERM)
            left = wait_gone(left, 10)
            for p in left:
                self.log(f"teardown: SIGKILL {p}")
                p.signal(signal.SIGKILL)
            wait_gone(left, 5)
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
