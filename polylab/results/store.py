"""Results sets on disk: `meta.json`, append-only `runs.jsonl`, per-run sample parts gathered into parquet.

Format history (bump SCHEMA_VERSION on any change a reader must know about):
  1 — first version: meta.json, runs.jsonl, samples.parquet, threads.parquet.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from polylab.config.errors import UserError

SCHEMA_VERSION = 1
RUNS = "runs.jsonl"
META = "meta.json"
PARTS = "parts"
RAW = "raw"
# A quick-profile set takes a few MiB; below this much free space a matrix would likely be cut short.
MIN_FREE_BYTES = 32 * 2**20


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
    """Create the set's folders and prove they are writable, with room to spare, before anything runs."""
    try:
        for sub in (directory, directory / RAW, directory / PARTS):
            sub.mkdir(parents=True, exist_ok=True)
        usage = os.statvfs(directory)
        free_bytes = usage.f_bavail * usage.f_frsize
        if free_bytes < MIN_FREE_BYTES:
            raise UserError(f"results folder {directory} has only {free_bytes / 2**20:.1f} MiB free, less than the "
                            f"{MIN_FREE_BYTES // 2**20} MiB a results set may need — choose another with --out or "
                            f"free some space")
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


def _cut_torn_line(fd: int) -> None:
    """Drop a last line without its newline (a crash mid-write): appended to, it would swallow the next row."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.ftruncate(fd, os.pread(fd, size, 0).rfind(b"\n") + 1)


def append_run(directory: Path, row: dict) -> None:
    """One line per run, written in a single write and synced, so a crash loses at most the run in flight."""
    line = json.dumps({"schema_version": SCHEMA_VERSION, **row}, default=str) + "\n"
    fd = os.open(directory / RUNS, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _cut_torn_line(fd)
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
