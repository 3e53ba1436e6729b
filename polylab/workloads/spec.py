"""What the lab knows about one workload (WorkloadSpec), and the settings checks every workload shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from polylab.results.schema import CrashOutcome, Mode, Workload

DEFAULT_MODES = (Mode.THREADS, Mode.PROCESSES)   # what an experiment that names no modes runs
TASK_MODES = (Mode.POOL, Mode.ASYNC)              # N tasks, not N threads: only where an experiment asks
TASK_MODES_REASON = "pool and async modes run sum and io only: langs/README.md section 10"


def each_worker_does_n(n: int, workers: int, index: int) -> int | None:
    return n


def nothing_more(data: dict) -> str | None:
    return None


@dataclass(frozen=True)
class WorkloadSpec:
    """The lab's side of one workload. Results are checked in two steps: the universal checks (contract
    version, arguments, every worker's `sum == c(c-1)/2` and, in count mode, its `count_iterations`), then
    `check`, which sees a result that passed them (`args` holds n, workers and mode)."""

    name: Workload
    summary: str                                   # what it measures, in one line
    contracts: tuple[int, ...] = (2,)              # contract versions whose results are accepted
    modes: tuple[Mode, ...] = DEFAULT_MODES
    modes_reason: str = ""                         # why the default modes not listed are left out
    min_workers: int = 1
    min_workers_reason: str = ""
    min_n: int = 0                                 # in count mode
    min_n_reason: str = ""
    prints: bool = False                           # stdout holds the partial sums; otherwise nothing
    # count mode: (n, workers, worker index) -> the iterations that worker owes; None: the workload's check decides
    count_iterations: Callable[[int, int, int], int | None] = each_worker_does_n
    check: Callable[[dict], str | None] = nothing_more
    recorded: tuple[str, ...] = ()                 # top-level result keys copied into the run record
    # crash: what survived, from the verified result or None when the process died; such a death is then a
    # finding (status ok), not a failure
    outcome: Callable[[dict | None, int], CrashOutcome] | None = None

    @property
    def death_is_a_finding(self) -> bool:
        return self.outcome is not None

    def accepts_contract(self, version) -> bool:
        return version in self.contracts

    def contract_expected(self) -> str:
        return " or ".join(str(version) for version in self.contracts)

    def modes_for(self, asked: tuple[str, ...] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the modes an experiment runs, notes on the modes left out): the modes asked for, else the default
        modes this workload runs in, with a note naming each other default mode and why it is left out. Pool and
        async run only where asked for: they change what --workers counts (tasks, not threads)."""
        if asked is not None:
            return tuple(asked), ()
        left_out = [mode for mode in DEFAULT_MODES if mode not in self.modes]
        notes = tuple(f"{mode} mode left out: {self._only_modes(mode)}" for mode in left_out)
        return tuple(mode.value for mode in self.modes if mode in DEFAULT_MODES), notes

    def _only_modes(self, left_out: Mode) -> str:
        reason = TASK_MODES_REASON if left_out in TASK_MODES else self.modes_reason
        return f"{self.name} runs in {', '.join(mode.value for mode in self.modes)} mode only ({reason})"

    def setting_problem(self, asked_modes: tuple[str, ...] | None, workers: tuple[int, ...],
                        n: int | None) -> tuple[str, str] | None:
        """(key, problem) of the first setting this workload cannot run with, None when it can run them all."""
        unsupported = [mode for mode in asked_modes or () if Mode(mode) not in self.modes]
        if unsupported:
            return "modes", f"{self._only_modes(Mode(unsupported[0]))}: remove {', '.join(unsupported)}"
        if min(workers) < self.min_workers:
            return "workers", (f"{self.name} {self.min_workers_reason}: it needs at least {self.min_workers} "
                               f"workers, got {min(workers)}")
        if n is not None and n < self.min_n:
            return "n", f"{self.name} {self.min_n_reason}: it needs n ≥ {self.min_n} in count mode, got {n}"
        return None
