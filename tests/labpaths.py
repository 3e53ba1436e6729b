"""What the tests share (a module of its own: every folder's conftest.py is imported as `conftest`)."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_by_path(name: str, path: Path):
    """Import a helper module under a unique name: tests/ folders have no __init__.py (a tests/analysis
    package would shadow the `analysis` package), so plain imports of same-named helpers would clash."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
