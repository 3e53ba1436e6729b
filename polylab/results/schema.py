"""What a results set is: its files, the columns of its tables, the run record and the format's version.

Everything that writes or reads a results set takes these names from here: the runner and the matrix that
fill a run's record, the store that writes it, the sampler process that produces the sample tables, and
analysis/ that loads them. The sampler process imports this module too, so it imports only the standard
library.

A row of runs.jsonl is a RunRecord: what the plan knew (Planned), what the runner measured from outside
(Measured, with the CPU Totals of wait4 or a container's cgroup), what the judge decided (Verdict), and,
when they ran, the sampler's summary and perf's counters. The run's totals of migrations, context switches
and tree memory are derived from those parts, each with the source it came from (`run_totals`).
`RunRecord.to_row()` is the one serialisation, `RunRecord.from_row()` its inverse. A part that did not happen
leaves its keys out of the row (a run whose build failed has no `wall_s`), and so does a field declared with
`optional()` or `derived()` while it is None; every other field is written, null included.

Format history (bump SCHEMA_VERSION on any change a reader must know about, register in UPGRADES (upgrades.py) how a
set of the previous version becomes one of the new version, and document it in docs/results-format.md):

- 1: meta.json, runs.jsonl, samples.parquet, threads.parquet, parts/ and raw/ (polylab 0.1.0). Rows are
  written from the typed RunRecord since the layout's redesign, with the same keys and values as before;
  only the order of keys within a row changed.
- 2: the run's totals name their source. `migrations` is the run's total, perf's `cpu-migrations` where perf
  counted, else the sampler's lower bound, which is now `sampler_migrations` (it was `migrations`);
  `migrations_source` says which. `ctx_switches` and `switches_source` likewise (perf, else wait4).
  `tree_memory_bytes` is the tree's memory counted once (`tree_memory_source`: the peak of Σ PSS the sampler
  read, `tree_pss_bytes`, or a container's cgroup peak); `tree_rss_bytes` (Σ of per-process VmHWM) stays.
- 3: runtime variants. `variant` is the variant's name (`cpython-ft`, `17`; a folder without variants has one,
  named after the language), and the new `toolchain` is the toolchain candidate that ran it (what `variant`
  held before). meta.json's `toolchains` has one entry per variant, keyed by `variant_key` (`python:pypy`, or
  the bare language), each with `lang`, `variant`, `label`, `threads` and `toolchain`. An older set had one
  variant per language: its rows get `variant` = `lang`, and its meta entries `lang` and `variant` = their
  key; they have no `threads`, so the analysis reads the article's own expectation for them.
- 4: contract 2's workloads (`pingpong`, `contended`, `io`, `native`, `crash`; polylab/workloads/). Rows of
  those runs add what the workload reports: `token` (pingpong) with the derived `handoffs_per_s` and
  `ns_per_handoff`, `counter` (contended), and for crash `workers_started`, `workers_finished` and
  `process_survived`. Older rows hold none of these keys and are read unchanged.
- 5: pool and async modes (langs/README.md section 10). `mode` may be `pool` or `async`, where `workers` counts
  tasks; `threads_used` is the number of distinct kernel thread ids the tasks ran on (any mode whose result
  lists them) and `pool_size` the size the runtime reported for its pool. Older rows hold neither.
  A run traced with `trace: sched` adds the trace's totals (`trace_switches`, `trace_migrations`, `trace_threads`,
  `trace_migrations_per_busy_thread`, `trace_events`, `trace_lost`, `tracer_cpu_s`) and its events in
  raw/<run_id>.sched.parquet (TRACE_COLUMNS). Untraced rows hold none of these keys.
- 6: what the rest of the machine did during a sampled run, counted per process rather than guessed from the
  cores' totals: `other_programs_cpu_s` (every process outside the run's tree and the lab) and
  `kernel_threads_cpu_s` (the kernel's own threads: kworkers flushing a terminal, ...). Older rows hold neither.
- 7: `handoffs_per_s` and `ns_per_handoff` are taken over the ring's time, the shortest worker's `elapsed_s`,
  instead of the program's clock, which counted the start of processes-mode children. Older rows are recomputed
  from their `token` and `worker_elapsed_s`.
- 8: `steal_s`, the time a hypervisor gave the machine's cores to someone else during a sampled run
  (/proc/stat's steal, Σ over cores), which the cores' busy % counts as busy and no process of the machine used.
  Older rows hold no such key and are read unchanged.
- 9: threads.parquet's `wait_s`, each thread's run-queue wait as last read (schedstat's second field: time it was
  ready to run while no core ran it; empty where the kernel keeps no schedstat). Older tables lack the column and
  are read with it empty (ADDED_COLUMNS). meta.json's `skipped` entries hold the variant's `label`, `reason` and
  `hint` (one line of text before).
"""

# No `from __future__ import annotations` here: the column types below are read from the dataclass fields,
# which must hold the types themselves rather than their names.

import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum

# The vocabulary (enums, language:variant keys) lives in words.py; it is part of this module's interface.
from polylab.results.words import (CounterSource, CpuSource, MemorySource, Mode, Sink, Status,  # noqa: F401
                                   ThreadModel, Word, Workload, split_key, variant_key)

SCHEMA_VERSION = 9

META = "meta.json"
RUNS = "runs.jsonl"
SAMPLES = "samples.parquet"
THREADS = "threads.parquet"
PARTS = "parts"            # one samples and one threads part per finished run, gathered into the two tables
RAW = "raw"                # each program's result file, stderr (when not empty) and stdout (`file` sink)

# The two sample tables, as the sampler produces them; on disk each has `run_id` in front.
RUN_ID = "run_id"
SAMPLE_COLUMNS = ("t_s", "core", "system_pct", "workload_pct")
THREAD_COLUMNS = ("t_s", "pid", "tid", "name", "core", "cpu_s", "ctx_voluntary", "ctx_involuntary", "migrations",
                  "wait_s")
# A thread's switch and migration counters are read afresh at its first sample, then at the first sample at least
# this long after the last read, and at the run's final sample; the rows between carry the last read forward.
SWITCH_COUNTERS_MAX_AGE_S = 1.0
# Columns a table of an older version lacks, by the version that added them: such a table is read with them empty.
ADDED_COLUMNS = {"wait_s": 9}
# A traced run's scheduler events (sample/schedparse.py): raw/<run_id>TRACE_SUFFIX, one row per event of its tree.
TRACE_SUFFIX = ".sched.parquet"
TRACE_COLUMNS = ("t_s", "cpu", "kind", "tid", "pid", "state", "from_cpu", "to_cpu")

# A set run on several hosts (polylab/hosts/merge.py): each row of runs.jsonl and of the two sample tables gains
# HOST, the inventory name of the host that ran it (its run_id becomes `<host>/<run_id>`), and meta.json gains
# HOSTS: per host, in the inventory's order, its settings, status, reason, machine and toolchains.
HOST = "host"
HOSTS = "hosts"


def optional(default=None):
    """A field whose key is left out of the row while it is None, rather than written as null."""
    return field(default=default, metadata={"optional": True})


def derived():
    """A number the record computes from its parts (never read from a row); left out of the row while None."""
    return field(init=False, metadata={"optional": True})


@dataclass(frozen=True)
class Planned:
    """What the plan and the chosen toolchain say before the run starts (run/matrix.py)."""

    run_id: str
    experiment: str
    lang: str
    variant: str | None              # the runtime variant's name (the language's own for a one-variant folder)
    toolchain: str | None            # the toolchain candidate that built and ran it
    toolchain_version: str | None
    backend: str
    workload: Workload
    mode: Mode
    workers: int
    n: int | None
    seconds: float | None
    rep: int
    warmup: bool
    sink: Sink
    sample_hz: float
    cpus: int | None


@dataclass(frozen=True)
class Totals:
    """CPU and memory totals of a finished run and where they come from: wait4 (run/runner.py) or a container's
    cgroup (run/backends/cgroups.py). Switches are None for a cgroup; peak memory is filled by whichever
    source is trusted for it (run/matrix.py)."""

    user_s: float | None
    sys_s: float | None
    max_rss_bytes: int | None
    ctx_voluntary: int | None
    ctx_involuntary: int | None
    cpu_source: CpuSource


@dataclass(frozen=True)
class ContainerRun:
    """A container run's own facts (run/backends/container.py)."""

    container_start_s: float | None    # spawn → the engine had started the container's process
    image: str


@dataclass(frozen=True)
class Measured:
    """What the runner saw from outside (run/runner.py). A run that could not build has no start, and one
    that could not start has no time or totals."""

    exit_code: int | None
    stderr_tail: str
    started_at: str | None = optional()
    wall_s: float | None = optional()
    totals: Totals | None = None
    container: ContainerRun | None = None
    stdout_lines: int | None = optional()   # `pipe`, `file` and `tty` sinks
    stdout_bytes: int | None = optional()
    stdout_reader_cpu_s: float | None = optional()   # the lab's reader thread: draining and checking stdout


@dataclass(frozen=True)
class ProgramResult:
    """What the program's result file said; None where it was not verified (the run failed, hung or lied)."""

    inner_s: float | None
    runtime: dict | None
    iterations: int | None
    worker_elapsed_s: list[float] | None = optional()
    token: int | None = optional()         # pingpong: the token's final value, the hand-offs made
    counter: int | None = optional()       # contended: the shared counter's final value
    threads_used: int | None = optional()  # distinct thread ids over every task's `tids`
    pool_size: int | None = optional()     # pool and async modes: the pool's size as the runtime reported it


@dataclass(frozen=True)
class CrashOutcome:
    """What survived a `crash` run, as the judge found it: a process that died wrote no result."""

    workers_started: int
    workers_finished: int
    process_survived: bool


@dataclass(frozen=True)
class Verdict:
    """The judge's decision, most severe fault first (run/runner.py)."""

    status: Status
    reason: str | None
    checksum_ok: bool
    result: ProgramResult | None = None     # None: the program never ran, so there was nothing to judge
    stdout_ok: bool | None = optional()      # whether stdout held exactly the expected sums, when counted
    crash: CrashOutcome | None = None        # the `crash` workload's outcome


@dataclass(frozen=True)
class SamplerSummary:
    """The sampler's totals of one run (sample/loop.py); a run sampled at 0 Hz has none."""

    samples: int
    workload_cpu_s: float
    unplaced_cpu_s: float
    sampler_migrations: int | None      # of the threads it saw, as last read: a lower bound
    threads_max: int
    per_core_busy_s: list[float]
    sampler_cpu_s: float
    interval_s: float | None
    tree_rss_bytes: int | None          # Σ of every process's own peak (VmHWM): shared pages count in each
    tree_pss_bytes: int | None          # the largest Σ Pss of the tree's processes read at one sample
    # From begin() to final(), every process outside the run's tree and the lab: programs, and the kernel's threads
    other_programs_cpu_s: float | None = optional()
    kernel_threads_cpu_s: float | None = optional()
    steal_s: float | None = optional()     # a hypervisor's: /proc/stat's steal, Σ over the machine's cores


@dataclass(frozen=True)
class PerfCounters:
    """`perf stat` counters of a whole run (sample/perfstat.py); None where perf could not count."""

    perf_task_clock_s: float | None
    perf_context_switches: int | None
    perf_cpu_migrations: int | None
    perf_duration_s: float | None


@dataclass(frozen=True)
class TraceSummary:
    """Totals of a run's exact scheduler trace (`trace: sched`, sample/schedtrace.py), every event of its tree."""

    trace_switches: int                 # switch-outs of the tree's threads, preempted or not
    trace_migrations: int
    trace_threads: int                  # threads that ran 1 ms or more
    trace_migrations_per_busy_thread: float | None   # migrations of those threads / their number
    trace_events: int                   # scheduler events (switches, migrations) that involve the tree
    trace_lost: int                     # events perf lost machine-wide: > 0 makes the counts lower bounds
    tracer_cpu_s: float | None          # perf record's own CPU for the recording


@dataclass(frozen=True)
class RunRecord:
    """One run, one row of runs.jsonl. The derived numbers are computed here, once, from the parts."""

    planned: Planned
    measured: Measured
    verdict: Verdict
    sampler: SamplerSummary | None = None
    perf: PerfCounters | None = None
    trace: TraceSummary | None = None
    startup_s: float | None = derived()
    parallelism: float | None = derived()
    migrations: int | None = derived()
    migrations_source: CounterSource | None = derived()
    ctx_switches: int | None = derived()
    switches_source: CounterSource | None = derived()
    tree_memory_bytes: int | None = derived()
    tree_memory_source: MemorySource | None = derived()
    handoffs_per_s: float | None = derived()
    ns_per_handoff: float | None = derived()

    def __post_init__(self):
        derived_values = {"startup_s": self._startup_s(), "parallelism": self._parallelism(),
                          **run_totals(self.measured.totals, self.sampler, self.perf), **self._handoffs()}
        for name, value in derived_values.items():
            object.__setattr__(self, name, value)

    def _startup_s(self) -> float | None:
        """Wall time outside the program's own work: runtime start-up and tear-down."""
        result, wall_s = self.verdict.result, self.measured.wall_s
        return wall_s - result.inner_s if result and result.inner_s is not None and wall_s is not None else None

    def _handoffs(self) -> dict:
        result = self.verdict.result
        return handoff_rates(result.token, result.worker_elapsed_s, result.inner_s) if result else handoff_rates()

    def _parallelism(self) -> float | None:
        """Effective parallelism, CPU seconds per second of the run. A container's start is the engine's time,
        not the program's, so it is left out of the denominator (it is recorded apart)."""
        totals, wall_s = self.measured.totals, self.measured.wall_s
        if totals is None or wall_s is None:
            return None
        if totals.user_s is not None:
            cpu_s = totals.user_s + totals.sys_s
        elif totals.cpu_source == CpuSource.SAMPLER and self.sampler and wall_s:
            cpu_s = self.sampler.workload_cpu_s
        else:
            return None
        container = self.measured.container
        running_s = wall_s - ((container.container_start_s if container else None) or 0.0)
        return cpu_s / running_s if running_s > 0 else None

    @property
    def run_id(self) -> str:
        return self.planned.run_id

    @property
    def status(self) -> Status:
        return self.verdict.status

    def to_row(self) -> dict:
        """The runs.jsonl row: plain JSON values, `schema_version` first."""
        return {"schema_version": SCHEMA_VERSION, **_flatten(self)}

    @classmethod
    def from_row(cls, row: dict) -> "RunRecord":
        """The record of a row of the current version (the store upgrades older ones first); derived numbers
        are computed again rather than read."""
        return _unflatten(cls, row)


def run_totals(totals: Totals | None, sampler: SamplerSummary | None, perf: PerfCounters | None) -> dict:
    """The run's totals of migrations, context switches and tree memory, each with its source (None: unknown).

    perf counts every migration and switch of every thread of the program, however short-lived; the sampler
    misses the migrations of threads that ended between its reads, and wait4 adds perf's own switches when
    perf wraps the program. A container's cgroup charges each page once; elsewhere Σ PSS shares each page
    among the processes that map it.
    """
    found: dict = {}
    if perf and perf.perf_cpu_migrations is not None:
        found.update(migrations=perf.perf_cpu_migrations, migrations_source=CounterSource.PERF)
    elif sampler and sampler.sampler_migrations is not None:
        found.update(migrations=sampler.sampler_migrations, migrations_source=CounterSource.SAMPLER)
    if perf and perf.perf_context_switches is not None:
        found.update(ctx_switches=perf.perf_context_switches, switches_source=CounterSource.PERF)
    elif totals and totals.ctx_voluntary is not None and totals.ctx_involuntary is not None:
        found.update(ctx_switches=totals.ctx_voluntary + totals.ctx_involuntary, switches_source=CounterSource.WAIT4)
    if totals and totals.cpu_source == CpuSource.CGROUP and totals.max_rss_bytes is not None:
        found.update(tree_memory_bytes=totals.max_rss_bytes, tree_memory_source=MemorySource.CGROUP)
    elif sampler and sampler.tree_pss_bytes is not None:
        found.update(tree_memory_bytes=sampler.tree_pss_bytes, tree_memory_source=MemorySource.PSS)
    return {name: found.get(name) for name in RUN_TOTALS}


RUN_TOTALS = ("migrations", "migrations_source", "ctx_switches", "switches_source", "tree_memory_bytes",
              "tree_memory_source")


def _field_type(declared) -> type:
    """`int | None` → int, `list[float] | None` → list, `Totals | None` → Totals."""
    if isinstance(declared, types.UnionType) or typing.get_origin(declared) is typing.Union:
        declared = next(arg for arg in typing.get_args(declared) if arg is not type(None))
    return typing.get_origin(declared) or declared


def _is_optional(f) -> bool:
    return f.metadata.get("optional", False)


def handoff_rates(token: int | None = None, worker_elapsed_s: list | None = None, inner_s: float | None = None) -> dict:
    """pingpong: hand-offs per second of the ring's time, and nanoseconds per hand-off. The token moves only while
    every worker runs, so the ring's time is the shortest worker's own elapsed time. The program's clock (inner_s,
    the fallback where workers report none) also counts the start of processes-mode children: a JVM child's 0.3 s
    made Java's process hand-offs look 1.6 times dearer than they were."""
    spans = [span for span in worker_elapsed_s or () if span]
    ring_s = min(spans) if spans else inner_s
    if not token or not ring_s:
        return {"handoffs_per_s": None, "ns_per_handoff": None}
    return {"handoffs_per_s": token / ring_s, "ns_per_handoff": 1e9 * ring_s / token}


def _flatten(part) -> dict:
    row = {}
    for f in fields(part):
        value = getattr(part, f.name)
        if is_dataclass(_field_type(f.type)):
            row.update(_flatten(value) if value is not None else {})
        elif value is not None or not _is_optional(f):
            row[f.name] = value.value if isinstance(value, Enum) else value
    return row


def _written(part_type, row: dict) -> bool:
    """Whether a part is in the row: every part has a key that is written whenever the part is."""
    return any(f.name in row for f in fields(part_type)
               if not _is_optional(f) and not is_dataclass(_field_type(f.type)))


def _unflatten(part_type, row: dict):
    values = {}
    for f in fields(part_type):
        if not f.init:
            continue
        kind = _field_type(f.type)
        if is_dataclass(kind):
            values[f.name] = _unflatten(kind, row) if _written(kind, row) else None
        elif f.name in row or not _is_optional(f):
            value = row.get(f.name)
            values[f.name] = kind(value) if isinstance(kind, type) and issubclass(kind, Enum) and value is not None \
                else value
    return part_type(**values)


def _columns(part_type) -> dict[str, type]:
    columns = {}
    for f in fields(part_type):
        kind = _field_type(f.type)
        columns.update(_columns(kind) if is_dataclass(kind) else {f.name: kind})
    return columns


# Every key a row may hold besides schema_version, in row order, with its type: int, float, str, bool, list,
# dict or one of the enums above.
RUN_COLUMNS: dict[str, type] = _columns(RunRecord)
ROW_KEYS = ("schema_version", *RUN_COLUMNS)
