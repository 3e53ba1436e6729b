import textwrap
import warnings

import pytest

from polylab.config.experiments import load_config
from polylab.config.errors import ConfigError
from polylab.config.validation import ConfigWarning

from labpaths import ROOT


def write(tmp_path, text):
    path = tmp_path / "experiments.yaml"
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """
    version: 1
    default_profile: p
    defaults: {repetitions: 2, sample_hz: 20}
    profiles:
      p:
        defaults: {timeout_s: 30}
        experiments:
          cpu: {workload: sum, workers: [1, 2], seconds: 1}
          print: {workload: sum-print, workers: [8], n: 100, modes: [threads], repetitions: 1, sink: pipe}
"""


def test_settings_cascade_experiment_over_profile_over_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    cpu, print_ = config.profile(None).experiments
    assert (cpu.repetitions, cpu.timeout_s, cpu.sample_hz, cpu.modes) == (2, 30.0, 20.0, ("threads", "processes"))
    assert (print_.repetitions, print_.sink, print_.n, print_.seconds) == (1, "pipe", 100, None)


def test_the_shipped_experiments_file_has_the_three_profiles():
    config = load_config(ROOT / "experiments.yaml")
    assert set(config.profiles) >= {"smoke", "quick", "seed"} and config.default_profile == "quick"
    seed = config.profile("seed").experiments[0]
    assert (seed.workload, seed.workers, seed.n, seed.modes) == ("sum-print", (8,), 10_000_000,
                                                                ("threads", "processes"))
    quick = config.profile("quick").experiments
    assert quick[0].workers == (1, 2, 4, 8) and quick[0].seconds


def test_wrong_type_names_file_entry_and_key(tmp_path):
    path = write(tmp_path, GOOD.replace("workers: [1, 2]", "workers: two"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == ("==> File experiments.yaml ==> At profile 'p' / experiment 'cpu' ==> At key: "
                                 "workers =====> Expected list of int, got str 'two'")


def test_invalid_yaml_syntax_names_line(tmp_path):
    path = write(tmp_path, "profiles:\n  p: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith("==> File experiments.yaml ==> At line 3, column 1 =====> invalid YAML")


@pytest.mark.parametrize("change, key, problem", [
    ("workload: sum,", "workload", "Expected one of sum, sum-print, got 'summ'"),
    ("seconds: 1}", "n", "Set exactly one of 'n' (count mode) or 'seconds' (duration mode)"),
    ("workers: [1, 2]", "workers", "Expected a non-empty list of positive worker counts"),
])
def test_wrong_values_fail(tmp_path, change, key, problem):
    replacement = {"workload: sum,": "workload: summ,", "seconds: 1}": "seconds: 1, n: 5}",
                   "workers: [1, 2]": "workers: [0]"}[change]
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD.replace(change, replacement, 1)))
    assert caught.value.key == key and caught.value.problem == problem
    assert caught.value.entry == "profile 'p' / experiment 'cpu'"


def test_unknown_keys_warn_but_load(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_config(write(tmp_path, GOOD.replace("workload: sum,", "workload: sum, repetitons: 4,")))
    messages = [str(w.message) for w in caught if w.category is ConfigWarning]
    assert messages == ["experiments.yaml: profile 'p' / experiment 'cpu': unknown key 'repetitons' ignored"]


def test_unknown_profile(tmp_path):
    with pytest.raises(ConfigError, match="unknown profile 'nope'; known: p"):
        load_config(write(tmp_path, GOOD)).profile("nope")


def test_backend_per_language_must_be_known(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD + "    backends: {go: docker}\n"))
    assert str(caught.value) == ("==> File experiments.yaml ==> At top level ==> At key: backends =====> backend of "
                                 "'go' must be one of local, container, auto, got 'docker'")
