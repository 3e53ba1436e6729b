"""The `cpus` knob: a run limited to N cores runs on the first N CPUs this process may use, and only there."""

import os

import pandas as pd
import pytest

from polylab.results import store
from polylab.config.experiments import load_config
from polylab.config.errors import ConfigError
from polylab.run.lab import build_all, choose, load_lab
from polylab.run.matrix import run_one
from polylab.run.plan import RunSpec, plan
from polylab.sample.sampler import Sampler

CPUS = sorted(os.sched_getaffinity(0))


@pytest.mark.skipif(len(CPUS) < 2, reason="needs 2 usable cores to show a limit")
def test_a_one_core_run_stays_on_its_core(tmp_path):
    lab = load_lab()
    choice = choose(lab, ["go"], "local")[0]
    build_all(lab, [choice])
    store.prepare(tmp_path)
    spec = RunSpec(run_id="limited", experiment="limit", lang="go", workload="sum", mode="threads", workers=2,
                   n=None, seconds=1.0, rep=1, warmup=False, timeout_s=60, sink="devnull", sample_hz=10,
                   perf=False, cpus=1)
    with Sampler(hz=10) as sampler:
        row = run_one(lab, spec, choice, tmp_path, sampler).to_row()
    assert row["status"] == "ok" and row["cpus"] == 1
    assert row["parallelism"] <= 1.1                     # two busy workers, one core
    samples = pd.read_parquet(tmp_path / "parts" / "limited.samples.parquet")
    per_core = samples.groupby("core")["workload_pct"].sum()
    assert per_core.idxmax() == CPUS[0] and per_core.drop(CPUS[0]).sum() < 0.02 * per_core.sum()


def test_more_cores_than_available_is_a_config_error(tmp_path):
    path = tmp_path / "experiments.yaml"
    path.write_text(f"profiles:\n  p:\n    experiments:\n      x: {{workload: sum, workers: [2], n: 5, "
                    f"cpus: {len(CPUS) + 1}}}\n")
    with pytest.raises(ConfigError) as caught:
        plan(load_config(path).profile("p"), ["go"], "experiments.yaml")
    assert str(caught.value) == (f"==> File experiments.yaml ==> At profile 'p' / experiment 'x' ==> At key: cpus "
                                 f"=====> {len(CPUS) + 1} cores asked for, {len(CPUS)} available here")
