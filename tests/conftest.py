import sys
from pathlib import Path

import pytest

from labpaths import ROOT


@pytest.fixture
def invoke_cmd():
    """argv prefix that runs this checkout's tasks.py with the venv's invoke, as a user would."""
    return [str(Path(sys.executable).parent / "invoke"), "--search-root", str(ROOT)]
