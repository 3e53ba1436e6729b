"""Per-run sample tables: one parquet part per finished run, gathered into the set's two long-form tables.

Parts are written atomically after their run ends, so an interrupted run leaves no part behind; gathering
rebuilds samples.parquet and threads.parquet from every part, and is safe to repeat.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from polylab.results.schema import PARTS, RUN_ID, SAMPLE_COLUMNS, SAMPLES, THREAD_COLUMNS, THREADS, TRACE_COLUMNS
from polylab.results.store import atomic_write

TABLES = {SAMPLES: SAMPLE_COLUMNS, THREADS: THREAD_COLUMNS}


def _frame(data, columns: tuple[str, ...], run_id: str) -> pd.DataFrame:
    frame = pd.DataFrame(data, columns=list(columns)) if len(data) else pd.DataFrame(columns=list(columns))
    frame.insert(0, RUN_ID, run_id)
    return frame


def _write(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _part(out: Path, run_id: str, table: str) -> Path:
    return out / PARTS / f"{run_id}.{table}"       # e.g. parts/<run_id>.samples.parquet


def write_parts(out: Path, run_id: str, samples) -> None:
    """Store one run's samples (a sampler's RunSamples) as its two parts."""
    _write(_frame(samples.samples, SAMPLE_COLUMNS, run_id), _part(out, run_id, SAMPLES))
    _write(_frame(samples.threads, THREAD_COLUMNS, run_id), _part(out, run_id, THREADS))


def write_trace(path: Path, rows: list[tuple]) -> None:
    """A traced run's scheduler events (TRACE_COLUMNS), compactly typed: a second of a busy run is ~10^4 rows."""
    frame = pd.DataFrame(rows, columns=list(TRACE_COLUMNS)).astype(
        {"t_s": "float64", "cpu": "int16", "kind": "category", "tid": "int32", "pid": "int32", "state": "category",
         "from_cpu": "Int16", "to_cpu": "Int16"})
    _write(frame, path)


def gather_parts(out: Path) -> None:
    for table, columns in TABLES.items():
        frames = [pd.read_parquet(part) for part in sorted((out / PARTS).glob(f"*.{table}"))]
        frames = [frame for frame in frames if not frame.empty]
        combined = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[RUN_ID, *columns])
        _write(combined, out / table)
