"""Merge the hosts' results sets (results/<set>/hosts/<host>/) into the set's own tables.

Each host's rows keep every key, gain `host`, and their run_id becomes `<host>/<run_id>`, unique across hosts
(and the path of the host's folder under hosts/, where its raw/ files stay). samples.parquet and
threads.parquet get the same prefixed run_id and a `host` column. meta.json's `hosts` section gains each
host's machine description (the lab's own, from the host's meta.json), toolchains and row counts.
The merged files are rebuilt from the hosts' folders every time: merging is safe to repeat.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from polylab.hosts.inventory import LOCAL
from polylab.hosts.state import Ledger, host_folder
from polylab.results import store
from polylab.results.schema import (HOST, META, PARTS, RUN_ID, RUNS, SAMPLE_COLUMNS, SAMPLES, THREAD_COLUMNS,
                                    THREADS)
from polylab.results.tables import gather_parts

TABLES = {SAMPLES: SAMPLE_COLUMNS, THREADS: THREAD_COLUMNS}


def host_run_id(host: str, run_id: str) -> str:
    return f"{host}/{run_id}"


def _tables_behind(folder: Path) -> bool:
    """Parts newer than the gathered tables (a set pulled before its lab gathered them)."""
    parts = list((folder / PARTS).glob("*")) if (folder / PARTS).is_dir() else []
    if not parts:
        return False
    gathered = [folder / table for table in TABLES]
    return not all(path.exists() for path in gathered) or max(p.stat().st_mtime for p in parts) > min(
        path.stat().st_mtime for path in gathered)


def _host_table(folder: Path, host: str, table: str) -> pd.DataFrame | None:
    path = folder / table
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    frame[RUN_ID] = [host_run_id(host, run_id) for run_id in frame[RUN_ID]]
    frame.insert(0, HOST, host)
    return frame


def merge(out: Path) -> dict:
    """Write the merged runs.jsonl, samples.parquet, threads.parquet and meta.json of a hosts set; returns
    {host: (rows, rows ok)}."""
    ledger = Ledger.load(out)
    rows, frames, counts, planned = [], {table: [] for table in TABLES}, {}, 0
    for name in ledger.meta["hosts"]:
        folder = host_folder(out, name)
        if _tables_behind(folder):
            gather_parts(folder)
        host_rows = store.read_runs(folder)
        rows += [{**row, RUN_ID: host_run_id(name, row[RUN_ID]), HOST: name} for row in host_rows]
        for table in TABLES:
            frame = _host_table(folder, name, table)
            if frame is not None and not frame.empty:
                frames[table].append(frame)
        ok = sum(row.get("status") == "ok" for row in host_rows)
        counts[name] = (len(host_rows), ok)
        lab_meta = store.read_meta(folder) if (folder / META).exists() else {}
        planned += lab_meta.get("planned_runs") or 0
        facts = {"rows": len(host_rows), "rows_ok": ok, "planned_runs": lab_meta.get("planned_runs")}
        for key in ("machine", "toolchains", "skipped"):
            if lab_meta.get(key) is not None:
                facts[key] = lab_meta[key]
        if "machine" in facts and name != LOCAL and not facts["machine"].get("git_commit"):   # shipped: no .git
            facts["machine"] = {**facts["machine"], "git_commit": ledger.request.get("commit")}
        ledger.meta["hosts"][name].update(facts)
        if "config" in lab_meta and "config" not in ledger.meta:
            ledger.meta["config"] = lab_meta["config"]
    ledger.meta["planned_runs"] = planned
    store.atomic_write_text(out / RUNS, "".join(json.dumps(row, default=str) + "\n" for row in rows))
    for table, columns in TABLES.items():
        combined = (pd.concat(frames[table], ignore_index=True) if frames[table]
                    else pd.DataFrame(columns=[HOST, RUN_ID, *columns]))
        store.atomic_write(out / table, lambda tmp, frame=combined: frame.to_parquet(tmp, index=False))
    with ledger.lock:
        ledger.save()
    return counts
