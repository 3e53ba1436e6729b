"""What the container-test engine modules share: the error type, the progress log, tool lookup, log
tails and the cache directory."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

CACHE_DIR = Path(os.environ.get("POLYLAB_TEST_IMAGE_CACHE", "/var/cache/polylab"))
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_T0 = time.monotonic()

Log = Callable[[str], None]


class EngineError(RuntimeError):
    """The test engine could not be provided. CI must treat this as a failure, not a skip."""


def stderr_log(msg: str) -> None:
    print(f"[polylab-engine +{time.monotonic() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + SBIN_PATH)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text[-lines:])
