"""`invoke all --hosts h1,h2`: the same profile on several machines at once, merged into one results set.

Each host runs in its own thread (`--serial`: one after the other). Ctrl-C (or SIGTERM) stops the run on
every host, pulls what finished, merges and exits 130 (143); a second signal meanwhile is ignored, as on one
machine. A host that fails is recorded with its reason and the others go on.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from polylab.config.errors import UserError
from polylab.console import say
from polylab.hosts.hostrun import HostRun, Request
from polylab.hosts.inventory import Host, select_hosts
from polylab.hosts.merge import merge
from polylab.hosts.state import CHECKOUT, HOSTS, OK, Ledger
from polylab.results import store
from polylab.run.lab import load_lab, parse_lang_list, select_langs

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
WAIT_S = 0.25


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(CHECKOUT), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise UserError(f"cannot ship this tree to the hosts: `git {' '.join(args)}` failed in {CHECKOUT} "
                        f"({done.stderr.strip() or done.returncode}); the hosts run a commit of a git checkout")
    return done.stdout.strip()


def current_commit() -> str:
    commit = _git("rev-parse", "HEAD")
    if _git("status", "--porcelain", "--untracked-files=no"):
        say(f"note: local changes are not shipped: the hosts run commit {commit[:12]} as committed")
    return commit


def _new_set(options: dict, hosts: list[Host], out: str | None) -> tuple[Ledger, Request]:
    lab = load_lab(options.get("config"))         # a typo in the profile or languages stops here, before SSH
    lab.profile(options.get("profile"))
    select_langs(lab, parse_lang_list(options.get("langs")))
    # `local` runs this working tree; only other hosts need a commit to ship.
    commit = current_commit() if any(not host.is_local for host in hosts) else None
    directory = Path(out).resolve() if out else store.new_results_dir(CHECKOUT / "results")
    (directory / HOSTS).mkdir(parents=True, exist_ok=True)
    config = options.get("config")
    request = {"profile": options.get("profile") or lab.config.default_profile, "langs": options.get("langs"),
               "backend": options.get("backend"), "strict": bool(options.get("strict")),
               "config": str(Path(config).resolve()) if config else None, "commit": commit,
               # unique on the hosts, where sets of several local folders (of the same name) may meet
               "set_id": f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"}
    ledger = Ledger.start(directory, request, hosts)
    if directory.parent.name == "results":
        store.point_latest(directory)
    return ledger, _request(directory, request)


def _request(out: Path, saved: dict) -> Request:
    return Request(out=out, commit=saved["commit"], set_id=saved["set_id"], profile=saved["profile"],
                   langs=saved["langs"], backend=saved["backend"], strict=saved["strict"],
                   config=Path(saved["config"]) if saved.get("config") else None)


def _refuse_another_plan(directory: Path, saved: dict, options: dict) -> None:
    """--resume continues the hosts with the request the set was started with: a profile, languages or
    experiments file given again must be that one (each host's own set is held to its plan as well)."""
    config = options.get("config")
    given = {"profile": options.get("profile"), "langs": options.get("langs"),
             "config": str(Path(config).resolve()) if config else None}
    for key, value in given.items():
        if value is not None and value != saved.get(key):
            raise UserError(f"{directory} was run with --{key} {saved.get(key) or '(the default)'}; --resume with "
                            f"--{key} {value} would mix them — resume without --{key}, or start a new set")


def run_on_hosts(*, hosts: str | None = None, resume=None, out: str | None = None, serial: bool = False,
                 inventory: str | None = None, accept_new_host_keys: bool = False, **options) -> tuple[Path, int]:
    """Run the profile on the hosts (or continue the hosts set `resume`); returns (results folder, exit code).
    options: profile, langs, config, backend, strict, as for one machine."""
    if options.pop("images", None):
        raise UserError("--image is not passed to hosts yet: set `images:` in experiments.yaml instead")
    if options.pop("extend", False):
        raise UserError("--extend is not passed to hosts yet: start a new set with the languages you want")
    if resume:
        if hosts:
            raise UserError("--resume continues the hosts the set was started on: leave out --hosts")
        directory = store.resume_folder(resume, CHECKOUT)
        ledger = Ledger.load(directory)
        _refuse_another_plan(directory, ledger.request, options)
        request = _request(directory, ledger.request)
        todo = [host for host in ledger.hosts() if ledger.status(host.name) != OK]
        done = [host.name for host in ledger.hosts() if ledger.status(host.name) == OK]
        say(f"resuming {directory}: {', '.join(h.name for h in todo) or 'nothing'} to continue"
            + (f"; done already: {', '.join(done)}" if done else ""))
    else:
        selected = select_hosts(hosts or "", Path(inventory) if inventory else None, CHECKOUT)
        ledger, request = _new_set(options, selected, out)
        todo = selected
        say(f"profile '{request.profile}' on {', '.join(h.name for h in todo)} "
            f"({'one after another' if serial else 'at once'})"
            + (f", commit {request.commit[:12]}" if request.commit else "") + f" → {request.out}")
    runs = [HostRun(host, request, ledger, threading.Event(), accept_new_host_keys) for host in todo]
    signum = _run_all(runs, serial, resuming=bool(resume))
    return request.out, _summarise(request.out, signum)


def _run_all(runs: list[HostRun], serial: bool, resuming: bool) -> int | None:
    """Every host's run, in threads; returns the signal that interrupted them, if any."""
    received: list[int] = []

    def on_signal(signum, _frame):
        if not received:         # a second Ctrl-C while the hosts stop must not cut the pulls short
            received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in EXIT_CODES}
    stoppers: list[threading.Thread] = []
    try:
        with ThreadPoolExecutor(max_workers=1 if serial else max(len(runs), 1), thread_name_prefix="host") as pool:
            pending = {pool.submit(run.execute, resuming and _was_started(run)) for run in runs}
            while pending:
                _, pending = wait(pending, timeout=WAIT_S)
                if received and not stoppers:
                    say("interrupted: stopping the run on every host, then pulling what finished …")
                    for run in runs:
                        run.stop.set()
                        stoppers.append(threading.Thread(target=run.stop_run, name=f"stop-{run.host.name}"))
                        stoppers[-1].start()
            for stopper in stoppers:
                stopper.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return received[0] if received else None


def _was_started(run: HostRun) -> bool:
    """A host resumed with --resume: its remote folder may hold finished runs (or a run still going)."""
    return "remote_folder" in run.ledger.record(run.host.name)


def _summarise(out: Path, signum: int | None) -> int:
    counts = merge(out)
    ledger = Ledger.load(out)
    all_ok = True
    for name, (rows, ok) in counts.items():
        record = ledger.record(name)
        machine = record.get("machine") or {}
        where = ", ".join(str(part) for part in (machine.get("cpu_model"), machine.get("logical_cores") and
                                                 f"{machine['logical_cores']} cores") if part)
        say(f"{name}: {record['status']}, {rows} rows, {ok} ok" + (f" ({where})" if where else ""))
        all_ok &= record["status"] == OK and rows == ok
    total = sum(rows for rows, _ in counts.values())
    say(f"merged {total} rows from {len(counts)} hosts → {out / 'runs.jsonl'}")
    if signum is not None or any(ledger.status(name) != OK for name in counts):
        say(f"continue with `invoke all --resume {out}`")
    if signum is not None:
        return EXIT_CODES[signum]
    return 0 if all_ok else 1
