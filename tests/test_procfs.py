import os
import threading
import time

import pytest

from polylab.sample import procfs

# A real stat line with a hostile comm: utime 7, stime 3, cutime 12, cstime 5, 4 threads, 920 pages resident,
# last on core 3.
STAT_LINE = (
    b"4242 (a) (b c)) R 4241 4242 4242 0 -1 4194560 949 19585 0 5 7 3 12 5 20 0 4 0 24229 5124096 920 "
    b"18446744073709551615 94767661391872 94767662181277 140723499064336 0 0 0 65536 4 1132560123 1 0 0 "
    b"17 3 0 0 0 0 0 94767662414576 94767662462820 94767827918848 140723499068252 140723499068267 "
    b"140723499068267 140723499069418 0\n"
)

SCHED_TEXT = b"""\
nr_voluntary_switches (4242, #threads: 4)
-------------------------------------------------------------------
se.exec_start                                :        246260.288388
se.vruntime                                  :           152.506612
se.sum_exec_runtime                          :            14.627842
se.nr_migrations                             :                    3
nr_switches                                  :                   38
nr_voluntary_switches                        :                   28
nr_involuntary_switches                      :                   10
se.load.weight                               :              1048576
"""

STATUS_TEXT = b"""\
Name:\tvoluntary_ctxt
State:\tS (sleeping)
nonvoluntary_ctxt_switches:\t10
Threads:\t1
voluntary_ctxt_switches:\t20
"""

STATUS_WITH_MEMORY = b"""\
Name:\tpython
Umask:\t0022
State:\tR (running)
VmPeak:\t   14128 kB
VmSize:\t   14128 kB
VmHWM:\t   11100 kB
VmRSS:\t    9800 kB
Threads:\t1
"""

PROC_STAT_TEXT = b"""\
cpu  42845 0 17985 49304 1166 0 119 117 0 0
cpu0 19979 0 9049 26555 117 0 15 55 0 0
cpu1 22866 5 8936 22749 1048 0 104 62 7 0
intr 1845495 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 14 0 0 0 0 112 48 0 21 1 115680
ctxt 3567812
btime 1764253297
"""


def test_stat_comm_may_hold_spaces_and_parentheses():
    stat = procfs.parse_stat(STAT_LINE)
    assert stat == procfs.TaskStat(comm="a) (b c)", state="R", ppid=4241, cpu_ticks=10, reaped_children_ticks=17,
                                   num_threads=4, rss_bytes=920 * procfs.PAGE_SIZE, processor=3,
                                   address_space=(94767661391872, 94767662181277, 140723499064336),
                                   kernel_thread=False, start_ticks=24229)


def test_stat_of_a_real_thread_named_with_parentheses():
    seen = {}

    def name_self_and_read():
        import ctypes
        ctypes.CDLL(None).prctl(15, b"w) (x y", 0, 0, 0)  # PR_SET_NAME
        seen["stat"] = procfs.parse_stat(open(f"/proc/self/task/{threading.get_native_id()}/stat", "rb").read())

    thread = threading.Thread(target=name_self_and_read)
    thread.start()
    thread.join()
    assert seen["stat"].comm == "w) (x y"
    assert seen["stat"].ppid == os.getppid()
    assert seen["stat"].num_threads >= 2


def test_sched_counters_are_read_from_their_own_lines():
    assert procfs.parse_sched(SCHED_TEXT) == procfs.SwitchCounters(voluntary=28, involuntary=10, migrations=3)


def test_status_counters_do_not_confuse_voluntary_with_nonvoluntary():
    assert procfs.parse_status(STATUS_TEXT) == procfs.SwitchCounters(voluntary=20, involuntary=10, migrations=None)


def test_sched_without_the_counter_is_an_error():
    with pytest.raises(ValueError):
        procfs.parse_sched(b"x (1, #threads: 1)\n---\nnr_switches : 3\n")


def test_peak_rss_is_vmhwm_in_bytes_not_vmpeak_or_vmrss():
    assert procfs.parse_peak_rss(STATUS_WITH_MEMORY) == 11100 * 1024


def test_peak_rss_of_an_exited_process_is_none():
    assert procfs.parse_peak_rss(STATUS_TEXT) is None  # a zombie's status has no Vm lines


def test_peak_rss_of_this_process_covers_what_it_holds_now():
    held = bytearray(32 << 20)  # zero-filled, so resident
    peak = procfs.parse_peak_rss(open("/proc/self/status", "rb").read())
    rss = procfs.parse_stat(open(f"/proc/self/task/{threading.get_native_id()}/stat", "rb").read()).rss_bytes
    assert len(held) < rss <= peak


def test_schedstat_gives_run_time_and_run_queue_wait_in_nanoseconds():
    assert procfs.parse_schedstat(b"52976358 847361456 178\n") == (52_976_358, 847_361_456)


def test_stat_runtime_fallback_converts_ticks_and_has_no_wait():
    assert procfs.parse_stat_runtime(STAT_LINE) == (10 * procfs.NS_PER_TICK, None)


def test_core_ticks_per_core_busy_and_total():
    assert procfs.parse_core_ticks(PROC_STAT_TEXT) == {
        0: (19979 + 9049 + 15 + 55, 19979 + 9049 + 26555 + 117 + 15 + 55),
        1: (22866 + 5 + 8936 + 104 + 62, 22866 + 5 + 8936 + 22749 + 1048 + 104 + 62),
    }


def test_steal_ticks_are_the_machine_lines_eighth_counter():
    assert procfs.parse_steal_ticks(PROC_STAT_TEXT) == 117
    assert procfs.parse_steal_ticks(b"cpu  1 2 3 4\ncpu0 1 2 3 4\n") == 0      # an old kernel's short line
    assert procfs.parse_steal_ticks(open("/proc/stat", "rb").read()) >= 0


def test_core_ticks_of_this_machine_name_every_online_core():
    per_core = procfs.parse_core_ticks(open("/proc/stat", "rb").read())
    assert set(os.sched_getaffinity(0)) <= set(per_core)
    assert all(0 <= busy <= total for busy, total in per_core.values())


def test_newest_pid_is_the_last_field_of_loadavg():
    assert procfs.parse_newest_pid(b"9.53 5.86 2.45 11/148 29235\n") == 29235


def test_real_thread_files_parse_on_this_kernel():
    files = procfs.probe_thread_files()
    task = f"/proc/self/task/{threading.get_native_id()}"
    sum(range(200_000))  # some run time of our own
    runtime_ns, wait_ns = files.parse_runtime(open(f"{task}/{files.runtime_file}", "rb").read())
    assert runtime_ns > 0 and (wait_ns is None or wait_ns >= 0)
    switches = files.parse_switches(open(f"{task}/{files.switches_file}", "rb").read())
    assert switches.voluntary + switches.involuntary > 0


def test_pinned_file_rereads_fresh_text_and_none_once_the_thread_is_gone():
    release = threading.Event()
    started = threading.Event()
    tids = []

    def wait_for_release():
        tids.append(threading.get_native_id())
        started.set()
        release.wait()

    thread = threading.Thread(target=wait_for_release)
    thread.start()
    started.wait()
    pinned = procfs.PinnedFile(f"/proc/self/task/{tids[0]}/stat")
    try:
        assert procfs.parse_stat(pinned.read()).state in "SR"
        release.set()
        thread.join()
        deadline = time.monotonic() + 5  # join() returns a moment before the OS thread is gone
        while pinned.read() is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pinned.read() is None
    finally:
        pinned.close()


def test_pinned_file_of_a_missing_task_is_none():
    assert procfs.PinnedFile.open_if_present("/proc/999999999/stat") is None


def test_listing_finds_this_process_and_its_threads():
    assert os.getpid() in procfs.list_pids()
    assert threading.get_native_id() in procfs.list_tids(os.getpid())
    assert procfs.list_tids(999_999_999) == []


def test_every_process_is_counted_once_with_its_cpu_and_kernel_threads_are_told_apart():
    while time.process_time() < 0.05:
        pass
    by_process = procfs.cpu_ticks_by_process()
    mine = [value for (pid, _), value in by_process.items() if pid == os.getpid()]
    assert len(mine) == 1 and mine[0].ticks >= 5 * procfs.CLOCK_TICKS // 100 and mine[0].kernel_thread is False
    assert mine[0].ppid == os.getppid()
    kthreadd = [value for (pid, _), value in by_process.items()
                if pid == 2 and open("/proc/2/comm").read().strip() == "kthreadd"]
    assert all(process.kernel_thread for process in kthreadd)   # pid 2, where the kernel's threads are in sight
