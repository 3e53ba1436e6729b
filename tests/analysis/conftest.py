"""Fixtures for the analysis tests: synthetic results sets (synthetic.py) and one report built from them.

Reports take a while to draw, so the default set and its report are built once per session; tests that
change files work on their own copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labpaths import load_by_path

_HERE = Path(__file__).resolve().parent


synthetic = load_by_path("polylab_tests_analysis_synthetic", _HERE / "synthetic.py")


@pytest.fixture(scope="session")
def make_set(tmp_path_factory):
    """make_set(**scenario_fields) -> folder of a fresh synthetic results set."""
    def make(**fields) -> Path:
        folder = tmp_path_factory.mktemp("results")
        return synthetic.write_results_set(folder, synthetic.Scenario(**fields))
    return make


@pytest.fixture(scope="session")
def default_set(make_set) -> Path:
    """The default synthetic set (2 cores, 10 Hz, 4 languages, 3 repetitions); do not modify it."""
    return make_set()


@pytest.fixture(scope="session")
def default_results(default_set):
    from analysis.load import load_results
    return load_results(default_set)


@pytest.fixture(scope="session")
def workload_set(make_set) -> Path:
    """The default set and runs of every contract-2 workload (synthetic_workloads.py); do not modify it."""
    return make_set(workloads=synthetic.contract_2.CONTRACT_2)


@pytest.fixture(scope="session")
def workload_results(workload_set):
    from analysis.load import load_results
    return load_results(workload_set)


@pytest.fixture(scope="session")
def built_report(workload_set, tmp_path_factory) -> Path:
    """A copy of the workload set (every workload, so every figure and claim) with its report built."""
    from analysis.report import build_report
    folder = tmp_path_factory.mktemp("report") / "set"
    shutil.copytree(workload_set, folder)
    build_report(folder)
    return folder


@pytest.fixture(scope="session")
def shown_figures() -> list[tuple[str, str]]:
    """(name, title) of the figures a synthetic set's report shows: all but those about runs the synthetic sets
    never have (a scheduler trace; pool and async modes), which are left out of a report, unlisted."""
    from analysis import figures
    return [(name, title) for name, title, _ in figures.FIGURES if name not in {"exact-task-manager", "task-threads"}]
