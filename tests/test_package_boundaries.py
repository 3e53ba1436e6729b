"""The lab and the analysis form no loop (issue 9): analysis/ imports of polylab only the results room
(polylab.results: what a results set is, how it is written and read) and the console helper; polylab never
imports analysis; and the results room imports nothing of the lab beyond the user-error type, so that reading
a set cannot pull the runner in."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Each module file under folder (relative path) → the absolute module names it imports."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def outside(folder: str, allowed: tuple[str, ...], watched: str) -> dict[str, list[str]]:
    """Per module under folder, the modules of package `watched` it imports that are not in `allowed`."""
    def stray(name: str) -> bool:
        return name.split(".")[0] == watched and not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    found = {path: sorted(filter(stray, names)) for path, names in imported_modules(ROOT / folder).items()}
    return {path: names for path, names in found.items() if names}


def test_analysis_imports_only_the_results_room_and_the_console():
    assert outside("analysis", ("polylab.results", "polylab.console"), "polylab") == {}


def test_the_lab_never_imports_analysis():
    assert outside("polylab", (), "analysis") == {}


def test_the_results_room_imports_nothing_of_the_lab_but_the_user_error():
    assert outside("polylab/results", ("polylab.results", "polylab.config.errors"), "polylab") == {}


@pytest.mark.parametrize("source, expected", [("from polylab.sample.tree import X\n", ["polylab.sample.tree"]),
                                              ("import polylab.run.runner\n", ["polylab.run.runner"]),
                                              ("from polylab.results import store\n", [])])
def test_the_check_sees_both_forms_of_import(tmp_path, monkeypatch, source, expected):
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "m.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert outside("analysis", ("polylab.results", "polylab.console"), "polylab") == (
        {"analysis/m.py": expected} if expected else {})
