"""The shipped benchmarks' reporting: a ratio that has no value (no denominator, nothing sampled) reads n/a."""

import json
from contextlib import nullcontext
from types import SimpleNamespace

from polylab.cli import bench, commands


def test_a_ratio_without_a_value_prints_n_a_and_null(monkeypatch, capsys):
    faulty = SimpleNamespace(language=SimpleNamespace(name="faulty"))
    row = {"user_s": 0.5, "sys_s": 0.0, "wall_s": 1.0, "workload_cpu_s": None, "samples": 0}  # nothing sampled
    monkeypatch.setattr(bench, "load_lab", lambda: SimpleNamespace(languages={"faulty": None}))
    monkeypatch.setattr(bench, "_ready", lambda lab, names: [faulty])
    monkeypatch.setattr(bench, "Sampler", lambda hz: nullcontext())
    monkeypatch.setattr(bench.perfstat, "available", lambda: False)
    monkeypatch.setattr(bench, "run_one", lambda lab, spec, choice, out, sampler: row)
    monkeypatch.setattr(bench, "_checked", lambda ran: ran)
    commands.bench_accuracy(langs="faulty", seconds=0.1)
    printed = capsys.readouterr()
    assert [line for line in printed.err.splitlines() if "sampled/wait4" in line] == [
        "faulty threads: sampled/wait4 n/a", "faulty processes: sampled/wait4 n/a"]
    result = json.loads(printed.out)
    assert [run["sampled_vs_wait4"] for run in result["runs"]] == [None, None]
    assert result["summary"] == {"sampled_vs_wait4": None, "within_5_percent": 0, "runs": 2}


def test_spreads_leave_out_what_could_not_be_measured():
    assert bench._spread([1.0, None, 3.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 2}
    assert bench._median([None]) is None and not bench._at_most(None, 1.0)
