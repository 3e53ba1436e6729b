"""Reading and writing results sets: a set written by the code before the typed record loads to the same
tables as one written now; a newer set is refused in one line, an older one goes through the upgrade steps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings

import pandas as pd
import pytest

from analysis.load import load_results
from labpaths import ROOT
from polylab.cli import commands as cli
from polylab.config.errors import UserError
from polylab.results import schema, store, upgrades

FIXTURES = ROOT / "tests" / "fixtures"
# The two experiments of the smoke profile that v1-smoke holds python runs of, as the profile had them then
# (perf was off by default then; it is on where it works now).
SMOKE = """profiles:
  smoke:
    defaults: {repetitions: 1, timeout_s: 60, perf: false}
    experiments:
      cpu-count: {workload: sum, workers: [2], n: 2000000}
      print: {workload: sum-print, workers: [2], n: 20000, sink: pipe}
"""
# One experiment per failure shape of v1-faults, run by the faulty language and two broken copies of it.
FAULTS = """defaults: {repetitions: 1, timeout_s: 20, sample_hz: 10, perf: false}
profiles:
  faults:
    experiments:
      well-behaved: {workload: sum, workers: [2], n: 1000, modes: [threads], sink: pipe,
                     langs: [faulty, nostart, nobuild]}
      exit-nonzero: {workload: sum, workers: [1], n: 1000, modes: [threads], langs: [faulty], sample_hz: 0}
      hang: {workload: sum, workers: [1], n: 1000, modes: [processes], langs: [faulty], timeout_s: 1}
      wrong-checksum: {workload: sum, workers: [1], n: 1000, modes: [threads], langs: [faulty]}
      garbage-on-stdout: {workload: sum-print, workers: [1], n: 1000, modes: [threads], langs: [faulty],
                          sink: pipe}
"""
# Row keys whose values depend on the run's timing or the machine, not on what was run.
MEASURED = {"started_at", "wall_s", "user_s", "sys_s", "max_rss_bytes", "tree_rss_bytes", "ctx_voluntary",
            "ctx_involuntary", "inner_s", "startup_s", "parallelism", "worker_elapsed_s", "runtime", "samples",
            "workload_cpu_s", "unplaced_cpu_s", "migrations", "threads_max", "per_core_busy_s", "sampler_cpu_s",
            "interval_s", "stderr_tail", "toolchain_version", "sampler_migrations", "tree_pss_bytes", "ctx_switches",
            "tree_memory_bytes", "stdout_reader_cpu_s"}
# What version 1 did not measure: the tree's memory counted once (no PSS), the stdout reader's CPU.
NOT_IN_V1 = {"tree_memory_bytes", "tree_memory_source", "stdout_reader_cpu_s", "other_programs_cpu_s",
             "kernel_threads_cpu_s", "steal_s"}


def _faulty_langs(folder):
    """The faulty language, a copy whose program does not exist, and one whose build fails."""
    shutil.copytree(ROOT / "tests" / "faulty", folder / "faulty")
    for name, old, new in [("nostart", 'run: [python3, "{src}/faulty.py"]', 'run: ["{src}/does-not-exist"]'),
                           ("nobuild", "build: []", 'build: [[python3, -c, "raise SystemExit(3)"]]')]:
        shutil.copytree(ROOT / "tests" / "faulty", folder / name)
        manifest = folder / name / "lang.yaml"
        text = manifest.read_text().replace("name: faulty", f"name: {name}")
        assert old in text
        manifest.write_text(text.replace(old, new))
    return folder


def _run(tmp, profile: str, config_text: str, langs: str | None = None):
    config = tmp / "experiments.yaml"
    config.write_text(config_text)
    out, _ = cli.run(profile=profile, langs=langs, out=str(tmp / "set"), config=str(config), backend="local")
    return out


# Python as it was declared when v1-smoke was written: one variant (the language's own), so its run ids are the
# same as then; today's langs/python declares three.
ONE_VARIANT_PYTHON = """name: python
sources: ["*.py"]
toolchains:
  - name: cpython
    requires: [python3]
    version: [python3, --version]
    version_regex: 'Python (\\S+)'
    run: [python3, "{src}/workload.py"]
"""


@pytest.fixture(scope="module")
def new_smoke(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smoke")
    (tmp / "langs" / "python").mkdir(parents=True)
    for source in (ROOT / "langs" / "python").glob("*.py"):
        shutil.copy(source, tmp / "langs" / "python")
    (tmp / "langs" / "python" / "lang.yaml").write_text(ONE_VARIANT_PYTHON)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLYLAB_LANGS", str(tmp / "langs"))
        return _run(tmp, "smoke", SMOKE, langs="python")


@pytest.fixture(scope="module")
def new_faults(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLYLAB_LANGS", str(_faulty_langs(tmp / "langs")))
        return _run(tmp, "faults", FAULTS)


def _rows(folder) -> dict[str, dict]:
    return {row["run_id"]: row for row in store.read_runs(folder)}


def test_the_new_code_writes_the_keys_the_old_code_wrote_for_each_kind_of_run(new_faults, new_smoke):
    for old_set, new_set in [("v1-faults", new_faults), ("v1-smoke", new_smoke)]:
        old, new = _rows(FIXTURES / old_set), _rows(new_set)
        shared = old.keys() & new.keys()
        assert len(shared) == (7 if old_set == "v1-faults" else 2)
        for run_id in shared:
            assert set(new[run_id]) - NOT_IN_V1 == set(old[run_id]), run_id
            assert set(new[run_id]) <= set(schema.ROW_KEYS)      # every key written is declared
            same = ["status", "checksum_ok", "exit_code", "iterations", "stdout_lines", "stdout_ok", "cpu_source"]
            assert {k: new[run_id].get(k) for k in same} == {k: old[run_id].get(k) for k in same}, run_id


def test_an_old_set_and_a_new_set_load_to_the_same_tables(new_smoke):
    old, new = load_results(FIXTURES / "v1-smoke"), load_results(new_smoke)
    for table in ("runs", "samples", "threads"):
        old_table, new_table = getattr(old, table), getattr(new, table)
        assert list(old_table.columns) == list(new_table.columns), table
        assert old_table.dtypes.astype(str).to_dict() == new_table.dtypes.astype(str).to_dict(), table
    shared = sorted(set(old.runs["run_id"]) & set(new.runs["run_id"]))
    assert shared == ["cpu-count.python.processes.w2.r1", "print.python.threads.w2.r1"]
    same = [key for key in schema.RUN_COLUMNS if key not in MEASURED | NOT_IN_V1 and key != "run_id"]
    old_rows, new_rows = (runs.set_index("run_id").loc[shared, same] for runs in (old.runs, new.runs))
    pd.testing.assert_frame_equal(old_rows.astype(str), new_rows.astype(str))


def _with_version(source, folder, version: int, files=("meta.json", "runs.jsonl")):
    shutil.copytree(source, folder)
    for name in files:
        path = folder / name
        if name == "meta.json":
            path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": version}))
        else:
            rows = [{**json.loads(line), "schema_version": version} for line in path.read_text().splitlines()]
            path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def test_a_set_from_a_newer_schema_is_refused_naming_the_file_and_both_versions(tmp_path):
    folder = _with_version(FIXTURES / "v1-smoke", tmp_path / "set", 99, files=("runs.jsonl",))
    with pytest.raises(UserError) as caught:
        store.read_runs(folder)
    assert str(caught.value) == (f"{folder / 'runs.jsonl'} was written by results schema version 99, and this "
                                 f"polylab reads up to version {schema.SCHEMA_VERSION} — update polylab to read it")


def test_invoke_report_on_a_version_99_set_is_one_line_and_exit_1(tmp_path, invoke_cmd):
    folder = _with_version(FIXTURES / "v1-smoke", tmp_path / "set", 99)
    done = subprocess.run([*invoke_cmd, "report", "--results", str(folder)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env=dict(os.environ), stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: {folder / 'meta.json'} was written by results schema version 99, and "
                                   f"this polylab reads up to version {schema.SCHEMA_VERSION} — update polylab to "
                                   f"read it")
    assert done.stdout == "" and not (folder / "report.html").exists()


def test_an_older_set_goes_through_the_registered_upgrade(tmp_path, monkeypatch):
    """A made-up version 0, which called wall_s `wall` and kept no `profile` in meta.json."""
    folder = _with_version(FIXTURES / "v1-smoke", tmp_path / "set", 0)
    rows = [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()]
    for row in rows:
        row["wall"] = row.pop("wall_s")
    (folder / "runs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(UserError, match="results schema version 0 cannot be read: no upgrade from version 0"):
        store.read_meta(folder)

    def rename_wall(row: dict) -> dict:
        return {("wall_s" if key == "wall" else key): value for key, value in row.items()}

    monkeypatch.setitem(upgrades.UPGRADES, 0, upgrades.Upgrade(row=rename_wall, meta=lambda meta: {**meta,
                                                                                                "profile": "up"}))
    upgraded, current = load_results(folder), load_results(FIXTURES / "v1-smoke")
    assert upgraded.meta["profile"] == "up" and upgraded.meta["schema_version"] == schema.SCHEMA_VERSION
    pd.testing.assert_frame_equal(upgraded.runs, current.runs)


def test_hand_off_cost_is_taken_over_the_ring_not_the_programs_clock():
    # A Java processes run: the parent's clock (0.83 s) counts the JVM children's start; the ring ran 0.514 s.
    rates = schema.handoff_rates(40960, [0.517, 0.514], 0.833)
    assert rates["ns_per_handoff"] == pytest.approx(1e9 * 0.514 / 40960)
    assert rates["handoffs_per_s"] == pytest.approx(40960 / 0.514)
    assert schema.handoff_rates(1000, None, 0.5)["ns_per_handoff"] == pytest.approx(5e5)   # no worker times
    assert schema.handoff_rates(0, [0.5], 0.5) == {"handoffs_per_s": None, "ns_per_handoff": None}


def test_a_version_6_pingpong_row_is_recomputed_over_the_ring():
    row = {"run_id": "h.java:17.processes.w2.r0", "token": 40960, "worker_elapsed_s": [0.517, 0.514],
           "inner_s": 0.833, "handoffs_per_s": 40960 / 0.833, "ns_per_handoff": 1e9 * 0.833 / 40960}
    upgraded = upgrades.UPGRADES[6].row(row)
    assert upgraded["ns_per_handoff"] == pytest.approx(1e9 * 0.514 / 40960) and upgraded["inner_s"] == 0.833
    sum_row = {"run_id": "cpu.go.threads.w1.r0", "inner_s": 1.0, "worker_elapsed_s": [1.0]}
    assert upgrades.UPGRADES[6].row(sum_row) == sum_row

ROW = '{"run_id": "cpu.go.threads.w1.r%d", "schema_version": 4}'


def _runs_file(folder, text: bytes):
    folder.mkdir()
    (folder / "runs.jsonl").write_bytes(text)
    return folder


def test_lines_that_hold_no_row_are_skipped_counted_and_named(tmp_path):
    """Not JSON, not an object, an object without a run id, not UTF-8, an empty line: each is skipped, by number."""
    lines = [ROW % 1, "{torn", "[1, 2]", '{"status": "ok"}', ROW % 2, "\udcff", "", ROW % 3]
    text = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    folder = _runs_file(tmp_path / "set", text)
    with pytest.warns(store.DamagedResults) as caught:
        read = store.read_run_rows(folder)
    assert [str(w.message) for w in caught] == [f"{folder / 'runs.jsonl'}: skipped 5 unreadable lines (lines 2, 3, "
                                                f"4, 6, 7); a run written there counts as not run"]
    assert read.skipped_lines == (2, 3, 4, 6, 7)
    assert [row["run_id"] for row in read.rows] == [f"cpu.go.threads.w1.r{k}" for k in (1, 2, 3)]


def test_a_torn_last_line_is_dropped_without_a_word(tmp_path):
    folder = _runs_file(tmp_path / "set", f"{ROW % 1}\n{ROW % 2}\n{{\"run_id\": \"cpu.go".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read = store.read_run_rows(folder)
    assert read.skipped_lines == () and [row["run_id"] for row in read.rows] == ["cpu.go.threads.w1.r1",
                                                                                 "cpu.go.threads.w1.r2"]


def test_the_warning_lists_ten_line_numbers_at_most():
    assert store.skipped_lines_text(range(1, 14)) == ("13 unreadable lines (lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 "
                                                      "and 3 more)")


@pytest.mark.parametrize("text, problem", [
    (b'{"schema_version": 4,', "Expecting property name enclosed in double quotes: line 1 column 22 (char 21)"),
    (b'{"profile": "\xff"}', "'utf-8' codec can't decode byte 0xff in position 13: invalid start byte"),
    (b"[1, 2]", "it holds a JSON list, not an object"),
], ids=["cut short", "not UTF-8", "not an object"])
def test_a_damaged_meta_json_is_one_line_naming_it(tmp_path, text, problem):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "meta.json").write_bytes(text)
    with pytest.raises(UserError) as caught:
        store.read_meta(folder)
    assert str(caught.value) == (f"{folder / 'meta.json'} cannot be read: {problem} — the set cannot be interpreted "
                                 f"without it")
