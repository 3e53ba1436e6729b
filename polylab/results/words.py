"""The results format's vocabulary: the str enums a row holds (status, mode, workload, sink, sources, thread
model) and the language:variant keys. Declared apart from the record (polylab/results/schema.py, which
re-exports every name here) to keep each module small; standard library only, as the sampler imports it too.
"""

from enum import Enum


class Word(str, Enum):
    """A str enum that equals, prints as and serialises to its value, so a row holds the same plain strings."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Status(Word):
    """A run's outcome, best to worst (the order reports list them in)."""

    OK = "ok"
    FAILED = "failed"          # non-zero exit, killed by a signal, could not start or build
    TIMEOUT = "timeout"
    INVALID = "invalid"        # bad or missing result file, wrong checksum, wrong stdout


class Mode(Word):
    THREADS = "threads"
    PROCESSES = "processes"
    POOL = "pool"              # N tasks on the language's standard thread pool at its default size
    ASYNC = "async"            # N tasks on the event loop or lightweight threads (asyncio, promises, virtual threads)


class Workload(Word):
    SUM = "sum"
    SUM_PRINT = "sum-print"
    PINGPONG = "pingpong"      # contract 2 (polylab/workloads/): hand-offs around a ring of workers
    CONTENDED = "contended"    # one shared counter under a mutex (threads only)
    IO = "io"                  # a 1 ms blocking wait per iteration
    NATIVE = "native"          # SHA-256 chains through the standard library
    CRASH = "crash"            # worker 0 fails midway; who survives


class ThreadModel(Word):
    """What the article's hypothesis predicts for a variant's threads (its manifest's `threads:`)."""

    ONE_CORE = "one-core"      # a GIL: one thread runs at a time (CPython with the GIL, PyPy)
    ALL_CORES = "all-cores"    # threads run on every core at once


def variant_key(lang: str, variant: str) -> str:
    """A variant's name in --langs, run ids and meta.json: `lang:variant`, or just `lang` for a folder's only
    variant, which is named after the language (so its run ids are those of sets written before variants)."""
    return lang if variant == lang else f"{lang}:{variant}"


def split_key(key: str) -> tuple[str, str]:
    """(lang, variant) of a variant key; a bare language names its only variant, which bears its name."""
    lang, _, variant = key.partition(":")
    return lang, variant or lang


class Sink(Word):
    """Where a program's stdout goes: nowhere, through a pipe the lab drains, to a file in raw/, or to the slave
    side of a pseudo-terminal whose master the lab drains as a terminal emulator would (the article's console).
    Every sink but devnull has its content checked."""

    DEVNULL = "devnull"
    PIPE = "pipe"
    FILE = "file"
    TTY = "tty"


class CpuSource(Word):
    """Where a run's user and system CPU come from."""

    WAIT4 = "wait4"            # os.wait4 rusage of the run's process, children included
    CGROUP = "cgroup"          # a container's cgroup
    SAMPLER = "sampler"        # a container whose cgroup was unreadable: no totals, parallelism from the sampler


class CounterSource(Word):
    """Where a run's total of migrations or context switches comes from."""

    PERF = "perf"                            # perf stat wrapped the program: every thread, however short-lived
    WAIT4 = "wait4"                          # os.wait4 rusage: every reaped process (perf's own too, when it wraps)
    SAMPLER = "sampler (lower bound)"        # the threads the sampler saw: those that ended unseen are missed


class MemorySource(Word):
    """Where a run's tree memory comes from; both count a page shared by several processes once."""

    PSS = "pss"                # the sampler: peak over samples of Σ Pss (/proc/<pid>/smaps_rollup)
    CGROUP = "cgroup"          # a container's cgroup: its peak charge (memory.max_usage_in_bytes or memory.peak)
