"""Per-run sample tables: one parquet part per finished run, gathered into the set's two long-form tables.

Parts are written atomically after their run ends, so an interrupted run leaves no part behind; gathering
rebuilds samples.parquet and threads.parquet from every part, and is safe to repeat.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from polylab.results import store

SAMPLE_COLUMNS = ["t_s", "core", "system_pct", "workload_pct"]
THREAD_COLUMNS = ["t_s", "pid", "tid", "name", "core", "cpu_s", "ctx_voluntary", "ctx_involuntary", "migrations"]
SUMMARY_KEYS = ["samples", "workload_cpu_s", "unplaced_cpu_s", "migrations", "threads_max", "per_core_busy_s",
                "sampler_cpu_s", "interval_s"]


def _frame(data, columns: list[str], run_id: str) -> pd.DataFrame:
    frame = pd.DataFrame(data, columns=columns) if len(data) else pd.DataFrame(columns=columns)
    frame.insert(0, "run_id", run_id)
    return frame


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def write_parts(out: Path, run_id: str, samples) -> dict:
    """Store one run's samples; returns the summary columns for its runs.jsonl row."""
    parts = out / store.PARTS
    _write_atomic(_frame(samples.samples, SAMPLE_COLUMNS, run_id), parts / f"{run_id}.samples.parquet")
    _write_atomic(_frame(samples.threads, THREAD_COLUMNS, run_id), parts / f"{run_id}.threads.parquet")
    return {key: samples.summary.get(key) for key in SUMMARY_KEYS if key in samples.summary}


def _gather(out: Path, kind: str, columns: list[str]) -> None:
    parts = sorted((out / store.PARTS).glob(f"*.{kind}.parquet"))
    frames = [pd.read_parquet(part) for part in parts]
    frames = [frame for frame in frames if not frame.empty]
    combined = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["run_id", *columns])
    _write_atomic(combined, out / f"{kind}.parquet")


def gather_parts(out: Path) -> None:
    _gather(out, "samples", SAMPLE_COLUMNS)
    _gather(out, "threads", THREAD_COLUMNS)
