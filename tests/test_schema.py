"""The results schema: the run record serialises to exactly the rows the code before it wrote, every key it can
write is declared and documented, and the derived numbers follow their definitions."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from labpaths import ROOT
from polylab.config import experiments
from polylab.results import schema, upgrades
from polylab.results.schema import (ContainerRun, CpuSource, Measured, Mode, Planned, ProgramResult, RunRecord,
                                    SamplerSummary, Sink, Status, Totals, Verdict, Workload)

FIXTURES = ROOT / "tests" / "fixtures"
OLD_ROWS = [json.loads(line) for name in ("v1-smoke", "v1-faults")
            for line in (FIXTURES / name / "runs.jsonl").read_text().splitlines()]


def _planned(**changes) -> Planned:
    fields = dict(run_id="x.go.threads.w2.r1", experiment="x", lang="go", variant="go", toolchain="go",
                  toolchain_version="1.22", backend="container", workload=Workload.SUM, mode=Mode.THREADS, workers=2,
                  n=None, seconds=1.0, rep=1, warmup=False, sink=Sink.PIPE, sample_hz=10.0, cpus=None)
    return Planned(**{**fields, **changes})


def _everything() -> RunRecord:
    """A record with every part and every optional field present."""
    measured = Measured(exit_code=0, stderr_tail="", started_at="2026-01-01T00:00:00", wall_s=2.0,
                        totals=Totals(1.2, 0.3, 2**20, None, None, CpuSource.CGROUP),
                        container=ContainerRun(container_start_s=0.5, image="golang:1"),
                        stdout_lines=0, stdout_bytes=0, stdout_reader_cpu_s=0.01)
    verdict = Verdict(Status.OK, None, True, ProgramResult(1.1, {"name": "go"}, 10, [1.1, 1.0], token=10, counter=10,
                                                     threads_used=2, pool_size=4),
                      stdout_ok=True, crash=schema.CrashOutcome(workers_started=2, workers_finished=1,
                                                                process_survived=True))
    sampler = SamplerSummary(samples=20, workload_cpu_s=1.4, unplaced_cpu_s=0.0, sampler_migrations=3, threads_max=5,
                             per_core_busy_s=[0.7, 0.7], sampler_cpu_s=0.01, interval_s=0.1, tree_rss_bytes=2**21,
                             tree_pss_bytes=2**20, other_programs_cpu_s=0.02,
                             kernel_threads_cpu_s=0.01, steal_s=0.003)
    perf = schema.PerfCounters(1.5, 100, 3, 1.9)
    trace = schema.TraceSummary(trace_switches=104, trace_migrations=3, trace_threads=3,
                                trace_migrations_per_busy_thread=1.0, trace_events=150, trace_lost=0, tracer_cpu_s=0.2)
    return RunRecord(_planned(), measured, verdict, sampler=sampler, perf=perf, trace=trace)


def _upgraded(row: dict) -> dict:
    """The row as the current version has it, through every upgrade step, as the store reads it."""
    for version in range(row["schema_version"], schema.SCHEMA_VERSION):
        row = upgrades.UPGRADES[version].row(row)
    return {**row, "schema_version": schema.SCHEMA_VERSION}


@pytest.mark.parametrize("row", OLD_ROWS, ids=[row["run_id"] for row in OLD_ROWS])
def test_rows_written_before_the_typed_record_come_back_unchanged(row):
    """Every shape of row the old code wrote (ok, build and spawn failures, exit code, timeout, wrong checksum,
    wrong stdout, with and without samples), upgraded, read into a record and written again: same keys, same
    values; the step to version 2 loses nothing of the old row but the key it renames."""
    upgraded = _upgraded(row)
    again = RunRecord.from_row(upgraded).to_row()
    assert again == upgraded
    assert json.loads(json.dumps(again)) == upgraded     # plain JSON values: the enums are written as their strings
    assert {key: value for key, value in row.items() if key != "migrations"}.items() <= \
        upgrades.UPGRADES[1].row(row).items()


def test_a_version_1_row_keeps_its_sampler_count_as_a_lower_bound_and_its_switches_from_wait4():
    sampled = next(row for row in OLD_ROWS if row["run_id"] == "cpu-count.python.processes.w2.r1")
    upgraded = upgrades.UPGRADES[1].row(sampled)
    assert (upgraded["sampler_migrations"], upgraded["migrations"], upgraded["migrations_source"]) == \
        (7, 7, "sampler (lower bound)")
    assert (upgraded["ctx_switches"], upgraded["switches_source"]) == (154 + 231, "wait4")
    assert upgraded["tree_pss_bytes"] is None and "tree_memory_bytes" not in upgraded
    assert upgraded["tree_rss_bytes"] == sampled["tree_rss_bytes"]
    unsampled = upgrades.UPGRADES[1].row(next(row for row in OLD_ROWS
                                             if row["run_id"] == "exit-nonzero.faulty.threads.w1.r1"))
    assert "migrations" not in unsampled and "sampler_migrations" not in unsampled


def test_each_run_total_comes_from_perf_where_it_counted_and_says_so():
    full = _everything()
    assert (full.migrations, full.migrations_source) == (3, schema.CounterSource.PERF)
    assert (full.ctx_switches, full.switches_source) == (100, schema.CounterSource.PERF)
    assert (full.tree_memory_bytes, full.tree_memory_source) == (2**20, schema.MemorySource.CGROUP)
    local = Measured(0, "", wall_s=2.0, totals=Totals(1.2, 0.3, 2**22, 40, 60, CpuSource.WAIT4))
    sampler = dataclasses.replace(full.sampler, sampler_migrations=2, tree_pss_bytes=3 * 2**20)
    unwrapped = RunRecord(full.planned, local, full.verdict, sampler)
    assert (unwrapped.migrations, unwrapped.migrations_source) == (2, schema.CounterSource.SAMPLER)
    assert (unwrapped.ctx_switches, unwrapped.switches_source) == (100, schema.CounterSource.WAIT4)
    assert (unwrapped.tree_memory_bytes, unwrapped.tree_memory_source) == (3 * 2**20, schema.MemorySource.PSS)
    row = unwrapped.to_row()
    assert (row["migrations_source"], row["switches_source"], row["tree_memory_source"]) == \
        ("sampler (lower bound)", "wait4", "pss")
    not_counted = RunRecord(full.planned, local, full.verdict, dataclasses.replace(sampler, sampler_migrations=None),
                            perf=schema.PerfCounters(1.5, None, None, 1.9))
    assert (not_counted.migrations, not_counted.migrations_source, not_counted.switches_source) == \
        (None, None, schema.CounterSource.WAIT4)
    assert "migrations" not in not_counted.to_row() and "migrations_source" not in not_counted.to_row()


def test_a_record_writes_every_declared_key_and_no_other():
    row = _everything().to_row()
    assert list(row) == list(schema.ROW_KEYS)
    assert all(type(value) in (int, float, str, bool, list, dict, type(None)) for value in row.values())


def test_every_key_of_the_old_rows_is_declared():
    assert set().union(*OLD_ROWS) <= set(schema.ROW_KEYS)


def test_every_declared_key_is_documented():
    text = (ROOT / "docs" / "results-format.md").read_text()
    section = text.split("## A row of `runs.jsonl`", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            for span in re.findall(r"`([^`]+)`", line.split("|")[1]):
                documented.update(name.strip() for name in span.split(","))
    assert set(schema.ROW_KEYS) <= documented, set(schema.ROW_KEYS) - documented
    assert documented <= set(schema.ROW_KEYS), documented - set(schema.ROW_KEYS)   # nothing documented is stale


def test_a_container_runs_parallelism_leaves_the_engines_start_out():
    record = _everything()
    assert record.parallelism == pytest.approx((1.2 + 0.3) / (2.0 - 0.5))
    assert record.startup_s == pytest.approx(2.0 - 1.1)


def test_without_cpu_totals_parallelism_comes_from_the_sampler_and_peak_memory_is_kept_apart():
    full = _everything()
    unreadable = Totals(None, None, None, None, None, CpuSource.SAMPLER)
    record = RunRecord(full.planned, Measured(0, "", wall_s=2.0, totals=unreadable), full.verdict, full.sampler)
    assert record.parallelism == pytest.approx(1.4 / 2.0)
    row = record.to_row()
    assert row["user_s"] is None and row["max_rss_bytes"] is None and "container_start_s" not in row


def test_a_run_that_never_started_has_no_times_and_no_derived_numbers():
    record = RunRecord(_planned(), Measured(exit_code=None, stderr_tail="log"),
                       Verdict(Status.FAILED, "build failed", checksum_ok=False))
    row = record.to_row()
    assert record.parallelism is None and record.startup_s is None
    assert set(row) == {"schema_version", *schema.RUN_COLUMNS.keys() & set(Planned.__dataclass_fields__),
                        "exit_code", "stderr_tail", "status", "reason", "checksum_ok"}


def test_the_enums_are_the_strings_rows_and_configs_use():
    assert [status.value for status in Status] == ["ok", "failed", "timeout", "invalid"]   # best to worst
    assert experiments.MODES == ("threads", "processes", "pool", "async") and experiments.WORKLOADS == (
        "sum", "sum-print", "pingpong", "contended", "io", "native", "crash")
    assert experiments.SINKS == ("devnull", "pipe", "file", "tty")
    assert f"{Status.TIMEOUT}" == str(Status.TIMEOUT) == "timeout" and Mode.THREADS == "threads"
    assert {"ok": 1}[Status.OK] == 1


def test_the_sampler_process_starts_lean():
    """The sampler imports the schema for its columns and summary: nothing heavier comes with it."""
    probe = ("import sys; from polylab.sample.loop import serve; "
             "print(' '.join(sorted(name for name in sys.modules if name.split('.')[0] in "
             "('polylab', 'pandas', 'numpy', 'yaml', 'cfgv', 'rich'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert set(done.stdout.split()) == {"polylab", "polylab.results", "polylab.results.schema", "polylab.results.words",
                                        "polylab.sample", "polylab.sample.loop", "polylab.sample.procfs",
                                        "polylab.sample.tree"}
