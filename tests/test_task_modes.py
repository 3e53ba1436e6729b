"""The lab's side of pool and async modes (langs/README.md section 10): which workloads run them, the check of
each task's `tids` and of `pool_size`, what a verified result records, and a plan that leaves out the modes a
variant cannot run, with one note per variant and mode."""

from __future__ import annotations

import json

import pytest

from polylab.config.errors import ConfigError
from polylab.config.experiments import load_config
from polylab.config.manifests import Variant
from polylab.config.modes import parse_modes
from polylab.results.schema import ThreadModel
from polylab.run.checks import check_result, task_threads
from polylab.run.plan import left_out_notes, plan, unsupported_modes
from polylab.workloads import workload_spec


def result(tmp_path, mode: str, tids=((11,), (12,)), **top) -> tuple:
    """A contract-2 sum result of two tasks with these tids (None: no `tids` key), and `top` keys added."""
    workers = [{"index": k, "pid": 7, "iterations": 10, "sum": 45, "elapsed_s": 0.1} for k in range(2)]
    for worker, task_tids in zip(workers, tids):
        if task_tids is not None:
            worker["tids"] = list(task_tids)
    data = {"contract": 2, "lang": "go", "runtime": {"name": "go", "version": "1"},
            "args": {"workload": "sum", "mode": mode, "workers": 2, "n": 10, "seconds": None},
            "workers": workers, "elapsed_s": 0.2, **top}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    return check_result(path, "go", "sum", mode, 2, 10)


@pytest.mark.parametrize("mode, tids, pool_size, used", [
    ("pool", ((11,), (12,)), 8, 2),
    ("pool", ((11, 13), (13,)), 4, 2),           # a task that moved: 11 and 13; the other on 13
    ("async", ((11,), (11,)), None, 1),          # one event loop runs both
    ("threads", ((11,), (12,)), None, 2),        # the control: tids optional in threads mode, counted where given
])
def test_a_right_result_records_the_threads_its_tasks_used(tmp_path, mode, tids, pool_size, used):
    checked = result(tmp_path, mode, tids, pool_size=pool_size)
    assert checked.ok, checked.problem
    assert task_threads(checked.data, mode) == {"threads_used": used, "pool_size": pool_size if mode != "threads"
                                                else None}


def test_threads_mode_without_tids_records_no_threads_used(tmp_path):
    checked = result(tmp_path, "threads", (None, None))
    assert checked.ok and task_threads(checked.data, "threads") == {"threads_used": None, "pool_size": None}


@pytest.mark.parametrize("mode, tids, top, problem", [
    ("pool", ((11,), None), {"pool_size": 2},
     "worker #1 has no tids (the kernel thread ids it ran on; required in pool mode)"),
    ("async", ((11,), ()), {"pool_size": None},
     "worker #1 tids is [], expected 1 or 2 positive thread ids (at the task's start and end)"),
    ("pool", ((11, 12, 13), (12,)), {"pool_size": 2},
     "worker #0 tids is [11, 12, 13], expected 1 or 2 positive thread ids (at the task's start and end)"),
    ("pool", ((11, 11), (12,)), {"pool_size": 2}, "worker #0 tids [11, 11] repeats a thread id: list a thread once"),
    ("pool", ((0,), (12,)), {"pool_size": 2},
     "worker #0 tids is [0], expected 1 or 2 positive thread ids (at the task's start and end)"),
    ("threads", ((-3,), (12,)), {},
     "worker #0 tids is [-3], expected 1 or 2 positive thread ids (at the task's start and end)"),
    ("pool", ((11,), (12,)), {},
     "result has no 'pool_size' (the pool's size, or null where the runtime has none; required in pool mode)"),
    ("async", ((11,), (12,)), {"pool_size": "default"},
     "pool_size is 'default', expected the pool's size (a positive int) or null where the runtime has none"),
])
def test_a_wrong_task_result_is_invalid_with_its_reason(tmp_path, mode, tids, top, problem):
    checked = result(tmp_path, mode, tids, **top)
    assert (checked.ok, checked.problem) == (False, problem)


def test_pool_and_async_run_only_sum_and_io_and_only_where_asked():
    for name in ("sum", "io"):
        assert workload_spec(name).modes_for(None) == (("threads", "processes"), ())
        assert workload_spec(name).modes_for(("threads", "pool", "async")) == (("threads", "pool", "async"), ())
        assert workload_spec(name).setting_problem(("pool", "async"), (8,), 10) is None
    assert workload_spec("pingpong").setting_problem(("threads", "pool"), (2,), None) == (
        "modes", "pingpong runs in threads, processes mode only (pool and async modes run sum and io only: "
                 "langs/README.md section 10): remove pool")
    assert workload_spec("contended").setting_problem(("async",), (2,), None) == (
        "modes", "contended runs in threads mode only (pool and async modes run sum and io only: "
                 "langs/README.md section 10): remove async")


def test_pool_mode_for_pingpong_in_experiments_yaml_is_one_line(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("profiles:\n  p:\n    experiments:\n      ring: {workload: pingpong, workers: [2], n: 5, "
                    "modes: [threads, pool]}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, "e.yaml")
    assert str(caught.value) == (
        "==> File e.yaml ==> At profile 'p' / experiment 'ring' ==> At key: modes =====> pingpong runs in threads, "
        "processes mode only (pool and async modes run sum and io only: langs/README.md section 10): remove pool")


class Detected:
    """What plan's caller knows of a chosen variant: its key and its detection (variant and version)."""

    def __init__(self, key: str, modes: list, version: str):
        variant = Variant(key, key, ThreadModel.ALL_CORES, (), modes=parse_modes(modes))
        self.key, self.detection = key, type("Detection", (), {"variant": variant, "version": version})()


def test_a_plan_leaves_out_what_a_variant_cannot_run_with_one_note_each(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("profiles:\n  p:\n    experiments:\n"
                    "      cpu: {workload: sum, workers: [4], n: 5, modes: [threads, pool, async], repetitions: 1}\n"
                    "      wait: {workload: io, workers: [4], n: 5, modes: [pool, async], repetitions: 1}\n")
    profile = load_config(path).profile("p")
    chosen = [Detected("java:17", ["threads", "pool", {"mode": "async", "min_version": "21"}], "17.0.9"),
              Detected("java:25", ["threads", "pool", {"mode": "async", "min_version": "21"}], "25.0.1"),
              Detected("go", None, "1.22.5")]
    unsupported = unsupported_modes(chosen)
    keys = [c.key for c in chosen]
    runs = plan(profile, keys, unsupported=unsupported)
    assert sorted({(r.key, r.mode) for r in runs}) == [
        ("go", "threads"), ("java:17", "pool"), ("java:17", "threads"),
        ("java:25", "async"), ("java:25", "pool"), ("java:25", "threads")]
    assert left_out_notes(profile, keys, unsupported) == [
        "java:17: async mode left out (needs toolchain version 21 or later, found 17.0.9) in experiments cpu, wait",
        "go: pool mode left out (its manifest's modes are threads, processes) in experiments cpu, wait",
        "go: async mode left out (its manifest's modes are threads, processes) in experiments cpu, wait"]


def test_a_plan_left_with_nothing_says_the_modes_were_left_out(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("profiles:\n  p:\n    experiments:\n      wait: {workload: io, workers: [4], n: 5, modes: [pool]}\n")
    chosen = [Detected("go", None, "1.22.5")]
    with pytest.raises(ConfigError) as caught:
        plan(load_config(path).profile("p"), ["go"], "e.yaml", unsupported_modes(chosen))
    assert caught.value.problem == ("nothing to run for languages go — check --langs and the experiments' `langs` "
                                    "keys; the modes they ask for are left out (see the notes)")
