import textwrap
import warnings

import pytest

from polylab.config.experiments import load_config
from polylab.config.errors import ConfigError
from polylab.config.validation import ConfigWarning, load_yaml

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
    assert quick[0].workers == (1, 2) and quick[0].seconds


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
    ("workload: sum,", "workload", "Expected one of sum, sum-print, pingpong, contended, io, native, crash, got "
                                   "'summ'"),
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
    assert messages == ["experiments.yaml: profile 'p' / experiment 'cpu': unknown key 'repetitons' ignored — did "
                        "you mean 'repetitions'?"]


def test_unknown_profile(tmp_path):
    with pytest.raises(ConfigError, match="unknown profile 'nope'; known: p"):
        load_config(write(tmp_path, GOOD)).profile("nope")


def test_backend_per_language_must_be_known(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD + "    backends: {go: docker}\n"))
    assert str(caught.value) == ("==> File experiments.yaml ==> At top level ==> At key: backends =====> backend of "
                                 "'go' must be one of local, container, auto, got 'docker'")


@pytest.mark.parametrize("change, replacement, entry, key, problem", [
    ("sample_hz: 20", "sample_hz: 0.5", "defaults", "sample_hz", "Expected 0 (off) or 1 to 50 Hz, got 0.5"),
    ("n: 100,", "n: 9223372036854775808,", "profile 'p' / experiment 'print'", "n",
     "Expected at most 9223372036854775807 (the largest 64-bit integer), got 9223372036854775808"),
    ("n: 100,", "n: 3000000000001,", "profile 'p' / experiment 'print'", "n",
     "3000000000001 iterations cannot finish within timeout_s (30 s), even at 1e+11 iterations/s (faster than any "
     "CPU core): lower n or raise timeout_s"),
], ids=["sample_hz below the sampler's lowest rate", "n beyond int64", "n beyond what timeout_s allows"])
def test_values_no_run_could_use_are_refused(tmp_path, change, replacement, entry, key, problem):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD.replace(change, replacement, 1)))
    assert (caught.value.entry, caught.value.key, caught.value.problem) == (entry, key, problem)


def test_the_largest_count_that_fits_the_timeout_is_accepted(tmp_path):
    """timeout_s 30 (from the profile's defaults) × 10^11 iterations/s: 3·10^12 passes, one more does not."""
    config = load_config(write(tmp_path, GOOD.replace("n: 100,", "n: 3000000000000,", 1)))
    assert config.profile("p").experiments[1].n == 3_000_000_000_000


def test_sampling_rates_accepted_are_those_the_sampler_takes(tmp_path):
    from polylab.sample.sampler import MAX_HZ, MIN_HZ, Sampler
    for hz in (0, MIN_HZ, MAX_HZ):
        config = load_config(write(tmp_path, GOOD.replace("sample_hz: 20", f"sample_hz: {hz:g}")))
        rate = config.profile("p").experiments[0].sample_hz
        assert rate == hz
        if rate:
            assert Sampler(hz=rate).interval_s == 1 / rate    # constructing checks the rate; nothing starts


def test_null_counts_as_absent(tmp_path):
    config = load_config(write(tmp_path, GOOD.replace("{repetitions: 2,", "{repetitions: null,")))
    assert config.profile("p").experiments[0].repetitions == 3


@pytest.mark.parametrize("setting, counted", [(None, True), ("auto", True), ("true", True), ("false", False)])
def test_perf_is_auto_by_default_and_only_false_turns_it_off(tmp_path, setting, counted):
    text = GOOD if setting is None else GOOD.replace("sample_hz: 20}", f"sample_hz: 20, perf: {setting}}}")
    assert [experiment.perf for experiment in load_config(write(tmp_path, text)).profile("p").experiments] == \
        [counted, counted]


def test_perf_must_be_auto_or_a_bool(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD.replace("sample_hz: 20}", "sample_hz: 20, perf: yes please}")))
    assert (caught.value.entry, caught.value.key, caught.value.problem) == \
        ("defaults", "perf", "Expected auto or bool, got str 'yes please'")


def test_a_mapping_may_override_what_it_merges_but_not_name_a_key_twice(tmp_path):
    merged = tmp_path / "merged.yaml"
    merged.write_text("base: &b {a: 1, c: 2}\nx:\n  <<: *b\n  a: 3\n")
    assert load_yaml(merged, "merged.yaml") == {"base": {"a": 1, "c": 2}, "x": {"a": 3, "c": 2}}
    twice = tmp_path / "twice.yaml"
    twice.write_text("hosts:\n  h1: {ssh: a@127.0.0.2}\n  h1: {ssh: b@127.0.0.3}\n")
    with pytest.raises(ConfigError, match=r"^==> File twice.yaml ==> At line 3, column 3 =====> invalid YAML: "
                                          r"duplicate key 'h1' \(first on line 2\)"):
        load_yaml(twice, "twice.yaml")
