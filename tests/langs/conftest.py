"""The contract tests' `built` fixture: every variant of every folder in langs/ (CPython, free-threaded CPython and
PyPy run one workload.py; each JDK compiles the same sources), built once per test module (langcontract.py holds
the helpers the test modules import)."""

from __future__ import annotations

from pathlib import Path

import pytest

from langcontract import FOLDERS, lang_id
from polylab.cli.doctor import APT_INSTALL
from polylab.config.errors import ConfigError
from polylab.config.manifests import load_language
from polylab.results.schema import split_key
from polylab.run.backends import BuildError, Detection, get_backend
from polylab.run.lab import build_all, choose, load_lab


def contract_subjects() -> dict[str, Detection | ConfigError]:
    """Each variant the local backend finds or misses here, by key (`c`, `python:pypy`, `java:25`; `java:*` when
    no JDK is found), and each folder whose manifest does not load, by folder name."""
    subjects: dict[str, Detection | ConfigError] = {}
    local = get_backend("local")
    for folder in FOLDERS:
        try:
            language = load_language(folder, folder.parent)
        except ConfigError as exc:
            subjects[folder.name] = exc
            continue
        subjects.update((detection.key, detection) for detection in local.detect(language))
    return subjects


SUBJECTS = contract_subjects()


def _made_by_make_toolchains(detection: Detection) -> bool:
    """`make test` runs `make toolchains` first, which installs the Debian packages an `apt-get install` hint
    names and builds what a `make toolchains` hint says: such a variant must be here."""
    return any(APT_INSTALL.fullmatch(t.install.strip()) or t.install.startswith("make toolchains")
               for t in detection.variant.toolchains)


def _missing(detection: Detection) -> None:
    """A variant not installed here fails with its install hint, as a language with none does; only one that no
    make step installs (the .NET SDK) is skipped beside a variant of its language that is found, and the skip
    names it and its hint (pytest -ra lists it)."""
    message = f"{detection.key}: {detection.problem} — install: {detection.hint}"
    found_beside = any(other.ok for other in SUBJECTS.values()
                       if isinstance(other, Detection) and other.lang == detection.lang)
    if found_beside and not _made_by_make_toolchains(detection):
        pytest.skip(f"{message} (no make step installs it; {detection.lang}'s other variants run the contract)")
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module", params=list(SUBJECTS), ids=lang_id)
def built(request, tmp_path_factory):
    """(lab, choice, out dir) for one variant, built; fails with what is missing otherwise."""
    subject = SUBJECTS[request.param]
    if isinstance(subject, ConfigError):
        pytest.fail(f"{request.param}: manifest is not valid: {subject}", pytrace=False)
    if not subject.ok:
        _missing(subject)
    lab = load_lab()
    choice = next(c for c in choose(lab, [subject.key], "local") if c.key == subject.key)
    if not choice.detection.ok:     # gone since collection
        _missing(choice.detection)
    outcome = build_all(lab, [choice])[choice.key]
    if isinstance(outcome, BuildError):
        pytest.fail(f"{choice.key}: {outcome}\n{outcome.log_tail}", pytrace=False)
    out = tmp_path_factory.mktemp(f"contract-{choice.key.replace(':', '-')}")
    (out / "raw").mkdir()
    return lab, choice, out


def pytest_collection_modifyitems(items):
    """`-k "lang[python]"` selects every variant of Python (their ids are `lang[python:pypy]`, ...), as
    `-k "lang[c]"` selects C (langs/README.md section 8)."""
    here = Path(__file__).parent
    for item in items:
        key = item.callspec.params.get("built") if hasattr(item, "callspec") else None
        if key and ":" in key and item.path.is_relative_to(here):
            item.extra_keyword_matches.add(lang_id(split_key(key)[0]))
