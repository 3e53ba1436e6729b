"""The shell command lines a host runs, built in one place: every value in them passes through shlex.quote.

A host's run lives in its remote results folder D (relative to the remote root R, or absolute):
`D/host-run.log` (the lab's output, appended), `D/host-run.pid` (the detached wrapper: the leader of its own
session and process group), `D/host-run.rc` (`setup N` or `run N` once it ends), `D/host-setup.log`.
The wrapper is `bash`, not `sh`: on SIGINT bash waits for the lab to save what finished and exit, then
still records the lab's exit status, where dash would die at once and leave no status behind.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

LOG, PID, RC, SETUP_LOG = "host-run.log", "host-run.pid", "host-run.rc", "host-setup.log"
CONFIG = "experiments.yaml"
STOP_GRACE_S = 30        # the lab kills its run in flight and gathers its tables in well under this

# $1 = D, $2 = 1 to run `make setup toolchains` first, then the lab's argv.
WRAPPER = r"""d=$1; setup=$2; shift 2
echo $$ > "$d/host-run.pid.tmp" && mv "$d/host-run.pid.tmp" "$d/host-run.pid"
if [ "$setup" = 1 ]; then
  echo "polylab-hosts: make setup toolchains (output: host-setup.log, pulled into the set's hosts/<this host>/)"
  make setup toolchains > "$d/host-setup.log" 2>&1 < /dev/null
  rc=$?
  if [ "$rc" -ne 0 ]; then echo "setup $rc" > "$d/host-run.rc"; exit "$rc"; fi
fi
"$@"
rc=$?
echo "run $rc" > "$d/host-run.rc"
exit "$rc"
"""


def q(value) -> str:
    return shlex.quote(str(value))


def remote_root(root: str) -> str:
    """The inventory's `root` as a path the login shell's working folder (the home) resolves: `~/x` → `x`.
    A quoted `~` would not expand, and nothing here is left unquoted."""
    if root == "~":
        return "."
    return root[2:] if root.startswith("~/") else root


def in_root(root: str, command: str) -> str:
    return f"cd {q(root)} && {command}"


# Moves the unpacked tree ($1) over the root ($2) as `git checkout` would: a changed file is written and
# dated now, an unchanged one keeps its date. `make setup` reinstalls when pyproject.toml is newer than its
# stamp, and git archive dates every file at the commit's time, so unpacking in place would reinstall the
# venv (minutes) after every commit, and could miss a change committed before the last set-up.
SYNC = r"""
import filecmp, os, shutil, sys
incoming, root = sys.argv[1], sys.argv[2]
for folder, _, files in os.walk(incoming):
    target = os.path.join(root, os.path.relpath(folder, incoming))
    os.makedirs(target, exist_ok=True)
    for name in files:
        new, old = os.path.join(folder, name), os.path.join(target, name)
        if os.path.isfile(old) and not os.path.islink(new) and filecmp.cmp(new, old, shallow=False):
            continue
        os.replace(new, old)
        if not os.path.islink(old):
            os.utime(old)
shutil.rmtree(incoming)
"""
INCOMING = ".polylab-incoming"


def ship(root: str) -> str:
    """Unpack the tar on stdin (`git archive` of the commit) into R, changing only what changed."""
    incoming = q(PurePosixPath(root) / INCOMING)
    return (f"mkdir -p {q(root)} && rm -rf {incoming} && mkdir {incoming} && tar -x -C {incoming} -f - && "
            f"python3 -c {q(SYNC)} {incoming} {q(root)}")


def write_file(root: str, folder: str, name: str) -> str:
    return in_root(root, f"mkdir -p {q(folder)} && cat > {q(PurePosixPath(folder) / name)}")


def launch(root: str, folder: str, argv: list[str], setup: bool) -> str:
    """Start the wrapper detached (setsid: its own session, no terminal, so no SIGHUP when the SSH session
    ends; stdin, stdout and stderr away from the channel) and print `<pid> <log offset>`."""
    d = PurePosixPath(folder)
    log, pid = q(d / LOG), q(d / PID)
    wrapper = " ".join(q(part) for part in ["setsid", "bash", "-c", WRAPPER, "bash", str(d), "1" if setup else "0",
                                            *argv])
    return in_root(root, (
        f"mkdir -p {q(d)} && rm -f {pid} {q(d / RC)} && touch {log} && offset=$(stat -c %s {log}) && "
        f"( {wrapper} >> {log} 2>&1 < /dev/null & ) && "
        f"for _ in $(seq 100); do if [ -s {pid} ]; then echo \"$(cat {pid}) $offset\"; exit 0; fi; sleep 0.1; done; "
        f"echo 'the run did not start (no pid file)' >&2; exit 1"))


def probe(root: str, folder: str) -> str:
    """`running <pid> <log size>` while the wrapper lives (the pid checked against its command line, so a
    reused pid is not mistaken for it), else `ended <rc file's content>`."""
    d = PurePosixPath(folder)
    pid, log, rc = q(d / PID), q(d / LOG), q(d / RC)
    return (f"if ! cd {q(root)} 2>/dev/null; then echo ended; exit 0; fi; "
            f"p=$(cat {pid} 2>/dev/null); "
            f"if [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null && grep -qaF -- {q(d)} /proc/\"$p\"/cmdline; "
            f"then echo \"running $p $(stat -c %s {log})\"; else echo \"ended $(cat {rc} 2>/dev/null)\"; fi")


def follow(root: str, folder: str, pid: int, offset: int) -> str:
    """The log from byte `offset` on, until the wrapper ends."""
    return in_root(root, f"exec tail -c +{int(offset) + 1} --pid={int(pid)} -f {q(PurePosixPath(folder) / LOG)}")


def stop(pid: int) -> str:
    """SIGINT to the run's process group (the lab saves what finished and exits), then TERM and KILL if it
    outstays the grace period. Returns when the group is gone."""
    group = f"-{int(pid)}"
    ticks = STOP_GRACE_S * 10
    return (f"kill -INT -- {group} 2>/dev/null; "
            f"for _ in $(seq {ticks}); do kill -0 -- {group} 2>/dev/null || exit 0; sleep 0.1; done; "
            f"kill -TERM -- {group} 2>/dev/null; sleep 3; kill -KILL -- {group} 2>/dev/null; exit 0")


def pull(root: str, folder: str) -> str:
    return in_root(root, f"tar -C {q(folder)} -cf - .")


DESCRIBE = "uname -s; uname -r; uname -m; nproc; hostname"


def parse_describe(text: str) -> dict:
    """What DESCRIBE prints, as the first lines of a machine description (the lab's own, in the host's
    meta.json, replaces it once the run has written one)."""
    lines = text.split("\n")
    if len(lines) < 5:
        return {}
    system, kernel, arch, cores, hostname = (line.strip() for line in lines[:5])
    return {"os": system, "kernel": kernel, "arch": arch, "hostname": hostname,
            "logical_cores": int(cores) if cores.isdigit() else None}
