"""The report's Machines section, for a set run on several hosts (polylab/hosts/): what each machine is and how
its part of the set went, the key figures with a row of panels per host, and each host against a baseline host.

The rest of the report keeps the hosts apart by itself (analysis/load.py names each runtime with its host); this
section sets them side by side. A set run on one machine has no such section.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from polylab.results.schema import HOST, HOSTS

from . import machine_plots, tidy
from .compare import DEFAULT_FACTOR
from .document import Figure, Heading, Table, Text, format_spread
from .drawn import Drawn, NoData
from .figures import draw_all
from .load import ResultsSet, machine_cores, ordered, variant_labels
from .plots import runtime_palette
from .slices import compare_hosts

VERDICT_WORDS = {"significant: B faster": "faster", "significant: B slower": "slower"}


def hosts_table(results: ResultsSet) -> pd.DataFrame:
    """One row per host of the inventory: its machine, its status and reason, and its runs."""
    rows = []
    for host, record in (results.meta.get(HOSTS) or {}).items():
        machine = record.get("machine") or {}
        memory = machine.get("memory_bytes")
        cores = f"{machine_cores(machine)} of {machine['logical_cores']}" if machine.get("logical_cores") else ""
        rows.append({"host": host, "label": record.get("label") or "", "status": record.get("status") or "",
                     "reason": record.get("reason") or "", "CPU": machine.get("cpu_model") or "",
                     "cores usable": cores, "memory": f"{memory / 2**30:.1f} GiB" if memory else "",
                     "kernel": machine.get("kernel") or "", "OS": machine.get("os") or "",
                     "runs ok": f"{record.get('rows_ok', 0)} of {record.get('rows', 0)}"})
    return pd.DataFrame(rows)


def toolchains_table(results: ResultsSet) -> pd.DataFrame:
    """One row per runtime variant, one column per host: the toolchain, its version and backend there."""
    records = results.meta.get(HOSTS) or {}
    keys = list(dict.fromkeys(key for record in records.values() for key in record.get("toolchains") or {}))
    labels = variant_labels(results.meta, keys)
    rows = []
    for key in keys:
        row = {"language": labels[key]}
        for host, record in records.items():
            entry = (record.get("toolchains") or {}).get(key)
            row[host] = (f"{entry.get('toolchain') or entry.get('variant') or ''} {entry.get('version') or ''} "
                         f"({entry.get('backend') or '?'})").strip() if entry else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def _headline(results: ResultsSet) -> tuple[tidy.Headline, pd.DataFrame]:
    head = tidy.headline(results)
    if head is None:
        raise NoData("no measured runs")
    return head, tidy.headline_runs(results, head, all_workers=True)


def _verdicts(results: ResultsSet, baseline: str, experiment: str, factor: float) -> dict:
    """(host, lang, variant, mode, workers) → each other host's verdict against the baseline host in
    `experiment`."""
    verdicts = {}
    for host in results.hosts:
        if host == baseline:
            continue
        table = compare_hosts(results, baseline, host, factor)
        for row in table[table["experiment"].astype(str) == experiment].itertuples(index=False):
            verdicts[(host, str(row.lang), str(row.variant), str(row.mode), int(row.workers))] = \
                VERDICT_WORDS.get(row.verdict, row.verdict)
    return verdicts


def baseline_table(results: ResultsSet, baseline: str, factor: float = DEFAULT_FACTOR) -> pd.DataFrame:
    """The headline experiment at every worker count: one row per runtime, mode, workers and host, with the
    host's parallelism and throughput (median, min–max), their medians over the baseline host's, and the
    verdict of `invoke compare-within --results SET --hosts BASELINE,HOST` for that row."""
    head, runs = _headline(results)
    verdicts = _verdicts(results, baseline, head.experiment, factor)
    keys = ["variant_label", "lang", "variant", "mode", "workers"]
    rows = []
    for key, group in runs.groupby(keys, observed=True):
        by_host = dict(iter(group.groupby(HOST, observed=True)))
        base = by_host.get(baseline)
        for host, runs_there in by_host.items():
            row = dict(zip(keys, key))
            row.update(host=host, n=len(runs_there))
            for column, name in (("parallelism", "parallelism"), ("throughput", "iterations/s")):
                row[name] = format_spread(tidy.spread(runs_there[column]), with_n=False)
                row[f"{name} ÷ {baseline}"] = (runs_there[column].median() / base[column].median()
                                               if base is not None else np.nan)
            row[f"vs {baseline}"] = "baseline" if host == baseline else verdicts.get(
                (str(host), str(row["lang"]), str(row["variant"]), str(row["mode"]), int(row["workers"])), "")
            rows.append(row)
    return pd.DataFrame(rows).drop(columns=["lang", "variant"]).rename(columns={"variant_label": "language"})


def _machine_rows(results: ResultsSet, frame: pd.DataFrame) -> pd.Series:
    """Each run's row of panels: its host, with the cores it had."""
    names = {host: f"{host} · {machine_cores(results.host_machine(host))} cores" for host in results.hosts}
    return pd.Series(ordered(frame[HOST].astype(str).map(names), list(names.values())), index=frame.index)


def _palette(results: ResultsSet) -> dict:
    """The runtimes' colours as in the report's other figures, by name alone: the hosts are rows here."""
    return runtime_palette(results.runs, "variant_label")


def parallelism(results: ResultsSet) -> Drawn:
    head, runs = _headline(results)
    by_host = runs.assign(machine=_machine_rows(results, runs))
    return Drawn(machine_plots.parallelism_by_host(by_host, _palette(results)), (
        f"Effective parallelism = (user + sys CPU seconds, from wait4) / wall seconds in experiment "
        f"'{head.experiment}', one row of panels per host. Dashed: min(workers, cores) for that host's cores; "
        f"dotted: one core. Lines: median over repetitions; bands: min–max."))


def speedup(results: ResultsSet) -> Drawn:
    head, runs = _headline(results)
    scaling = tidy.scaling(runs)
    scaling = scaling[scaling["measure"] == "speedup"].merge(runs[["run_id", "variant_label"]], on="run_id")
    if scaling.empty or runs["workers"].nunique() < 2:
        raise NoData(f"experiment '{head.experiment}' needs 1-worker runs and at least one other worker count")
    by_host = scaling.assign(machine=_machine_rows(results, scaling))
    return Drawn(machine_plots.speedup_by_host(by_host, _palette(results)), (
        f"Speedup (throughput with N workers / median throughput with 1 worker on the same host) in experiment "
        f"'{head.experiment}', one row of panels per host. Dashed: ideal, min(N, that host's cores). Lines: "
        f"median over repetitions; bands: min–max."))


MACHINE_FIGURES = [
    ("machines-parallelism", "Effective parallelism, host by host", parallelism),
    ("machines-speedup", "Speedup, host by host", speedup),
]


def section(results: ResultsSet, folder: Path, baseline: str | None = None,
            factor: float = DEFAULT_FACTOR) -> list:
    """The Machines section's blocks (none for a set run on one machine); figures are drawn into folder."""
    if len(results.meta.get(HOSTS) or {}) < 2:
        return []
    records = results.meta[HOSTS]
    side_by_side = results.several_hosts and tidy.headline(results) is not None
    intro = (f"The set was run on {len(records)} hosts ({', '.join(records)}) by invoke all --hosts: each host's runs "
             f"are its own, never repetitions of another host's.")
    if side_by_side:
        intro += (f" Elsewhere in this report a runtime is named with its host "
                  f"({results.runs['language'].cat.categories[0]}), and the Task Manager view has a row for each "
                  f"runtime and mode on each host.")
    blocks = [Heading("Machines"), Text(intro),
              Table(hosts_table(results), caption="Each host's machine as its lab described it (cores usable: its "
                                                  "CPU affinity of its logical cores), its status and its runs."),
              Table(toolchains_table(results), caption="The toolchain that ran each runtime on each host.")]
    if not side_by_side:
        return blocks + [Text("Fewer than two hosts have measured runs: there is nothing to set side by side.")]
    baseline = baseline or results.hosts[0]
    blocks += [Heading(f"Each host against {baseline}", level=3),
               Table(baseline_table(results, baseline, factor), caption=(
                   f"Experiment '{tidy.headline(results).experiment}': medians (min–max) over each host's runs, "
                   f"their ratio to {baseline}'s medians, and the verdict of invoke compare-within --results "
                   f"{results.directory} --hosts {baseline},HOST (Mann-Whitney U over every configuration of the "
                   f"two hosts, Benjamini–Hochberg corrected, at least a factor {factor:g}). invoke report "
                   f"--baseline HOST sets another host as the baseline."))]
    for outcome in draw_all(results, folder, figures=MACHINE_FIGURES):
        blocks += [Heading(outcome.title, level=3), Figure(outcome.title, outcome.caption, outcome.path)]
    return blocks
