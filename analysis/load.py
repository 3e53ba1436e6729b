"""Load a results set (docs/results-format.md) into typed pandas tables.

What a set holds is declared once, in polylab.results.schema: the run record's columns and their types, the
enums and the sample tables' columns; sets are read through polylab.results.store, which refuses a set of a
newer schema and upgrades an older one. Category orders are fixed here, once, so every table and figure
agrees on them: languages in the order of meta.json's `toolchains` (then any other language the runs name,
alphabetically), experiments in the profile's order, and modes, workloads and statuses in the order the
schema declares them (statuses from best to worst).

A run is of one runtime variant of its language. Besides `lang` (the folder) and `variant`, every run gets
`variant_key` (`python:pypy`, or `go` for a language's only variant), `language`, the name reports show for
that variant (`PyPy`, `Java 17`, `Go`: one per variant, so no figure or claim pools two runtimes), and
`threads`, the thread model its manifest declares (meta.json), which the expected views and the claims
judge it by.

A set run on several hosts (its rows hold `host`, polylab/hosts/merge.py) is read as one set: `host` is then a
coordinate of every run, ordered as the inventory lists the hosts (meta.json's `hosts`), and each run's `cores`
are those of its own host's machine. With two or more hosts, `language` names the runtime on its machine (`Go @
big`; `variant_label` keeps `Go`), so that every grouping by language keeps the machines apart as it keeps variants
apart: a host is another machine, never a repetition. Groupings by `lang` and `variant` add `host_keys(runs)`.
A set of one host reads as a set run on one machine.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from polylab.results import store
from polylab.results.schema import (ADDED_COLUMNS, HOST, HOSTS, ROW_KEYS, RUN_COLUMNS, RUN_ID, SAMPLE_COLUMNS,
                                    SAMPLES, THREAD_COLUMNS, THREADS, Mode, Status, ThreadModel, Word, Workload,
                                    variant_key)

ORDERED = {"mode": Mode, "workload": Workload, "status": Status}   # the other enums stay text
MODES = [mode.value for mode in Mode]
WORKLOADS = [workload.value for workload in Workload]

RUN_NUMBERS = [column for column, kind in RUN_COLUMNS.items() if kind in (int, float)]
RUN_TEXTS = [column for column, kind in RUN_COLUMNS.items()
             if kind is str or (issubclass(kind, Word) and column not in ORDERED)]
COUNTS = ["workers", "rep"]   # never missing: whole numbers that stay whole


@dataclass(frozen=True)
class ResultsSet:
    """One results folder, loaded: `runs` has every row of runs.jsonl (warm-ups and failures included).
    What could not be read is left out and listed: `skipped_lines` of runs.jsonl, and `unreadable` sample
    tables (file name → why; their table is then empty)."""

    directory: Path
    meta: dict
    runs: pd.DataFrame
    samples: pd.DataFrame
    threads: pd.DataFrame
    skipped_lines: tuple[int, ...] = ()
    unreadable: dict[str, str] = field(default_factory=dict)
    # What the analysis derives from these tables, kept for the next caller (tidy.window_stats); a set made with
    # dataclasses.replace starts with none, as its tables may differ
    derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def machine(self) -> dict:
        """The machine that ran the set; none ({}) for a set of several hosts (host_machine names each)."""
        return self.meta.get("machine", {})

    @property
    def hosts(self) -> list[str]:
        """The hosts whose runs the set holds, in the inventory's order; [] for a set run on one machine."""
        if HOST not in self.runs:
            return []
        present = set(self.runs[HOST].dropna().astype(str))
        return [host for host in self.runs[HOST].cat.categories if host in present]

    @property
    def several_hosts(self) -> bool:
        return len(self.hosts) > 1

    def host_machine(self, host: str) -> dict:
        return host_machines(self.meta).get(host, {})

    def _machines(self) -> list[dict]:
        return [self.host_machine(host) for host in self.hosts] if self.several_hosts else [self.machine]

    @property
    def cores(self) -> int:
        """Cores the runs could use: the orchestrator's CPU affinity, else the logical core count (of several
        hosts, the most any host had; each run's own are its `cores`)."""
        return max(machine_cores(machine) for machine in self._machines())

    @property
    def core_ids(self) -> list[int]:
        """The numbers of those cores, as /proc/stat names them (of several hosts, every number any had)."""
        return sorted(set().union(*(usable_core_ids(machine) for machine in self._machines())))

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def has_samples(self) -> bool:
        return not self.samples.empty


def machine_cores(machine: dict) -> int:
    return len(machine.get("cpu_affinity") or []) or int(machine.get("logical_cores") or 1)


def usable_core_ids(machine: dict) -> list[int]:
    return sorted(machine.get("cpu_affinity") or range(machine_cores(machine)))


def host_machines(meta: dict) -> dict[str, dict]:
    """Each host's machine description, from a merged set's meta.json, in the inventory's order."""
    return {host: record.get("machine") or {} for host, record in (meta.get(HOSTS) or {}).items()}


def host_keys(runs: pd.DataFrame) -> list[str]:
    """What a grouping by lang and variant adds to keep machines apart: `host` where the runs come from several
    hosts, else nothing (a grouping by `language` needs nothing: it names the host already)."""
    return [HOST] if HOST in runs and runs[HOST].nunique() > 1 else []


def same_machine(runs: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """The runs made on the host(s) of the runs `like`: what a comparison between runtimes may set them against
    (every run, in a set of one machine)."""
    return runs[runs[HOST].isin(like[HOST])] if host_keys(runs) else runs


def merged_view(meta: dict, hosts: list[str]) -> dict:
    """A merged set's meta.json as the analysis reads a set's: the hosts' `toolchains` and `skipped`, those of
    `hosts` (the hosts with runs) first where two hosts' entries differ (they ran one commit: only versions and
    paths can), and, with one host, its `machine`. A set run on one machine is returned as it is."""
    records = meta.get(HOSTS) or {}
    if not records or "toolchains" in meta:
        return meta
    view = {**meta, "toolchains": {}, "skipped": {}}
    for host in [*hosts, *records]:
        for part in ("toolchains", "skipped"):
            for key, entry in (records.get(host, {}).get(part) or {}).items():
                view[part].setdefault(key, entry)
    if len(hosts) == 1:
        view["machine"] = host_machines(meta).get(hosts[0], {})
    return view


def ordered(values, order: list) -> pd.Categorical:
    return pd.Categorical(values, categories=order, ordered=True)


# Sets written before variants declared their thread model hold none: the article's own reading applies to
# them — Python's threads share one core (the GIL), every other language's use all cores. The only place a
# language's name decides an expectation, and only for those old sets.
ARTICLE_ONE_CORE = {"python"}


def _toolchain_entries(meta: dict) -> dict[str, dict]:
    """meta.json's `toolchains`: one entry per variant, by variant key (sets upgraded from before variants:
    one per language, keyed by the language)."""
    return meta.get("toolchains", {}) or {}


def _first_seen(declared: list[str], seen) -> list[str]:
    return declared + sorted(set(str(x) for x in seen if pd.notna(x)) - set(declared))


def language_order(meta: dict, seen) -> list[str]:
    declared = [str(entry.get("lang") or key) for key, entry in _toolchain_entries(meta).items()]
    return _first_seen(list(dict.fromkeys(declared)), seen)


def _unique(shown: dict[str, str]) -> dict[str, str]:
    """A name that several entries share gets the entry's own name added, so no two read alike."""
    shared = {name for name in shown.values() if list(shown.values()).count(name) > 1}
    return {key: f"{name} ({key})" if name in shared else name for key, name in shown.items()}


def language_names(meta: dict, folders: list[str]) -> dict[str, str]:
    """Folder → the name reports show for the language: the manifest's `display` recorded in meta.json's
    toolchains (the folder name in sets written before it was, and for languages without a toolchain entry)."""
    displays = {str(entry.get("lang") or key): entry.get("display")
                for key, entry in _toolchain_entries(meta).items()}
    return _unique({folder: str(displays.get(folder) or folder) for folder in folders})


def variant_labels(meta: dict, keys: list[str]) -> dict[str, str]:
    """Variant key → the name reports show for the variant: its `label` in meta.json (`PyPy`, `Java 17`), else
    its language's display name, else the key."""
    entries = _toolchain_entries(meta)
    return _unique({key: str((entries.get(key) or {}).get("label") or (entries.get(key) or {}).get("display")
                             or key) for key in keys})


def thread_models(meta: dict, keys: list[str]) -> dict[str, str]:
    """Variant key → the thread model its manifest declares (meta.json); the article's reading where the set
    recorded none (ARTICLE_ONE_CORE)."""
    entries = _toolchain_entries(meta)

    def model(key: str) -> str:
        declared = (entries.get(key) or {}).get("threads")
        lang = str((entries.get(key) or {}).get("lang") or key.partition(":")[0])
        return declared or (ThreadModel.ONE_CORE if lang in ARTICLE_ONE_CORE else ThreadModel.ALL_CORES).value
    return {key: model(key) for key in keys}


def experiment_order(meta: dict, seen) -> list[str]:
    declared = [e["name"] for e in meta.get("config", {}).get("experiments", [])]
    return declared + sorted(set(str(x) for x in seen if pd.notna(x)) - set(declared))


SAMPLE_TYPES = {"t_s": "float64", "core": "int64", "system_pct": "float64", "workload_pct": "float64"}
THREAD_TYPES = {"t_s": "float64", "core": "int64", "cpu_s": "float64", "tid": "int64", "pid": "int64",
                "ctx_voluntary": "float64", "ctx_involuntary": "float64", "migrations": "float64", "wait_s": "float64"}


def _read_table(path: Path, columns: list[str], types: dict) -> tuple[pd.DataFrame, str | None]:
    """A sample table, typed, and None; where the file cannot be read, an empty table and why (the runs are
    read all the same, and what needs the table says why it has none)."""
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).astype({RUN_ID: "object", **types})
    try:
        frame = pd.read_parquet(path) if path.exists() and path.stat().st_size else pd.DataFrame()
        for column in ADDED_COLUMNS.keys() & set(columns) - set(frame.columns):
            frame[column] = float("nan")    # an older set's table, from before the column was added
        missing = [column for column in columns if column not in frame]
        if frame.empty:
            return empty, None
        if missing:
            raise ValueError(f"it has no column {', '.join(missing)}")
        return frame[columns].astype(types), None
    except (pa.ArrowException, ValueError, TypeError, OSError) as exc:   # pyarrow's ArrowInvalid is a ValueError
        reason = " ".join(str(exc).split()).split(f"'{path}': ", 1)[-1].rstrip(".")   # pyarrow names the path too
        warnings.warn(f"{path} could not be read: {reason}; the figures and claims that need it are left out, "
                      f"saying why", store.DamagedResults)
        return empty, f"{path.name} could not be read: {reason}"


def type_runs(rows: list[dict], meta: dict) -> pd.DataFrame:
    """runs.jsonl rows → one typed frame, every declared column present in the schema's order (then any key
    the schema does not know), plus per-run derived numbers."""
    runs = pd.DataFrame(rows)
    for column in RUN_COLUMNS:
        if column not in runs:
            runs[column] = np.nan
    declared = [column for column in ROW_KEYS if column in runs]
    runs = runs[declared + [column for column in runs.columns if column not in declared]]
    for column in RUN_NUMBERS:
        runs[column] = pd.to_numeric(runs[column], errors="coerce").astype("float64")
    runs[RUN_TEXTS] = runs[RUN_TEXTS].astype("str")   # missing stays missing: a column no row has is text too
    runs[COUNTS] = runs[COUNTS].astype("Int64")
    runs["warmup"] = runs["warmup"].fillna(False).astype(bool)
    runs["lang"] = ordered(runs["lang"], language_order(meta, runs["lang"]))
    variants = runs["variant"].where(runs["variant"].notna() & (runs["variant"] != "nan"), runs["lang"].astype(str))
    runs["variant_key"] = [variant_key(str(lang), str(variant)) for lang, variant in zip(runs["lang"], variants)]
    keys = _first_seen(list(_toolchain_entries(meta)), runs["variant_key"])
    labels = variant_labels(meta, keys)
    runs["language"] = ordered(runs["variant_key"].map(labels), list(labels.values()))  # one name per variant
    runs["threads"] = runs["variant_key"].map(thread_models(meta, keys))
    runs["experiment"] = ordered(runs["experiment"], experiment_order(meta, runs["experiment"]))
    for column, enum in ORDERED.items():
        runs[column] = ordered(runs[column], [member.value for member in enum])
    if HOST not in runs:
        return derive(runs, machine_cores(meta.get("machine", {})))
    runs[HOST] = ordered(runs[HOST], _first_seen(list(meta.get(HOSTS) or {}), runs[HOST]))
    if runs[HOST].nunique() < 2:
        return derive(runs, machine_cores(meta.get("machine", {})))
    hosts = list(runs[HOST].cat.categories)
    runs["variant_label"] = runs["language"]   # the name alone, for figures that set the hosts apart themselves
    runs["language"] = ordered(runs["language"].astype(str) + " @ " + runs[HOST].astype(str),
                               [f"{name} @ {host}" for name in runs["language"].cat.categories for host in hosts])
    cores = {host: machine_cores(machine) for host, machine in host_machines(meta).items()}
    return derive(runs, runs[HOST].astype(str).map(cores).fillna(1).astype(int))


def derive(runs: pd.DataFrame, machine_cores_count: int | pd.Series) -> pd.DataFrame:
    """Per-run numbers every analysis uses; NaN where an input is missing (failed runs, no sampler).
    machine_cores_count: the cores of the machine, or of each run's machine."""
    runs = runs.copy()
    # CPU seconds of the run: wait4 or the container's cgroup; the sampler's total where neither was readable
    cpu = (runs["user_s"] + runs["sys_s"]).fillna(runs["workload_cpu_s"].where(runs["cpu_source"] == "sampler"))
    inner = runs["inner_s"].where(runs["inner_s"] > 0)
    wall = runs["wall_s"].where(runs["wall_s"] > 0)
    runs["cores"] = runs["cpus"].fillna(machine_cores_count).clip(upper=machine_cores_count).astype(int)
    runs["cpu_s"] = cpu
    runs["duration_mode"] = runs["seconds"].notna()
    runs["throughput"] = runs["iterations"] / inner  # iterations per second of the program's own clock
    runs["parallelism_upper"] = cpu / inner  # every CPU second charged to the work phase: an upper bound
    runs["sys_share"] = runs["sys_s"] / cpu.where(cpu > 0)
    runs["voluntary_per_s"] = runs["ctx_voluntary"] / wall
    runs["involuntary_per_s"] = runs["ctx_involuntary"] / wall
    runs["switches_per_s"] = runs["voluntary_per_s"] + runs["involuntary_per_s"]
    runs["max_rss_mib"] = runs["max_rss_bytes"] / 2**20
    runs["tree_rss_mib"] = runs["tree_rss_bytes"] / 2**20
    runs["tree_memory_mib"] = runs["tree_memory_bytes"] / 2**20
    runs["measured"] = (runs["status"] == "ok") & ~runs["warmup"]
    return runs


def _usable_samples(samples: pd.DataFrame, runs: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """Only the cores the runs could use: on a machine lent in part (a container, taskset) the others are noise.
    Of several hosts, each run's own host's."""
    if not host_keys(runs):
        return samples[samples["core"].isin(usable_core_ids(meta.get("machine", {})))].reset_index(drop=True)
    host_of_run = samples[RUN_ID].map(dict(zip(runs[RUN_ID], runs[HOST].astype(str))))
    usable = pd.Series(False, index=samples.index)
    for host, machine in host_machines(meta).items():
        usable |= (host_of_run == host) & samples["core"].isin(usable_core_ids(machine))
    return samples[usable].reset_index(drop=True)


def load_results(directory: Path, host: str | None = None) -> ResultsSet:
    """The set in directory; with `host`, only that host's runs of a set run on several, read as a set of one
    machine (its machine, toolchains and skipped languages)."""
    directory = Path(directory)
    recorded = store.read_meta(directory)    # first: a set without a readable meta.json is not read further
    read = store.read_run_rows(directory)
    rows = read.rows
    if host is not None:
        rows = [row for row in rows if row.get(HOST) == host]
    meta = merged_view(recorded, list(dict.fromkeys(row[HOST] for row in rows if row.get(HOST))))
    runs = type_runs(rows, meta)
    samples, samples_problem = _read_table(directory / SAMPLES, [RUN_ID, *SAMPLE_COLUMNS], SAMPLE_TYPES)
    threads, threads_problem = _read_table(directory / THREADS, [RUN_ID, *THREAD_COLUMNS], THREAD_TYPES)
    if host is not None:
        samples, threads = (table[table[RUN_ID].isin(runs[RUN_ID])] for table in (samples, threads))
    samples = _usable_samples(samples, runs, meta)
    unreadable = {name: problem for name, problem in ((SAMPLES, samples_problem), (THREADS, threads_problem))
                  if problem}
    return ResultsSet(directory, meta, runs, samples, threads, read.skipped_lines, unreadable)
