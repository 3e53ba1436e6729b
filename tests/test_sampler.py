import os
import subprocess
import sys
import time

import pytest

from polylab.sample import procfs
from polylab.results.schema import SAMPLE_COLUMNS, THREAD_COLUMNS
from polylab.sample.sampler import RunSamples, Sampler

HZ = 20.0

# Workers spin on CPU time, not wall time, so each run burns the same CPU however busy the machine is.
NAMED_THREADS = r"""
import ctypes, threading, time
def work(i):
    ctypes.CDLL(None).prctl(15, f"worker-{i}".encode(), 0, 0, 0)  # PR_SET_NAME
    while time.thread_time() < 0.35:
        pass
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
"""

CHILD_PROCESSES = r"""
import multiprocessing, time
def work():
    while time.process_time() < 0.75:
        pass
if __name__ == "__main__":
    children = [multiprocessing.get_context("fork").Process(target=work) for _ in range(2)]
    [c.start() for c in children]
    [c.join() for c in children]
    time.sleep(0.2)  # the children are gone and reaped well before their parent exits
"""

MB = 1 << 20

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


@pytest.fixture(scope="module")
def sampler():
    with Sampler(hz=HZ) as sampler:
        yield sampler


@pytest.fixture(scope="module")
def threads_run(sampler):
    return sampled_run(sampler, python(NAMED_THREADS))


@pytest.fixture(scope="module")
def processes_run(sampler):
    return sampled_run(sampler, python(CHILD_PROCESSES))


@pytest.mark.parametrize("hz", [0.5, 0, 51, 100])
def test_rates_outside_1_to_50_hz_are_refused(hz):
    with pytest.raises(ValueError, match="between 1 and 50 Hz"):
        Sampler(hz=hz)


def test_samples_come_at_the_configured_rate(threads_run):
    run, _, wall_s = threads_run
    assert abs(run.summary.samples - HZ * wall_s) <= 2
    assert run.summary.interval_s == pytest.approx(1 / HZ, rel=0.1)


def test_every_sample_has_a_row_per_core_with_percentages_in_range(threads_run):
    run, _, _ = threads_run
    cores = set(procfs.parse_core_ticks(open("/proc/stat", "rb").read()))
    rows_by_time = {}
    for t_s, core, system_pct, workload_pct in run.samples:
        rows_by_time.setdefault(t_s, set()).add(core)
        assert 0.0 <= system_pct <= 100.0
        assert 0.0 <= workload_pct <= 100.0
    assert all(seen == cores for seen in rows_by_time.values())
    assert len(rows_by_time) >= run.summary.samples
    assert max(row[3] for row in run.samples) > 50.0  # a busy run shows on some core


def test_times_are_relative_to_spawn_and_ordered(threads_run):
    run, _, wall_s = threads_run
    sample_times = [row[0] for row in run.samples]
    assert sample_times == sorted(sample_times)
    assert -1 / HZ < sample_times[0] and sample_times[-1] <= wall_s
    assert all(0.0 < row[0] <= wall_s for row in run.threads)


def test_threads_table_shows_every_named_thread(threads_run):
    run, _, _ = threads_run
    assert all(len(row) == len(THREAD_COLUMNS) for row in run.threads)
    names = {row[2]: row[3] for row in run.threads}  # tid -> name
    assert len(names) == 5  # the main thread and four workers
    assert sorted(name for name in names.values() if name.startswith("worker-")) == [
        "worker-0", "worker-1", "worker-2", "worker-3"
    ]
    assert run.summary.threads_max == 5
    last_cpu_by_tid = {row[2]: row[5] for row in run.threads}
    assert all(last_cpu_by_tid[tid] >= 0.3 for tid, name in names.items() if name.startswith("worker-"))


def test_threaded_cpu_agrees_with_wait4(threads_run):
    run, usage, _ = threads_run
    wait4_cpu_s = cpu_s(usage)
    assert wait4_cpu_s >= 1.0
    assert run.summary.workload_cpu_s / wait4_cpu_s == pytest.approx(1.0, abs=0.05)


def test_child_processes_cpu_agrees_with_wait4(processes_run):
    run, usage, _ = processes_run
    wait4_cpu_s = cpu_s(usage)
    assert wait4_cpu_s >= 1.0
    assert run.summary.workload_cpu_s / wait4_cpu_s == pytest.approx(1.0, abs=0.05)
    assert len({row[1] for row in run.threads}) == 3  # the parent and both children were seen


def test_the_runs_own_processes_are_not_other_programs(processes_run):
    run, usage, _ = processes_run
    assert cpu_s(usage) >= 1.0 and 0 <= run.summary.other_programs_cpu_s < 0.1 * cpu_s(usage)
    assert run.summary.kernel_threads_cpu_s >= 0


def test_a_program_busy_beside_the_run_is_counted_as_another_program(sampler):
    beside = subprocess.Popen(python("while True: pass"))
    try:
        time.sleep(0.3)  # it is running before the run begins: only its CPU during the run counts
        run, usage, wall_s = sampled_run(sampler, python("import time\nwhile time.process_time() < 0.6: pass"))
    finally:
        beside.kill()
        beside.wait()
    assert cpu_s(usage) >= 0.6
    # On two cores the two spinners each get close to one; the run's own 0.6 s is not in the count. The count
    # spans begin() to final(), a little more than the wall time, and each process's CPU moves by 10 ms ticks.
    assert 0.6 * wall_s <= run.summary.other_programs_cpu_s <= wall_s + 0.1


def test_per_core_busy_adds_up_to_the_workload_cpu(threads_run, processes_run):
    for run, _, _ in (threads_run, processes_run):
        summary = run.summary
        assert len(summary.per_core_busy_s) >= len(set(row[1] for row in run.samples))
        assert sum(summary.per_core_busy_s) == pytest.approx(summary.workload_cpu_s, abs=1e-6)
        assert 0.0 <= summary.unplaced_cpu_s <= summary.workload_cpu_s


def test_summary_counts_migrations_and_the_samplers_own_cpu(threads_run):
    run, _, wall_s = threads_run
    last_migrations = {row[2]: row[8] for row in run.threads}
    assert run.summary.sampler_migrations == sum(last_migrations.values())
    assert 0.0 < run.summary.sampler_cpu_s < wall_s


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


def test_processes_peak_memory_sums_every_process(sampler, processes_run):
    run, _, _ = sampled_run(sampler, python(CHILDREN_ALLOCATING))
    peak, tree_peak = run.peak_rss_bytes, run.summary.tree_rss_bytes
    assert 60 * MB <= peak < 120 * MB  # one child's
    assert tree_peak >= 2 * 60 * MB + 1 * MB  # both children's and their parent's
    run, _, _ = processes_run  # three processes that allocate nothing much
    assert run.summary.tree_rss_bytes >= 2 * run.peak_rss_bytes


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


# A stand-in for perf stat: it holds 100 MB of its own and runs two children that each touch 60 MB and burn CPU.
WRAPPER = r"""
import subprocess, sys
held = bytearray(100 << 20)
child = "import time\nb = bytearray(60 << 20)\nwhile time.process_time() < 0.4: pass\ntime.sleep(0.6)"
children = [subprocess.Popen([sys.executable, "-c", child]) for _ in range(2)]
[c.wait() for c in children]
"""


def sample_under_a_wrapper(sampler, source):
    """Run source as a wrapper root (as perf stat is run), its children sampled; the run and its rusage."""
    sampler.begin()
    t0 = time.monotonic()
    proc = subprocess.Popen(python(source), start_new_session=True)
    sampler.attach(proc.pid, t0, wrapper=True)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    sampler.final()
    _, _, usage = os.wait4(proc.pid, 0)
    return proc.pid, sampler.end(), usage


def test_a_wrapper_roots_cpu_counts_but_its_threads_and_memory_do_not(sampler):
    wrapper_pid, run, usage = sample_under_a_wrapper(sampler, WRAPPER)
    assert wrapper_pid not in {row[1] for row in run.threads} and len({row[1] for row in run.threads}) == 2
    assert 60 * MB <= run.peak_rss_bytes < 100 * MB            # a child's, never the wrapper's 100 MB
    assert 2 * 60 * MB <= run.summary.tree_pss_bytes < 2 * 90 * MB
    assert run.summary.workload_cpu_s == pytest.approx(cpu_s(usage), rel=0.15)   # the children's CPU, reaped


# The child lingers between fork and exec while it still maps the parent's 100 MB; its program then holds 60 MB.
# It is gone within a second, before the sampler's periodic re-read of its peak (PEAK_RSS_MAX_AGE_S) is due.
EXEC_AFTER_FORK = r"""
import os, sys, time
held = bytearray(100 << 20)
program = "import time\nb = bytearray(60 << 20)\nwhile time.process_time() < 0.2: pass\ntime.sleep(0.2)"
child = os.fork()
if child == 0:
    time.sleep(0.3)
    os.execv(sys.executable, [sys.executable, "-c", program])
os.waitpid(child, 0)
"""


def test_a_child_seen_before_its_exec_is_measured_as_the_program_it_runs(sampler):
    _, run, _ = sample_under_a_wrapper(sampler, EXEC_AFTER_FORK)
    assert 60 * MB <= run.peak_rss_bytes < 100 * MB            # its program's, not the parent's pages it mapped


def test_a_run_that_never_started_gives_machine_rows_only(sampler):
    sampler.begin()
    time.sleep(3 / HZ)
    run = sampler.end()
    assert isinstance(run, RunSamples)
    assert run.threads == [] and run.summary.samples == 0 and run.summary.workload_cpu_s == 0
    assert run.peak_rss_bytes is None and run.summary.tree_rss_bytes is None and run.summary.tree_pss_bytes is None
    assert len(run.samples) >= 2 and all(len(row) == len(SAMPLE_COLUMNS) for row in run.samples)


def test_close_leaves_no_sampler_process():
    sampler = Sampler(hz=HZ)
    sampler.begin()
    pid = sampler.pid
    assert os.path.exists(f"/proc/{pid}")
    sampler.end()
    sampler.close()
    assert not os.path.exists(f"/proc/{pid}")
    assert sampler.pid is None


def test_sampler_leaves_when_the_orchestrator_dies():
    orchestrator = subprocess.run(
        [sys.executable, "-c",
         "import os, signal; from polylab.sample.sampler import Sampler; s = Sampler(); s.begin(); "
         "print(s.pid, flush=True); os.kill(os.getpid(), signal.SIGKILL)"],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    sampler_pid = int(orchestrator.stdout)
    deadline = time.monotonic() + 10
    while _alive(sampler_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(sampler_pid)


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for whoever inherited it."""
    stat_file = procfs.PinnedFile.open_if_present(f"/proc/{pid}/stat")
    if stat_file is None:
        return False
    data = stat_file.read()
    stat_file.close()
    return data is not None and procfs.parse_stat(data).state != "Z"
