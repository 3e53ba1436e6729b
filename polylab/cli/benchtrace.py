"""`invoke bench-trace`: what the exact scheduler trace (`trace: sched`) costs the program it records.

The same short CPU-bound 2-worker run, untraced (A) and traced (B), in ABBA blocks as `bench-sampler` does
(bench.abba_pairs), until the 95 % interval of the median wall-time ratio is within ±1 % or --max-pairs is
reached. Wall time is the runner's spawn → exit, which perf's own start and stop stay outside of; CPU is
wait4's user + sys of the program (perf record is not its child, so only the tracepoints' work inside the
program's own time shows there). perf record's own CPU, the events it recorded per second of the run and
any it lost are printed beside.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from polylab.cli.bench import (INTERVAL_TARGET, _calibrated_n, _checked, _median, _ready, _spec, abba_pairs,
                               MEDIAN_INTERVAL_METHOD)
from polylab.cli.benchstats import median_interval, ratio, spread, within
from polylab.config.errors import UserError
from polylab.results import store
from polylab.run.lab import load_lab, select_langs
from polylab.run.matrix import run_one
from polylab.sample import schedtrace

TRACE_LOOP_S = 0.3
SMALL_COST = 1.02      # a median wall ratio at most this (upper 95 % bound) counts as small


def _cpu_s(row: dict) -> float | None:
    return None if row.get("user_s") is None else row["user_s"] + row["sys_s"]


def bench_trace(lang: str = "python:cpython", max_pairs: int = 20, loop_s: float = TRACE_LOOP_S) -> dict:
    """Pairs of the same run without and with `trace: sched`; median wall and CPU ratios with their 95 % intervals."""
    problem = schedtrace.problem()
    if problem is not None:
        raise UserError(f"bench-trace needs the scheduler trace: {problem}")
    lab = load_lab()
    choice = _ready(lab, select_langs(lab, [lang], "--lang"))[0]
    variant = choice.detection.variant.name
    with tempfile.TemporaryDirectory(prefix="polylab-bench-trace-") as tmp:
        out = Path(tmp)
        store.prepare(out)
        n = _calibrated_n(lab, choice, out, loop_s)

        def run(traced: bool, run_id: str) -> dict:
            spec = _spec(choice.language.name, run_id, n=n, variant=variant,
                         trace=schedtrace.SCHED if traced else schedtrace.NONE)
            return _checked(run_one(lab, spec, choice, out, None))
        ratios, traced_rows = abba_pairs(run, {"wall": lambda row: row["wall_s"], "cpu": _cpu_s,
                                               "inner": lambda row: row["inner_s"]}, "trace", max_pairs)
    wall = median_interval(ratios["wall"])
    return {
        "workload": {"lang": choice.key, "mode": "threads", "workers": 2, "workload": "sum", "n": n,
                     "loop_s": loop_s},
        "cores": os.cpu_count(),
        "order": "ABBA blocks: off, on, on, off (A = untraced, B = trace: sched)",
        "interval": f"95 % confidence interval of the median ratio, {MEDIAN_INTERVAL_METHOD}",
        "pairs": len(ratios["wall"]),
        **{f"{name}_ratio": _median(values) for name, values in ratios.items()},
        **{f"{name}_ratio_interval_95": median_interval(values) for name, values in ratios.items()},
        **{f"{name}_ratio_spread": spread(values) for name, values in ratios.items()},
        "interval_target_met": within(wall, _median(ratios["wall"]), INTERVAL_TARGET),
        "tracer_cpu_s": spread([row.get("tracer_cpu_s") for row in traced_rows]),
        "events_per_s": spread([ratio(row.get("trace_events"), row["wall_s"]) for row in traced_rows]),
        "switches_per_s": spread([ratio(row.get("trace_switches"), row["wall_s"]) for row in traced_rows]),
        "lost_events": sum(row.get("trace_lost") or 0 for row in traced_rows),
        "small_cost": bool(wall and wall["high"] <= SMALL_COST),
        "small_cost_rule": f"the upper 95 % bound of the median wall ratio is at most {SMALL_COST}",
        "notes": "wall is the runner's spawn → exit: perf's start (~0.5 s) and stop happen outside it but add to "
                 "each traced run's time in a matrix (plus parsing: a few seconds per run on a busy machine)",
    }
