"""Results sets on disk: `meta.json`, append-only `runs.jsonl`, and the one atomic write every file of a set
goes through. What the files are and hold is declared in polylab.results.schema; this module writes and
reads them, checking the version of what it reads (a newer set is refused, an older one upgraded).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from polylab.config.errors import UserError
from polylab.results.schema import META, PARTS, RAW, RUN_ID, RUNS, SCHEMA_VERSION, RunRecord
from polylab.results.upgrades import UPGRADES

# A quick-profile set takes a few MiB; below this much free space a matrix would likely be cut short.
MIN_FREE_BYTES = 32 * 2**20


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """write(temporary path) beside `path`, synced, then renamed over it: a reader (or a crash) sees the old
    file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


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


def resume_folder(resume: str | bool, checkout: Path) -> Path:
    """The set `--resume` names: a folder, or `latest` (the flag alone too), the checkout's results/latest."""
    if resume is True or resume == "latest":
        latest = checkout / "results" / "latest"
        if not latest.exists():
            raise UserError("nothing to resume: results/latest does not exist — pass the folder: --resume DIR")
        return latest.resolve()
    return Path(resume).resolve()


def write_meta(directory: Path, meta: dict) -> None:
    atomic_write_text(directory / META, json.dumps({"schema_version": SCHEMA_VERSION, **meta}, indent=2,
                                                   default=str) + "\n")


def _current(record: dict, kind: str, path: Path) -> dict:
    """`record` (a row, or meta) as the current version has it: refused when newer, upgraded when older.
    Hand-made rows without a version are taken as version 1, the first."""
    version = record.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise UserError(f"{path}: schema_version {version!r} is not a version number")
    if version > SCHEMA_VERSION:
        raise UserError(f"{path} was written by results schema version {version}, and this polylab reads up to "
                        f"version {SCHEMA_VERSION} — update polylab to read it")
    for step in range(version, SCHEMA_VERSION):
        if step not in UPGRADES:
            raise UserError(f"{path}: results schema version {version} cannot be read: no upgrade from version {step}")
        record = getattr(UPGRADES[step], kind)(record)
    return {**record, "schema_version": SCHEMA_VERSION} if version != SCHEMA_VERSION else record


class DamagedResults(UserWarning):
    """Part of a results set could not be read and was left out; the rest is read."""


def read_meta(directory: Path) -> dict:
    """meta.json ({} where there is none). Without it a set cannot be read: its machine, toolchains and config
    explain every row, so a damaged one is an error, not something to skip."""
    path = directory / META
    try:
        meta = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except ValueError as exc:    # not JSON, or not UTF-8
        raise UserError(f"{path} cannot be read: {_one_line(exc)} — the set cannot be interpreted without "
                        f"it") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path} cannot be read: it holds a JSON {type(meta).__name__}, not an object — the set "
                        f"cannot be interpreted without it")
    return _current(meta, "meta", path)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _cut_torn_line(fd: int) -> None:
    """Drop a last line without its newline (a crash mid-write): appended to, it would swallow the next row."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.ftruncate(fd, os.pread(fd, size, 0).rfind(b"\n") + 1)


def append_run(directory: Path, record: RunRecord) -> None:
    """One line per run, written in a single write and synced, so a crash loses at most the run in flight."""
    line = json.dumps(record.to_row(), default=str) + "\n"
    fd = os.open(directory / RUNS, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _cut_torn_line(fd)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RunRows:
    """runs.jsonl as read: its rows, and the numbers (from 1) of the lines that held no row and were skipped."""

    rows: list[dict]
    skipped_lines: tuple[int, ...] = ()


def _row(line: bytes) -> dict | None:
    try:
        row = json.loads(line)
    except ValueError:           # not JSON, or not UTF-8
        return None
    return row if isinstance(row, dict) and isinstance(row.get(RUN_ID), str) else None


def read_run_rows(directory: Path) -> RunRows:
    """Every row, as the current version has it. A line that holds no row is skipped and counted, with a warning
    that names it; a torn last line (no newline: the process died mid-write, losing the run in flight, and the
    next append cuts it) is dropped without a word."""
    path = directory / RUNS
    if not path.exists():
        return RunRows([])
    data = path.read_bytes()
    lines = data.split(b"\n")
    torn = lines.pop()           # b"" when the file ends with its newline
    rows, skipped = [], []
    for number, line in enumerate(lines, start=1):
        row = _row(line)
        if row is None:
            skipped.append(number)
        else:
            rows.append(_current(row, "row", path))
    if torn and (row := _row(torn)) is not None:    # a last row written without its newline (by hand) still counts
        rows.append(_current(row, "row", path))
    if skipped:   # warned from here, not from the caller: Python shows a text once per place, so two reads warn once
        warnings.warn(f"{path}: skipped {skipped_lines_text(skipped)}; a run written there counts as not run",
                      DamagedResults)
    return RunRows(rows, tuple(skipped))


def skipped_lines_text(numbers) -> str:
    """'1 unreadable line (line 7)', '3 unreadable lines (lines 2, 5, 9)', at most ten numbers listed."""
    numbers = list(numbers)
    shown = ", ".join(map(str, numbers[:10])) + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
    plural = "s" if len(numbers) > 1 else ""
    return f"{len(numbers)} unreadable line{plural} (line{plural} {shown})"


def read_runs(directory: Path) -> list[dict]:
    """The rows of read_run_rows (which warns about the lines it skipped)."""
    return read_run_rows(directory).rows
