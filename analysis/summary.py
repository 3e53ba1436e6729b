"""A minimal summary of a results set: medians per configuration, from runs.jsonl only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from polylab import store

GROUP = ["experiment", "lang", "mode", "workload", "workers"]


def runs_frame(directory: Path) -> pd.DataFrame:
    return pd.DataFrame(store.read_runs(directory))


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    measured = runs[(runs["status"] == "ok") & (~runs["warmup"].astype(bool))].copy()
    if measured.empty:
        return pd.DataFrame(columns=[*GROUP, "runs", "wall_s", "inner_s", "cpu_s", "parallelism"])
    measured["cpu_s"] = measured["user_s"] + measured["sys_s"]
    table = measured.groupby(GROUP, observed=True).agg(
        runs=("run_id", "count"), wall_s=("wall_s", "median"), inner_s=("inner_s", "median"),
        cpu_s=("cpu_s", "median"), parallelism=("parallelism", "median")).reset_index()
    return table.round(3)


def status_counts(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.groupby(["lang", "mode", "status"]).size().unstack(fill_value=0).reset_index()
