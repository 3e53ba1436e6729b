"""The Machines section's figures (analysis/machines.py): the report's key figures with one row of panels per
host, each with its own cores' ideal. One figure-level seaborn call each, as in plots.py, whose helpers they use."""

from __future__ import annotations

import pandas as pd
import seaborn as sns

from .plots import RANGE, _ideal_line, _label_rows, _worker_axis, compact, themed


def _host_ideal(data: pd.DataFrame, measure: str | None = None, **_):
    """The dashed ideal of the host a row of panels shows, from the cores its runs could use."""
    _ideal_line(data, int(data["cores"].max()), measure=measure)


def _by_host(data: pd.DataFrame, y: str, measure: str | None, palette: dict):
    grid = sns.relplot(data=data, kind="line", x="workers", y=y, hue="variant_label", style="variant_label",
                       markers=True, dashes=False, row="machine", col="mode", estimator="median", errorbar=RANGE,
                       height=2.5, aspect=1.3, palette=palette,
                       facet_kws={"margin_titles": True, "sharey": True})
    grid.legend.set_title("language")
    grid.map_dataframe(_host_ideal, measure=measure)
    grid.set_titles(col_template="{col_name}", row_template="")
    _worker_axis(grid, data["workers"])
    return grid


@themed
def parallelism_by_host(runs: pd.DataFrame, palette: dict):
    """Effective parallelism against workers: a row per host, a column per mode, a line per runtime."""
    grid = _by_host(compact(runs), "parallelism", "speedup", palette)
    grid.refline(y=1, color="0.6", linestyle=":")
    _label_rows(grid, "(user + sys) / wall")
    return grid.figure


@themed
def speedup_by_host(scaling: pd.DataFrame, palette: dict):
    """Speedup against workers, each host's over its own 1-worker runs: a row per host, a column per mode."""
    grid = _by_host(compact(scaling), "value", "speedup", palette)
    _label_rows(grid, "speedup")
    return grid.figure
