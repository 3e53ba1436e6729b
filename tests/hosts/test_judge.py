"""How a host's run is judged from the exit status it recorded and the lab's log it left: every branch of
HostRun._judge, without a host (the end-to-end faults are test_host_faults.py's, against sshd test hosts)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from polylab.hosts import commands
from polylab.hosts.hostrun import HostRun
from polylab.hosts.state import FAILED, INTERRUPTED, OK

LOG = "[3/4] cpu: go threads ×1 sum 1s (rep 1): ok 1.01 s\nerror: results/x/meta.json: disk full\nreport: done\n"


def judged(tmp_path, outcome: str, log: str = LOG, setup_log: str = "", stopped: bool = False):
    (tmp_path / commands.LOG).write_text(log)
    (tmp_path / commands.SETUP_LOG).write_text(setup_log)
    stop = threading.Event()
    if stopped:
        stop.set()
    run = SimpleNamespace(local_folder=tmp_path, stop=stop, request=SimpleNamespace(out="results/set"))
    return HostRun._judge(run, outcome)


@pytest.mark.parametrize("outcome, log, expected", [
    ("run 0", "report: done\n", (OK, None)),
    ("run 1", "[4/4] cpu: go (rep 2): failed\n", (OK, None)),   # some runs not ok: their rows say so
    ("run 1", LOG, (FAILED, "the lab stopped: error: results/x/meta.json: disk full")),
    ("run 2", LOG, (FAILED, "the lab exited 2: error: results/x/meta.json: disk full")),
    ("run 137", "[1/4] cpu: go threads ×1 sum 1s (rep 1): ok 1.01 s\n",
     (FAILED, "the lab exited 137: [1/4] cpu: go threads ×1 sum 1s (rep 1): ok 1.01 s")),
    ("run 139", "", (FAILED, "the lab exited 139: no output")),
    ("", LOG, (FAILED, "the run ended without recording its exit status (killed on the host?)")),
])
def test_the_exit_status_and_the_log_decide_the_hosts_status(tmp_path, outcome, log, expected):
    assert judged(tmp_path, outcome, log) == expected


def test_a_failed_set_up_names_its_exit_status_and_last_line(tmp_path):
    status, reason = judged(tmp_path, "setup 100", setup_log="E: Unable to locate package golang-go\n")
    assert (status, reason) == (FAILED, "set-up failed: make setup toolchains exited 100 — E: Unable to locate "
                                        "package golang-go")


@pytest.mark.parametrize("outcome, stopped", [("run 130", False), ("run 143", False), ("run 2", True)])
def test_an_interrupted_run_says_how_to_resume_it_here(tmp_path, outcome, stopped):
    status, reason = judged(tmp_path, outcome, stopped=stopped)
    assert status == INTERRUPTED
    assert reason == "stopped; finished runs kept — `invoke all --resume results/set` continues"
