"""Real SSH test hosts: Debian's openssh-server, one sshd per host on its own loopback address.

Each TestHost has a folder with its ed25519 host key, a user key, authorized_keys, known_hosts and
sshd_config (ListenAddress 127.0.0.N:2222, PidFile inside the folder, no passwords, no PAM). sshd is
started with `-f <config> -E <log>` (it daemonises) and stopped by the pid in its PidFile. Every session it
serves gets PATH (this machine's, so the toolchains are found as here) and a tag variable, so a test can
find every process the hosts started, wherever it was re-parented.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

SSHD = Path("/usr/sbin/sshd")
PORT = 2222
TAG = "POLYLAB_HOSTS_TEST"


def _no_service_starts():
    """Installing openssh-server must not start the system's ssh service (it would listen on every address).
    Debian's invoke-rc.d honours /usr/sbin/policy-rc.d (exit 101 = "don't start"); one is added for the
    install if the machine has none."""
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def temporary():
        policy.write_text("#!/bin/sh\n# temporary, written by polylab tests/hosts\nexit 101\n")
        policy.chmod(0o755)
        try:
            yield
        finally:
            policy.unlink(missing_ok=True)
    return temporary()


def ensure_openssh_server() -> None:
    if SSHD.exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError("the SSH test hosts need Debian's openssh-server: apt-get install openssh-server")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300",
               "openssh-server"]
    with _no_service_starts():
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
            subprocess.run(install, env=env, capture_output=True, check=True)


def keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


class TestHost:
    __test__ = False        # not a pytest class

    def __init__(self, name: str, address: str, folder: Path, tag: str, env: dict[str, str] | None = None):
        """`env`: more variables for its sessions (a host set up unlike the others)."""
        assert address.startswith("127."), "test hosts listen on 127.0.0.0/8 only"
        self.name, self.address, self.folder, self.tag = name, address, folder, tag
        folder.mkdir(parents=True, exist_ok=True)
        self.host_key = keygen(folder / "host_ed25519", f"{name}-host")
        self.user_key = keygen(folder / "user_ed25519", f"{name}-user")
        (folder / "authorized_keys").write_text(Path(f"{self.user_key}.pub").read_text())
        self.known_hosts = folder / "known_hosts"
        self.known_hosts.write_text(self.known_hosts_line())
        self.pid_file, self.log = folder / "sshd.pid", folder / "sshd.log"
        self.config = folder / "sshd_config"
        variables = {"PATH": os.environ["PATH"], TAG: tag, **(env or {})}
        self.config.write_text("\n".join([
            f"ListenAddress {address}:{PORT}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            f"PidFile {self.pid_file}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "SetEnv " + " ".join(f"{key}={value}" for key, value in variables.items()),
            "",
        ]))

    @property
    def ssh(self) -> str:
        return f"{psutil.Process().username()}@{self.address}:{PORT}"

    def known_hosts_line(self) -> str:
        key_type, key = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[{self.address}]:{PORT} {key_type} {key}\n"

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)
        subprocess.run([str(SSHD), "-f", str(self.config), "-E", str(self.log)], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.address, PORT), timeout=1):
                if self.pid_file.exists():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"sshd for {self.name} did not start: {self.log.read_text()[-2000:]}")

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text())
        except (OSError, ValueError):
            return None

    def _daemon_and_sessions(self) -> list[psutil.Process]:
        pid = self.pid()
        if pid is None:
            return []
        try:
            daemon = psutil.Process(pid)
            return [daemon, *daemon.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def drop(self) -> None:
        """The host drops off the network: sshd and every session it serves die at once (SIGKILL). What was
        started detached from the sessions (the lab's run) is not among them and keeps going."""
        for process in self._daemon_and_sessions():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        """sshd ends by the pid in its PidFile; sessions still open are ended with it."""
        processes = self._daemon_and_sessions()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        psutil.wait_procs(processes, timeout=5)
        self.pid_file.unlink(missing_ok=True)


def tagged_processes(tag: str) -> list[psutil.Process]:
    """Processes whose environment carries the tag: everything the hosts' sessions (and an invoke run with
    the tag) started, at any depth."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            if process.environ().get(TAG) == tag:
                found.append(process)
    return found


def leftover_processes(tag: str, grace_s: float = 5) -> list[str]:
    """Tagged processes still alive after a grace period (killed, then listed)."""
    deadline = time.monotonic() + grace_s
    while (alive := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return [f"{p.pid}: {' '.join(p.info['cmdline'] or [])}" for p in alive]
