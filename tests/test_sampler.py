import os
import subprocess
import sys
import time

import pytest

from polylab.sample import procfs
from polylab.results.schema import SAMPLE_COLUMNS, THREAD_COLUMNS
from polylab.sample.sampler import RunSamples, Sampler
from sampled import MB, cpu_s, python, sampled_run

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

# One more spinning child than the run's cores: at any time one of them is ready to run and waits for a core.
MORE_CHILDREN_THAN_CORES = r"""
import multiprocessing, os, time
def work():
    while time.process_time() < 0.5:
        pass
if __name__ == "__main__":
    children = [multiprocessing.get_context("fork").Process(target=work)
                for _ in range(len(os.sched_getaffinity(0)) + 1)]
    [c.start() for c in children]
    [c.join() for c in children]
"""


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


def test_threads_waiting_for_a_core_show_their_run_queue_wait(sampler):
    if not procfs.probe_thread_files().runtime_file == "schedstat":
        pytest.skip("this kernel keeps no schedstat, so no run-queue wait")
    run, usage, wall_s = sampled_run(sampler, python(MORE_CHILDREN_THAN_CORES))
    cores = len(os.sched_getaffinity(0))
    last_wait_by_tid = {row[2]: row[THREAD_COLUMNS.index("wait_s")] for row in run.threads}
    # cores + 1 children of 0.5 s each: at least (cores + 1) * 0.5 / cores s of wall, all of it with one waiting
    assert sum(last_wait_by_tid.values()) >= 0.6 * (cores + 1) * 0.5 / cores
    assert cpu_s(usage) >= (cores + 1) * 0.5 * 0.95


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
    assert 0 <= run.summary.steal_s <= os.cpu_count() * cpu_s(usage)    # recorded: the hypervisor's share


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


# A parent whose child burns 1 s of CPU, says so, then idles until told to end; the parent then reaps it, which
# adds the child's whole second to the parent's reaped-children CPU (cutime) at once.
REAPS_A_BUSY_CHILD = r"""
import subprocess, sys
burn = "import sys, time\nwhile time.process_time() < 1.0: pass\nprint('burnt', flush=True)\nsys.stdin.readline()"
child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
child.stdout.readline()
print("ready", flush=True)
sys.stdin.readline()
child.stdin.close()
child.wait()
print("reaped", flush=True)
sys.stdin.readline()
"""


def test_a_neighbour_reaping_a_child_counts_only_the_childs_cpu_during_the_run(sampler):
    """The child's second was spent before the run began: reaped during the run, it is not the run's neighbour's."""
    parent = subprocess.Popen(python(REAPS_A_BUSY_CHILD), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert parent.stdout.readline() == b"ready\n"
        sampler.begin()
        t0 = time.monotonic()
        proc = subprocess.Popen(["sleep", "0.5"], start_new_session=True)
        sampler.attach(proc.pid, t0)
        parent.stdin.write(b"end the child\n")
        parent.stdin.flush()
        assert parent.stdout.readline() == b"reaped\n"
        proc.wait()
        sampler.final()
        run = sampler.end()
    finally:
        parent.kill()
        parent.wait()
    assert 0 <= run.summary.other_programs_cpu_s < 0.3


def test_per_core_busy_adds_up_to_the_workload_cpu(threads_run, processes_run):
    for run, _, _ in (threads_run, processes_run):
        summary = run.summary
        assert len(summary.per_core_busy_s) >= len(set(row[1] for row in run.samples))
        assert sum(summary.per_core_busy_s) == pytest.approx(summary.workload_cpu_s, abs=1e-6)
        assert 0.0 <= summary.unplaced_cpu_s <= summary.workload_cpu_s


def test_processes_tree_memory_sums_every_process(processes_run):
    run, _, _ = processes_run  # three processes that allocate nothing much
    assert run.summary.tree_rss_bytes >= 2 * run.peak_rss_bytes


def test_summary_counts_migrations_and_the_samplers_own_cpu(threads_run):
    run, _, wall_s = threads_run
    last_migrations = {row[2]: row[8] for row in run.threads}
    assert run.summary.sampler_migrations == sum(last_migrations.values())
    assert 0.0 < run.summary.sampler_cpu_s < wall_s


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
