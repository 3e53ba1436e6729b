"""Fixtures for the reliability tests: an InvokeSession whose processes must all be gone afterwards."""

import pytest

from invoke_harness import InvokeSession, assert_nothing_survives, children_of_this_process


@pytest.fixture
def session(tmp_path):
    """An InvokeSession in tmp_path; the test fails if any process started through it survives."""
    before = children_of_this_process()
    started = InvokeSession(tmp_path)
    started.langs.mkdir()
    yield started
    assert_nothing_survives(started, before)


@pytest.fixture(scope="module")
def module_session(tmp_path_factory):
    """The same, shared by a module's tests (one expensive command whose rows several tests check)."""
    before = children_of_this_process()
    started = InvokeSession(tmp_path_factory.mktemp("session"))
    started.langs.mkdir()
    yield started
    assert_nothing_survives(started, before)
