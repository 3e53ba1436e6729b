"""How the sampler tests run a program: as the runner does, sampled from spawn to exit."""

import os
import subprocess
import sys
import time

from polylab.sample.sampler import Sampler

MB = 1 << 20


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def sampled_run(sampler: Sampler, argv: list[str]):
    """Run argv as the runner does; return (RunSamples, wait4's rusage, wall seconds)."""
    sampler.begin()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, start_new_session=True)
    sampler.attach(proc.pid, t0)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    sampler.final()
    wall_s = time.monotonic() - t0
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    return sampler.end(), usage, wall_s


def cpu_s(usage) -> float:
    return usage.ru_utime + usage.ru_stime
