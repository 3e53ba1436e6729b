"""The exact scheduler trace (`trace: sched`): its setting, the parser of `perf script` text, and real traced runs
whose counts agree with the kernel's other counters."""

import textwrap

import pandas as pd
import pytest

from polylab.cli import commands as cli
from polylab.config.errors import ConfigError
from polylab.config.experiments import load_config
from polylab.results import store
from polylab.results.schema import TRACE_COLUMNS, TraceSummary
from polylab.run import tracing
from polylab.sample import schedtrace
from polylab.sample.schedparse import parse, summarize

from labpaths import ROOT

SCRIPT = (ROOT / "tests" / "fixtures" / "sched-script.txt").read_text().splitlines()


def write(tmp_path, trace_line):
    path = tmp_path / "experiments.yaml"
    path.write_text(textwrap.dedent(f"""
        profiles:
          p:
            experiments:
              cpu: {{workload: sum, workers: [2], seconds: 0.3{trace_line}}}
    """))
    return path


def test_trace_is_off_unless_asked_for(tmp_path):
    assert load_config(write(tmp_path, "")).profile("p").experiments[0].trace == "none"
    assert load_config(write(tmp_path, ", trace: sched")).profile("p").experiments[0].trace == "sched"
    assert load_config(write(tmp_path, ", trace: none")).profile("p").experiments[0].trace == "none"


def test_a_bad_trace_value_is_one_line_naming_the_key(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, ", trace: perf"))
    assert str(caught.value) == ("==> File experiments.yaml ==> At profile 'p' / experiment 'cpu' ==> At key: trace "
                                 "=====> Expected one of none, sched, got 'perf'")


def test_a_trace_perf_cannot_record_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(schedtrace, "problem", lambda: "perf is not installed (Debian: linux-perf)")
    config = write(tmp_path, ", trace: sched")
    with pytest.raises(ConfigError) as caught:
        cli.plan_matrix(profile="p", langs="python:cpython", out=str(tmp_path / "set"), config=str(config),
                        backend="local")
    assert str(caught.value) == (f"==> File {config} ==> At profile 'p' / experiment 'cpu' ==> At key: trace "
                                 "=====> perf is not installed (Debian: linux-perf) — set `trace: none`, or see "
                                 "`invoke doctor`")
    assert "unavailable — perf is not installed" in tracing.doctor_note()


def test_the_parser_keeps_the_tree_and_nothing_else():
    parsed = parse(SCRIPT, root=600, t0=100.0)
    kinds = [(kind, tid) for _, _, kind, tid, *_ in parsed.rows]
    assert kinds == [("fork", 600), ("in", 600), ("fork", 601), ("fork", 602), ("migrate", 601), ("in", 601),
                     ("out", 600), ("in", 602), ("out", 601), ("in", 601), ("out", 602), ("exit", 602),
                     ("out", 601)]   # not the other job, not tid 602 once another process was forked with it
    assert parsed.rows[4] == (pytest.approx(0.0022), 0, "migrate", 601, 600, None, 0, 1)
    assert [row[5] for row in parsed.rows if row[2] == "out"] == ["S", "R+", "D", "S"]
    assert (parsed.sched_events, parsed.lost) == (8, 3)
    assert summarize(parsed, 0.25) == TraceSummary(
        trace_switches=4, trace_migrations=1, trace_threads=3, trace_migrations_per_busy_thread=pytest.approx(1 / 3),
        trace_events=8, trace_lost=3, tracer_cpu_s=0.25)


def test_a_wrapper_root_leaves_its_own_switches_out():
    wrapped, unwrapped = parse(SCRIPT, root=500, t0=100.0, wrapper=True), parse(SCRIPT, root=500, t0=100.0)
    assert wrapped.rows == parse(SCRIPT, root=600, t0=100.0).rows
    assert [row[2:4] for row in unwrapped.rows[:3]] == [("fork", 600), ("out", 500), ("in", 600)]


def test_busy_thread_needs_a_millisecond_on_a_core():
    short = [line.replace("100.007300000", "100.002800000") for line in SCRIPT]   # 601's first slice: 0.5 ms
    summary = summarize(parse(short, root=600, t0=100.0))
    assert (summary.trace_threads, summary.trace_migrations_per_busy_thread) == (3, pytest.approx(1 / 3))
    only_short = [line for line in short if "next_pid=601" not in line or "100.002300000" in line]
    summary = summarize(parse(only_short, root=600, t0=100.0))
    assert (summary.trace_threads, summary.trace_migrations_per_busy_thread) == (2, 0.0)


PROFILE = """profiles:
  p:
    defaults: {repetitions: 1, sample_hz: 10, perf: PERF, trace: sched}
    experiments:
      x: {workload: sum, workers: [2], seconds: 0.3, modes: [threads]}
"""


@pytest.mark.parametrize("perf_setting", ["auto", "false"])
def test_a_traced_run_counts_what_the_kernel_counts(tmp_path, perf_setting):
    """Each context switch of the tree is one sched_switch and one tick of its task's nvcsw or nivcsw, so the trace
    holds every switch wait4 reports plus those after a task's counts were collected (a task's last schedules, at
    most a few per task that ended). perf stat's counters detach from a task when it exits and attach at exec,
    so perf counts no more switches than the trace; migrations agree within a few either way."""
    problem = schedtrace.problem()
    if problem:
        pytest.skip(problem)
    config = tmp_path / "experiments.yaml"
    config.write_text(PROFILE.replace("PERF", perf_setting))
    out, code = cli.run(profile="p", langs="python:cpython", out=str(tmp_path / "set"), config=str(config),
                        backend="local")
    (row,) = store.read_runs(out)
    assert code == 0 and row["status"] == "ok" and row["trace_lost"] == 0
    events = pd.read_parquet(out / "raw" / f"{row['run_id']}.sched.parquet")
    assert tuple(events.columns) == TRACE_COLUMNS and not list(out.glob("raw/*.perf.data"))
    ended = int((events["kind"] == "exit").sum())
    wait4 = row["ctx_voluntary"] + row["ctx_involuntary"]
    assert row["trace_switches"] == int((events["kind"] == "out").sum()) <= wait4 + 2 * ended
    if perf_setting == "auto":   # wait4 then includes perf stat's own switches, which the trace leaves out
        assert row["perf_context_switches"] <= row["trace_switches"]
        # the same events through two attachments (perf: counters inherited from the exec; the trace: the tree
        # rebuilt from fork records): measured here they differ by a few either way (20/20, 22/20, 26/27, 26/25)
        assert abs(row["trace_migrations"] - row["perf_cpu_migrations"]) <= 2 + 0.1 * row["perf_cpu_migrations"]
    else:
        assert wait4 <= row["trace_switches"]
    assert row["trace_threads"] >= 3     # the main thread and two workers ran ≥ 1 ms each
    assert row["trace_events"] >= row["trace_switches"] and row["tracer_cpu_s"] > 0
    # the program's two workers are in the trace by their tids, the same the sampler read from /proc
    threads = pd.read_parquet(out / "threads.parquet")
    assert set(threads["tid"]) <= set(events["tid"])
