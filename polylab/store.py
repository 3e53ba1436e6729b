"""Results sets on disk: `meta.json`, append-only `runs.jsonl`, per-run sample parts gathered into parquet.

Format history (bump SCHEMA_VERSION on any change a reader must know about):
  1 — first version: meta.json, runs.jsonl, samples.parquet, threads.parquet.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .errors import UserError

SCHEMA_VERSION = 1
RUNS = "runs.jsonl"
META = "meta.json"
PARTS = "parts"
RAW = "raw"


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def new_results_dir(root: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / stamp
    suffix = 1
    while path.exists():
        suffix += 1
        path = root / f"{stamp}-{suffix}"
    return path


def prepare(directory: Path) -> None:
    """Create the set's folders and prove they are writable before anything runs."""
    try:
        for sub in (directory, directory / RAW, directory / PARTS):
            sub.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-probe"
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 65536)
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        raise UserError(f"results folder {directory} is not writable: {exc.strerror or exc} — choose another "
                        f"with --out or free some space") from None


def point_latest(directory: Path) -> None:
    """results/latest → this set (only for sets inside a `results/` root)."""
    latest = directory.parent / "latest"
    tmp = directory.parent / ".latest.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(directory.name)
    tmp.replace(latest)


def write_meta(directory: Path, meta: dict) -> None:
    atomic_write_text(directory / META, json.dumps({"schema_version": SCHEMA_VERSION, **meta}, indent=2,
                                                   default=str) + "\n")


def read_meta(directory: Path) -> dict:
    try:
        return json.loads((directory / META).read_text())
    except FileNotFoundError:
        return {}


def append_run(directory: Path, row: dict) -> None:
    """One line per run, written in a single write and synced, so a crash loses at most the run in flight."""
    line = json.dumps({"schema_version": SCHEMA_VERSION, **row}, default=str) + "\n"
    fd = os.open(directory / RUNS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_runs(directory: Path) -> list[dict]:
    """Every complete row; a torn last line (the process died mid-write) is ignored."""
    path = directory / RUNS
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows
