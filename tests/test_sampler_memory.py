"""The sampler's memory figures: each process's peak (VmHWM) and the tree's, counted once (PSS)."""

import os
import subprocess
import time

import pytest

from polylab.sample import procfs
from polylab.sample.sampler import Sampler
from sampled import MB, python, sampled_run

# Each child allocates (and touches: bytearray zero-fills) 60 MB; the parent allocates nothing of its own.
CHILDREN_ALLOCATING = r"""
import multiprocessing, time
def work():
    held = bytearray(60 << 20)
    time.sleep(0.5)
if __name__ == "__main__":
    children = [multiprocessing.get_context("fork").Process(target=work) for _ in range(2)]
    [c.start() for c in children]
    [c.join() for c in children]
"""


# The parent touches 80 MB and forks four children that only sleep: every page is shared by five processes.
SHARING_CHILDREN = r"""
import os, sys, time
shared = bytearray(80 << 20)
children = []
for _ in range(4):
    child = os.fork()
    if child == 0:
        time.sleep(2.5)
        os._exit(0)
    children.append(child)
print("forked", flush=True)
for child in children:
    os.waitpid(child, 0)
"""



@pytest.fixture(scope="module")
def sampler():
    with Sampler(hz=20.0) as sampler:
        yield sampler


def test_peak_memory_of_a_child_that_allocates_100_mb(sampler):
    run, _, _ = sampled_run(sampler, python("b = bytearray(100 << 20); import time; time.sleep(0.6)"))
    assert 100 * MB <= run.peak_rss_bytes < 200 * MB
    assert run.summary.tree_rss_bytes == run.peak_rss_bytes  # a tree of one


def test_the_orchestrators_own_memory_does_not_leak_into_the_runs_peak(sampler):
    held = bytearray(300 << 20)  # resident in this process, which forks (or vforks) the run
    run, usage, _ = sampled_run(sampler, ["sleep", "0.5"])
    assert len(held) and usage.ru_maxrss * 1024 >= 300 * MB  # the premise: ru_maxrss carries our peak
    assert 0 < run.peak_rss_bytes < 50 * MB


def test_a_rise_that_fell_back_between_samples_is_still_seen():
    # At 1 Hz the first sample comes after the 100 MB are freed: only VmHWM can still show them.
    with Sampler(hz=1) as slow_sampler:
        run, _, _ = sampled_run(slow_sampler, python("b = bytearray(100 << 20); del b; import time; time.sleep(1.8)"))
    assert run.peak_rss_bytes >= 100 * MB


def test_after_exec_the_peak_is_the_new_programs(sampler):
    # sleep outlives the next VmHWM read, due a second after the first one.
    code = "import os; b = bytearray(200 << 20); os.execvp('sleep', ['sleep', '1.8'])"
    run, _, _ = sampled_run(sampler, python(code))
    assert 0 < run.peak_rss_bytes < 50 * MB


def test_processes_peak_memory_sums_every_process(sampler):
    run, _, _ = sampled_run(sampler, python(CHILDREN_ALLOCATING))
    peak, tree_peak = run.peak_rss_bytes, run.summary.tree_rss_bytes
    assert 60 * MB <= peak < 120 * MB  # one child's
    assert tree_peak >= 2 * 60 * MB + 1 * MB  # both children's and their parent's


def _tree_pss_now(root: int) -> int:
    """Σ Pss of root and its children, read here as a person checking the lab would (smaps_rollup)."""
    tree = [root] + [pid for pid in procfs.list_pids() if _parent_of(pid) == root]
    readings = [procfs.read_memory_map_file(f"/proc/{pid}/smaps_rollup") for pid in tree]
    return sum(procfs.parse_pss(data) for data in readings if data)


def _parent_of(pid: int) -> int | None:
    stat_file = procfs.PinnedFile.open_if_present(f"/proc/{pid}/stat")
    data = stat_file and stat_file.read()
    if stat_file:
        stat_file.close()
    return procfs.parse_stat(data).ppid if data else None


def test_a_tree_that_shares_its_pages_after_fork_counts_them_once(sampler):
    """A parent touches 80 MB, then forks four children that keep them shared: Σ Rss is five times 80 MB,
    Σ Pss (what the tree costs) about 80 MB, and the sampler's tree memory agrees with Σ Pss read alongside."""
    sampler.begin()
    t0 = time.monotonic()
    proc = subprocess.Popen(python(SHARING_CHILDREN), start_new_session=True, stdout=subprocess.PIPE)
    sampler.attach(proc.pid, t0)
    assert proc.stdout.readline() == b"forked\n"
    time.sleep(1.2)   # a tree reading is due at least once a second
    alongside = _tree_pss_now(proc.pid)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    sampler.final()
    proc.wait()
    run = sampler.end()
    summary = run.summary
    assert summary.tree_rss_bytes >= 5 * 80 * MB
    assert 80 * MB <= alongside < 120 * MB
    assert summary.tree_pss_bytes == pytest.approx(alongside, rel=0.2)
    assert summary.tree_pss_bytes < 0.4 * summary.tree_rss_bytes


def _pss_reads(monkeypatch, root: int, cost_s: float, before_sample=lambda step: None) -> tuple[list, object]:
    """Sample root's tree 62 times on a made-up clock (every 0.05 s, the last final), a PSS reading costing
    cost_s: the times at which a process's PSS was read (an entry per process), and the tree."""
    from polylab.sample import tree as tree_module
    tree = tree_module.ProcessTree(procfs.probe_thread_files())
    tree.attach(root)
    reads, cpu, now = [], iter(range(1000)), 0.0
    real_read = procfs.read_memory_map_file
    monkeypatch.setattr(tree_module.procfs, "read_memory_map_file", lambda path: reads.append(now) or real_read(path))
    monkeypatch.setattr(tree_module.time, "process_time", lambda: next(cpu) * cost_s)  # a reading: 2 calls
    for step in range(62):
        now = step * 0.05
        before_sample(step)
        tree.sample(now, final=step == 61, attributed_ns=[0] * os.cpu_count() * 2)
    tree.close()
    return reads, tree


@pytest.mark.parametrize("cost_s, read_at", [
    (0.0001, [0.0, 1.0, 2.0, 3.0, 3.05]),   # cheap: once a second, and at the end
    (0.01, [0.0, 2.0, 3.05]),               # 10 ms a reading: no more than 0.5 % of the time, so every 2 s
])
def test_the_trees_pss_is_read_at_most_once_a_second_and_within_its_cpu_budget(monkeypatch, cost_s, read_at):
    """The tree's PSS readings, on a made-up clock: every process at once, when due and at the final sample."""
    child = subprocess.Popen(["sleep", "10"])
    try:
        reads, tree = _pss_reads(monkeypatch, child.pid, cost_s)
        assert reads == pytest.approx(read_at)
        assert 100 * 1024 < tree.tree_pss_peak_bytes < 5 * MB     # sleep's share of what it maps
    finally:
        child.kill()
        child.wait()


# Roots that start a worker when told to (a line on stdin), as both modes start theirs after start-up.
STARTS_A_CHILD_ON_CUE = "import subprocess, sys\nsys.stdin.readline()\nsubprocess.Popen(['sleep', '10']).wait()"
STARTS_A_THREAD_ON_CUE = ("import sys, threading, time\nsys.stdin.readline()\n"
                          "threading.Thread(target=time.sleep, args=(10,)).start()\nprint('started', flush=True)")


@pytest.mark.parametrize("source, read_at", [
    (STARTS_A_CHILD_ON_CUE, [0.0, 1.05, 1.05, 2.0, 2.0, 3.05, 3.05]),   # an entry per process read: two from 1.05
    (STARTS_A_THREAD_ON_CUE, [0.0, 1.05, 2.0, 3.05]),
], ids=["process", "thread"])
def test_a_worker_joining_the_tree_gets_an_extra_pss_reading_at_the_next_sample(monkeypatch, source, read_at):
    """On a made-up clock, 10 ms a reading (every 2 s by the budget): a worker (a child, or a thread) that joins
    at 1.0 s gets the tree read at 1.05 s, the sample after it was found, an extra reading that leaves the
    periodic ones at 0, 2 s and the final sample."""
    root = subprocess.Popen(python(source), stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def start_the_worker_at_1_s(step: int) -> None:   # it exists before the sample at 1.0 s looks
        if step != 20:
            return
        root.stdin.write(b"go\n")
        root.stdin.flush()
        deadline = time.monotonic() + 5
        while not ([pid for pid in procfs.list_pids() if _parent_of(pid) == root.pid]
                   or len(procfs.list_tids(root.pid)) > 1):
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.01)
    try:
        reads, _ = _pss_reads(monkeypatch, root.pid, 0.01, start_the_worker_at_1_s)
        assert reads == pytest.approx(read_at)
    finally:
        for pid in [pid for pid in procfs.list_pids() if _parent_of(pid) == root.pid]:
            os.kill(pid, 9)
        root.kill()
        root.wait()


