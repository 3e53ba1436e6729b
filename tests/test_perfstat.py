import os
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest

from polylab.cli import commands as cli
from polylab.results import store
from polylab.results.schema import PerfCounters
from polylab.sample import perfstat

PERF_OUTPUT = """\
# started on Fri Nov 27 14:39:06 2026

142.70,msec,task-clock,142703895,100.00,0.522,CPUs utilized
83,,context-switches,142703895,100.00,581.624,/sec
1,,cpu-migrations,142703895,100.00,7.008,/sec
273404520,ns,duration_time,273404520,100.00,522.088,M/sec
"""

PERF_OUTPUT_RESTRICTED = """\
# started on Fri Nov 27 14:39:06 2026

2519.33,msec,task-clock:u,2519330000,100.00,1.950,CPUs utilized
<not supported>,,context-switches:u,0,100.00,,
<not counted>,,cpu-migrations:u,0,0.00,,
<not supported>,ns,duration_time,0,100.00,,
"""


def test_wrap_puts_perf_stat_in_front_of_the_command(tmp_path):
    out = tmp_path / "perf.csv"
    assert perfstat.wrap(["java", "-cp", "x", "Main", "--workers", "8"], out) == [
        "perf", "stat", "-x", ",", "-e", "task-clock,context-switches,cpu-migrations,duration_time",
        "-o", str(out), "--",
        "java", "-cp", "x", "Main", "--workers", "8",
    ]


def test_parse_reads_counts_and_task_clock_in_seconds(tmp_path):
    out = tmp_path / "perf.csv"
    out.write_text(PERF_OUTPUT)
    assert perfstat.parse(out) == PerfCounters(pytest.approx(0.1427), 83, 1, pytest.approx(0.27340452))


def test_parse_gives_none_for_events_perf_could_not_count(tmp_path):
    out = tmp_path / "perf.csv"
    out.write_text(PERF_OUTPUT_RESTRICTED)
    assert perfstat.parse(out) == PerfCounters(pytest.approx(2.51933), None, None, None)


def test_parse_of_an_empty_file_gives_none_everywhere(tmp_path):
    out = tmp_path / "perf.csv"
    out.write_text("")
    assert perfstat.parse(out) == PerfCounters(None, None, None, None)


def test_available_needs_perf_on_path(monkeypatch):
    perfstat.available.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        assert perfstat.available() is False
    finally:
        perfstat.available.cache_clear()


@pytest.mark.skipif(shutil.which("perf") is None, reason="perf is not installed")
def test_wrapped_run_counts_what_wait4_counts(tmp_path):
    if not perfstat.available():
        pytest.skip("perf is installed but may not count events here (perf_event_paranoid)")
    out = tmp_path / "perf.csv"
    busy = "import time\nwhile time.process_time() < 0.5: pass"
    t0 = time.monotonic()
    proc = subprocess.Popen(perfstat.wrap([sys.executable, "-c", busy], out))
    _, status, usage = os.wait4(proc.pid, 0)
    wall_s = time.monotonic() - t0
    assert os.waitstatus_to_exitcode(status) == 0
    counts = perfstat.parse(out)
    assert counts.perf_task_clock_s == pytest.approx(usage.ru_utime + usage.ru_stime, rel=0.1)
    assert 0 < counts.perf_duration_s <= wall_s
    # a busy loop alone on a core may never be switched out (CI saw 0): perf's count of the program's switches is
    # bounded by wait4's, which adds perf's own
    assert 0 <= counts.perf_context_switches <= usage.ru_nvcsw + usage.ru_nivcsw
    assert counts.perf_cpu_migrations >= 0
    assert counts.perf_duration_s >= 0.5


PROFILE = """profiles:
  p:
    defaults: {repetitions: 1, sample_hz: 10, perf: PERF}
    experiments:
      x: {workload: sum, workers: [2], seconds: 2.5, modes: [processes]}   # PSS is read at most once a second
"""


@pytest.mark.parametrize("perf_setting", ["auto", "false"])
def test_each_runs_totals_name_their_source_and_perf_is_not_sampled_as_the_program(tmp_path, perf_setting):
    if perf_setting == "auto" and not perfstat.available():
        pytest.skip("perf cannot count here: the auto setting runs without it")
    config = tmp_path / "experiments.yaml"
    config.write_text(PROFILE.replace("PERF", perf_setting))
    out, code = cli.run(profile="p", langs="python:cpython", out=str(tmp_path / "set"), config=str(config),
                        backend="local")
    rows = store.read_runs(out)
    assert code == 0 and rows and all(row["status"] == "ok" for row in rows)
    for row in rows:
        if perf_setting == "auto":
            assert (row["migrations"], row["migrations_source"]) == (row["perf_cpu_migrations"], "perf")
            assert (row["ctx_switches"], row["switches_source"]) == (row["perf_context_switches"], "perf")
        else:
            assert "perf_cpu_migrations" not in row
            assert (row["migrations"], row["migrations_source"]) == (row["sampler_migrations"],
                                                                      "sampler (lower bound)")
            assert (row["ctx_switches"], row["switches_source"]) == (row["ctx_voluntary"] + row["ctx_involuntary"],
                                                                      "wait4")
        assert row["tree_memory_source"] == "pss" and row["tree_memory_bytes"] == row["tree_pss_bytes"]
        assert 5 * 2**20 < row["tree_pss_bytes"] < row["tree_rss_bytes"]
        assert row["workload_cpu_s"] == pytest.approx(row["user_s"] + row["sys_s"], rel=0.1)   # nothing lost
    threads = pd.read_parquet(out / "threads.parquet")
    for _, run in threads.groupby("run_id"):
        names = run.groupby("pid")["name"].agg(set)
        # perf's own threads are left out; its child is called perf only until it execs the program
        assert all(pid_names - {"perf"} for pid_names in names) and len(names) >= 3   # the parent and two workers
