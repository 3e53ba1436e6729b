"""Where a host's commands run: over SSH with Fabric (paramiko underneath), or on this machine for `local`.

Both take the same command lines (polylab.hosts.commands) and offer the same four operations: run a short
command, follow a command's output line by line, send bytes to a command's stdin, and unpack a tar a command
writes. Binary data goes over raw paramiko channels: Fabric's `run` decodes output as text.

Host keys are checked against the inventory's known_hosts file (default ~/.ssh/known_hosts) with paramiko's
RejectPolicy; `--accept-new-host-keys` adds a key the file does not hold yet. A key that differs from the
one on file is refused by paramiko whatever the policy (BadHostKeyException), and never written.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Callable, Iterable

import paramiko
from fabric import Connection
from invoke.exceptions import CommandTimedOut

from polylab.hosts.inventory import Host

CONNECT_TIMEOUT_S = 10
KEEPALIVE_S = 15
_known_hosts_lock = threading.Lock()


class HostDown(Exception):
    """The host cannot be used: unreachable, refused, or its key is wrong. str() is the one-line reason."""


class ConnectionLost(Exception):
    """The SSH connection broke while a command ran on the host."""


class LineWriter:
    """A text stream that hands each complete line to `on_line` (Fabric writes output in arbitrary chunks)."""

    def __init__(self, on_line: Callable[[str], None]):
        self.on_line, self.pending = on_line, ""

    def write(self, text: str) -> None:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.on_line(line)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.pending:
            self.on_line(self.pending)
            self.pending = ""


class AddNewHostKeys(paramiko.MissingHostKeyPolicy):
    """Accept a host key that known_hosts does not hold yet, and append it there; says so in one line."""

    def __init__(self, known_hosts: Path, say: Callable[[str], None]):
        self.known_hosts, self.say = known_hosts, say

    def missing_host_key(self, client, hostname, key):
        with _known_hosts_lock:
            with open(self.known_hosts, "a", encoding="ascii") as file:
                file.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.say(f"new host key {key.get_name()} {key.fingerprint} for {hostname} added to {self.known_hosts} "
                 f"(--accept-new-host-keys)")


def expand(path: str) -> Path:
    return Path(os.path.expanduser(path))


def why_down(exc: BaseException, host: Host, known_hosts: Path) -> str:
    """One line for each way connecting can fail."""
    where = f"{host.address}:{host.port}"
    if isinstance(exc, paramiko.BadHostKeyException):
        return (f"host key mismatch: {where} offered {exc.key.get_name()} {exc.key.fingerprint}, but {known_hosts} "
                f"holds another key for it — refused; if the host was reinstalled, remove its line from "
                f"{known_hosts} and connect again")
    if isinstance(exc, paramiko.AuthenticationException):
        how = f"with key {host.key}" if host.key else "with the SSH agent and ~/.ssh keys"
        return f"authentication failed: {host.user}@{where} refused {how}"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return (f"host key unknown: {where} is not in {known_hosts} — check the key and add it (connect once "
                f"with ssh), or pass --accept-new-host-keys")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        reasons = {error.strerror or str(error) for error in exc.errors.values()}
        return f"unreachable: {where}: {'; '.join(sorted(reasons))}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"unreachable: {where}: no answer within {CONNECT_TIMEOUT_S} s"
    if isinstance(exc, OSError):
        return f"unreachable: {where}: {exc.strerror or exc}"
    return f"SSH error with {where}: {exc}"


class RemoteTarget:
    """A host over SSH."""

    def __init__(self, host: Host, accept_new_host_keys: bool, say: Callable[[str], None]):
        self.host, self.accept_new, self.say = host, accept_new_host_keys, say
        self.connection: Connection | None = None

    def open(self) -> None:
        host = self.host
        known_hosts = expand(host.known_hosts)
        connect_kwargs = {}
        if host.key:      # exactly this key: no agent, no ~/.ssh/id_* tried behind the user's back
            key = expand(host.key)
            if not key.is_file():
                raise HostDown(f"key file {host.key} does not exist")
            connect_kwargs = {"key_filename": str(key), "look_for_keys": False, "allow_agent": False}
        connection = Connection(host.address, user=host.user, port=host.port, connect_timeout=CONNECT_TIMEOUT_S,
                                connect_kwargs=connect_kwargs)
        client = connection.client
        if self.accept_new and not known_hosts.exists():
            known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            known_hosts.touch(mode=0o600)
        if known_hosts.exists():
            client.load_host_keys(str(known_hosts))
        client.set_missing_host_key_policy(AddNewHostKeys(known_hosts, self.say) if self.accept_new
                                           else paramiko.RejectPolicy())
        try:
            connection.open()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            connection.close()
            raise HostDown(why_down(exc, host, known_hosts)) from None
        connection.transport.set_keepalive(KEEPALIVE_S)
        self.connection = connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()

    def _channel(self, command: str) -> paramiko.Channel:
        transport = self.connection.transport
        if transport is None or not transport.is_active():
            raise ConnectionLost("the SSH connection is closed")
        channel = transport.open_session()
        channel.exec_command(command)
        return channel

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """(exit status, stdout + stderr) of a short command."""
        try:
            result = self.connection.run(command, hide=True, warn=True, in_stream=False, timeout=timeout)
        except CommandTimedOut:
            raise ConnectionLost(f"no answer within {timeout:g} s") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectionLost(str(exc) or type(exc).__name__) from None
        if result.exited == -1:    # paramiko's "no exit status": the channel closed under the command
            raise ConnectionLost("the SSH connection closed during a command")
        return result.exited, result.stdout + result.stderr

    def follow(self, command: str, on_line: Callable[[str], None]) -> int:
        writer = LineWriter(on_line)
        try:
            result = self.connection.run(command, hide=True, warn=True, in_stream=False, out_stream=writer,
                                         err_stream=writer)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectionLost(str(exc) or type(exc).__name__) from None
        writer.close()
        if result.exited == -1 or not self.connection.is_connected:
            raise ConnectionLost("the SSH connection closed")
        return result.exited

    def send(self, command: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        try:
            channel = self._channel(command)
            for chunk in chunks:
                channel.sendall(chunk)
            channel.shutdown_write()
            errors = channel.makefile_stderr("rb").read().decode(errors="replace")
            return channel.recv_exit_status(), errors
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectionLost(str(exc) or type(exc).__name__) from None

    def unpack(self, command: str, into: Path) -> tuple[int, str]:
        """Extract the tar that `command` writes to stdout into `into` (no absolute paths, no links out)."""
        try:
            channel = self._channel(command)
            with channel.makefile("rb") as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
                archive.extractall(into, filter="data")
            errors = channel.makefile_stderr("rb").read().decode(errors="replace")
            return channel.recv_exit_status(), errors
        except (paramiko.SSHException, OSError, EOFError, tarfile.TarError) as exc:
            raise ConnectionLost(f"pulling the results failed: {exc}") from None


class LocalTarget:
    """`local`: this machine, through bash in a subprocess (the same command lines as a remote host)."""

    def __init__(self, host: Host):
        self.host = host

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        return done.returncode, done.stdout + done.stderr

    def follow(self, command: str, on_line: Callable[[str], None]) -> int:
        with subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL) as process:
            for line in process.stdout:
                on_line(line.rstrip("\n"))
        return process.returncode

    def send(self, command: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        done = subprocess.run(["bash", "-c", command], input=b"".join(chunks), capture_output=True)
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    def unpack(self, command: str, into: Path) -> tuple[int, str]:
        raise NotImplementedError("a local host writes its results in place")


def target_for(host: Host, accept_new_host_keys: bool, say: Callable[[str], None]):
    return LocalTarget(host) if host.is_local else RemoteTarget(host, accept_new_host_keys, say)
