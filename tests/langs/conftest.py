"""The contract tests' `built` fixture: every folder in langs/, built once per test module (langcontract.py
holds the helpers the test modules import)."""

from __future__ import annotations

import pytest

from langcontract import FOLDERS, lang_id
from polylab.config.errors import ConfigError
from polylab.config.manifests import load_language
from polylab.run.backends import BuildError
from polylab.run.lab import build_all, choose, langs_folder, load_lab


@pytest.fixture(scope="module", params=[f.name for f in FOLDERS], ids=lang_id)
def built(request, tmp_path_factory):
    """(lab, choice, out dir) for one language folder, built; fails with what is missing otherwise."""
    folder = langs_folder() / request.param
    try:
        language = load_language(folder, folder.parent)
    except ConfigError as exc:
        pytest.fail(f"{request.param}: manifest is not valid: {exc}", pytrace=False)
    lab = load_lab()
    variants = choose(lab, [language.name], "local")     # the first variant found here runs the contract
    choice = next((c for c in variants if c.detection.ok), None)
    if choice is None:
        pytest.fail("; ".join(f"{language.name}: {c.detection.problem} — install: {c.detection.hint}"
                              for c in variants), pytrace=False)
    outcome = build_all(lab, [choice])[choice.key]
    if isinstance(outcome, BuildError):
        pytest.fail(f"{language.name}: {outcome}\n{outcome.log_tail}", pytrace=False)
    out = tmp_path_factory.mktemp(f"contract-{language.name}")
    (out / "raw").mkdir()
    return lab, choice, out
