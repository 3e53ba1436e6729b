"""The lab's side of each workload of the contract (langs/README.md), declared in one place: `catalog.py`.

For each workload: the contract versions whose results it accepts, the modes it runs in (and why a mode is
left out), the settings it needs (at least two workers for a ring, a count large enough to fail midway),
how many iterations each worker owes in count mode, the checks of its result beyond the universal
per-worker checksum, the result keys it adds to the run record, and whether a process that dies is a
finding rather than a failure. The config validates experiments against these declarations, the runner's
judge checks results with them. Adding a workload: a member of `Workload` in polylab.results.schema and an
entry in `catalog.WORKLOADS` (a test fails until both exist).

May import: the standard library and polylab.results.schema. Imported by polylab.config and polylab.run;
never by analysis/.
"""

from polylab.workloads.catalog import WORKLOADS, workload_spec
from polylab.workloads.spec import WorkloadSpec

__all__ = ["WORKLOADS", "WorkloadSpec", "workload_spec"]
