"""Benchmarks the project ships (`invoke bench-sampler`, `invoke bench-accuracy`): JSON on stdout.

They check the instrument itself: how much the sampler slows what it measures, and how its numbers agree
with the kernel's (wait4 rusage, perf stat). Ratios are taken within one run of the benchmark and reduced
to a median, because this kind of machine is shared and noisy; the spread is printed beside each median.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

from polylab.sample import perfstat
from polylab.results import store
from polylab.results.schema import RunRecord, Status
from polylab.run.backends import BuildError
from polylab.config.errors import UserError
from polylab.run.lab import Choice, Lab, build_all, choose, load_lab, select_langs
from polylab.run.matrix import run_one
from polylab.run.plan import RunSpec
from polylab.console import say
from polylab.sample.sampler import Sampler

TARGET_LOOP_S = 1.0


def _spec(lang: str, run_id: str, *, mode="threads", workers=2, n=None, seconds=None, hz=0.0,
          perf=False) -> RunSpec:
    return RunSpec(run_id=run_id, experiment="bench", lang=lang, workload="sum", mode=mode, workers=workers, n=n,
                   seconds=seconds, rep=1, warmup=False, timeout_s=120, sink="devnull", sample_hz=hz, perf=perf,
                   cpus=None)


def _ready(lab: Lab, langs: list[str]) -> list[Choice]:
    choices = [c for c in choose(lab, langs, "local") if c.detection.ok]
    builds = build_all(lab, choices)
    ready = [c for c in choices if not isinstance(builds[c.language.name], BuildError)]
    if not ready:
        raise UserError(f"none of {', '.join(langs)} can be built here — see `invoke doctor`")
    return ready


def _checked(record: RunRecord) -> dict:
    """The run's row, once it is known to be ok: a benchmark of a failed run would mean nothing."""
    if record.status != Status.OK:
        raise UserError(f"benchmark run {record.run_id} was {record.status}: {record.verdict.reason}")
    return record.to_row()


def _spread(values: list[float | None]) -> dict | None:
    """Median, range and count of the values that could be measured (None: a ratio without a denominator)."""
    known = [value for value in values if value is not None]
    if not known:
        return None
    return {"median": statistics.median(known), "min": min(known), "max": max(known), "n": len(known)}


def _median(values: list[float | None]) -> float | None:
    spread = _spread(values)
    return spread and spread["median"]


def _shown(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _at_most(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def _calibrated_n(lab: Lab, choice: Choice, out: Path) -> int:
    """Iterations per worker for a loop of about TARGET_LOOP_S, so the benchmark fits any runtime's speed."""
    n = 10_000_000
    while True:
        row = _checked(run_one(lab, _spec(choice.language.name, f"calibrate-{n}", n=n), choice, out, None))
        loop_s = max(row["worker_elapsed_s"])
        if loop_s >= 0.2:
            return int(n * TARGET_LOOP_S / loop_s)
        n *= 10


def bench_sampler(lang: str = "go", pairs: int = 5, rates=(10.0, 50.0)) -> dict:
    """A/B pairs of the same CPU-bound 2-worker run without and with sampling, alternating which goes first."""
    lab = load_lab()
    choice = _ready(lab, select_langs(lab, [lang], "--lang"))[0]
    result: dict = {"workload": {"lang": lang, "mode": "threads", "workers": 2, "workload": "sum", "pairs": pairs},
                    "cores": os.cpu_count(), "metric": "ratio of the program's own elapsed time, sampled / unsampled"}
    with tempfile.TemporaryDirectory(prefix="polylab-bench-") as tmp:
        out = Path(tmp)
        store.prepare(out)
        n = _calibrated_n(lab, choice, out)
        result["workload"]["n"] = n
        for hz in rates:
            ratios, sampler_pct = [], []
            with Sampler(hz=hz) as sampler:
                for pair in range(pairs):
                    timed = {}
                    order = (False, True) if pair % 2 == 0 else (True, False)
                    for sampled in order:
                        spec = _spec(lang, f"pair{pair}-{'on' if sampled else 'off'}-{hz:g}", n=n,
                                     hz=hz if sampled else 0.0)
                        row = _checked(run_one(lab, spec, choice, out, sampler if sampled else None))
                        timed[sampled] = row["inner_s"]
                        if sampled:
                            share = _ratio(row["sampler_cpu_s"], row["wall_s"])
                            sampler_pct.append(None if share is None else 100 * share)
                    ratios.append(_ratio(timed[True], timed[False]))
                    say(f"{hz:g} Hz pair {pair + 1}/{pairs}: ratio {_shown(ratios[-1], '.4f')}, sampler "
                        f"{_shown(sampler_pct[-1], '.2f')}% of a core")
            key = f"{hz:g}hz"
            result[f"overhead_ratio_{key}"] = _median(ratios)
            result[f"overhead_ratio_{key}_spread"] = _spread(ratios)
            result[f"sampler_cpu_pct_{key}"] = _median(sampler_pct)
            result[f"sampler_cpu_pct_{key}_spread"] = _spread(sampler_pct)
    result["targets"] = {"overhead_ratio_10hz_max": 1.01, "sampler_cpu_pct_10hz_max": 1.0}
    result["targets_met"] = (_at_most(result.get("overhead_ratio_10hz"), 1.01)
                             and _at_most(result.get("sampler_cpu_pct_10hz"), 1.0))
    return result


def _ratio(numerator, denominator):
    return None if numerator is None or not denominator else numerator / denominator


def bench_accuracy(langs: list[str] | None = None, seconds: float = 2.0, hz: float = 10.0) -> dict:
    """Per language and mode: the sampler's CPU vs wait4 vs perf task-clock; the lab's wall vs perf's clock."""
    lab = load_lab()
    ready = _ready(lab, select_langs(lab, langs))
    use_perf = perfstat.available()
    rows = []
    with tempfile.TemporaryDirectory(prefix="polylab-bench-") as tmp, Sampler(hz=hz) as sampler:
        out = Path(tmp)
        store.prepare(out)
        for choice in ready:
            for mode in ("threads", "processes"):
                name = choice.language.name
                spec = _spec(name, f"accuracy-{name}-{mode}", mode=mode, seconds=seconds, hz=hz, perf=use_perf)
                row = _checked(run_one(lab, spec, choice, out, sampler))
                wait4_cpu = row["user_s"] + row["sys_s"]
                rows.append({
                    "lang": name, "mode": mode, "wall_s": row["wall_s"], "wait4_cpu_s": wait4_cpu,
                    "sampled_cpu_s": row["workload_cpu_s"], "perf_task_clock_s": row.get("perf_task_clock_s"),
                    "perf_duration_s": row.get("perf_duration_s"),
                    "sampled_vs_wait4": _ratio(row["workload_cpu_s"], wait4_cpu),
                    "perf_vs_wait4": _ratio(row.get("perf_task_clock_s"), wait4_cpu),
                    "wall_vs_perf_duration": _ratio(row["wall_s"], row.get("perf_duration_s")),
                    "unplaced_cpu_s": row.get("unplaced_cpu_s"), "samples": row.get("samples"),
                })
                say(f"{name} {mode}: sampled/wait4 {_shown(rows[-1]['sampled_vs_wait4'], '.3f')}")
    sampled = [r["sampled_vs_wait4"] for r in rows]
    summary = {"sampled_vs_wait4": _spread(sampled),
               "within_5_percent": sum(v is not None and abs(v - 1) <= 0.05 for v in sampled), "runs": len(rows)}
    if use_perf:
        summary["perf_vs_wait4"] = _spread([r["perf_vs_wait4"] for r in rows if r["perf_vs_wait4"]])
        summary["wall_vs_perf_duration"] = _spread([r["wall_vs_perf_duration"] for r in rows
                                                    if r["wall_vs_perf_duration"]])
    return {"perf": use_perf, "sample_hz": hz, "seconds": seconds, "runs": rows, "summary": summary,
            "notes": "perf wraps the program, so wait4 and the sampler include perf's own small CPU; "
                     "duration_time is perf's wall clock of the program (an external timer)"}
