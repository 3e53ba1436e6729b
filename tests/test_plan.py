import pytest

from polylab.config.experiments import load_config
from polylab.config.errors import ConfigError
from polylab.run.plan import plan

from labpaths import ROOT


def test_quick_profile_matrix():
    profile = load_config(ROOT / "experiments.yaml").profile("quick")
    runs = plan(profile, ["go", "python"])
    cpu = [r for r in runs if r.experiment == "cpu"]
    assert len(cpu) == 2 * 2 * 2 * 3      # languages x modes x worker counts x repetitions
    assert len({r.run_id for r in runs}) == len(runs)
    assert cpu[0].run_id == "cpu.go.threads.w1.r1"
    assert cpu[0].contract_args("/r.json") == ["--workload", "sum", "--mode", "threads", "--workers", "1",
                                               "--seconds", "0.5", "--result", "/r.json"]


def test_warmups_come_first_and_are_flagged(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("profiles:\n  p:\n    experiments:\n      x: {workload: sum, workers: [2], n: 5, "
                    "modes: [threads], warmup: 1, repetitions: 2}\n")
    runs = plan(load_config(path).profile("p"), ["go"])
    assert [(r.run_id, r.warmup) for r in runs] == [("x.go.threads.w2.warmup1", True), ("x.go.threads.w2.r1", False),
                                                    ("x.go.threads.w2.r2", False)]


def test_empty_matrix_after_filtering_is_an_error(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("profiles:\n  p:\n    experiments:\n      x: {workload: sum, workers: [2], n: 5, langs: [go]}\n")
    with pytest.raises(ConfigError, match="At profile .p. ==> At key: experiments =====> nothing to run for languages python"):
        plan(load_config(path).profile("p"), ["python"])


def test_runs_of_an_experiment_are_interleaved_round_by_round(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("profiles:\n  p:\n    experiments:\n      x: {workload: sum, workers: [1, 2], n: 5, "
                    "modes: [threads], warmup: 1, repetitions: 2}\n      y: {workload: sum, workers: [1], n: 5, "
                    "modes: [threads], repetitions: 2}\n")
    runs = plan(load_config(path).profile("p"), ["go", "python"])
    assert [run.run_id for run in runs] == [
        "x.go.threads.w1.warmup1", "x.go.threads.w2.warmup1", "x.python.threads.w1.warmup1",
        "x.python.threads.w2.warmup1",                                     # warm-ups first
        "x.go.threads.w1.r1", "x.go.threads.w2.r1", "x.python.threads.w1.r1", "x.python.threads.w2.r1",
        "x.go.threads.w1.r2", "x.go.threads.w2.r2", "x.python.threads.w1.r2", "x.python.threads.w2.r2",
        "y.go.threads.w1.r1", "y.python.threads.w1.r1", "y.go.threads.w1.r2", "y.python.threads.w1.r2"]
