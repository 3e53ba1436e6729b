"""Benchmarks the project ships (`invoke bench-sampler`, `invoke bench-accuracy`): JSON on stdout.

They check the instrument itself: how much the sampler slows what it measures, and how its numbers agree
with the kernel's (wait4 rusage, perf stat). Ratios are taken within one run of the benchmark and reduced
to a median, because this kind of machine is shared and noisy; the spread is printed beside each median,
and for the sampler's cost the 95 % confidence interval of the median ratio (polylab/cli/benchstats.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from polylab.cli.benchstats import MEDIAN_INTERVAL_METHOD, median_interval, ratio, spread, within
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

SAMPLER_LOOP_S = 0.3        # each A/B run's loop: short, so enough pairs fit in a few minutes on 2 cores
ACCURACY_SECONDS = 1.0
RATIO_TARGET = 1.01         # the sampler may cost at most 1 % of the program's elapsed time at 10 Hz
INTERVAL_TARGET = 0.01      # ... and the bench runs pairs until the interval of that median is within ±1 %
SAMPLER_CPU_PCT_TARGET = 1.0
MIN_PAIRS = 8


def _spec(lang: str, run_id: str, *, mode="threads", workers=2, n=None, seconds=None, hz=0.0,
          perf=False, variant=None, trace="none") -> RunSpec:
    return RunSpec(run_id=run_id, experiment="bench", lang=lang, workload="sum", mode=mode, workers=workers, n=n,
                   seconds=seconds, rep=1, warmup=False, timeout_s=120, sink="devnull", sample_hz=hz, perf=perf,
                   cpus=None, variant=variant, trace=trace)


def _ready(lab: Lab, langs: list[str]) -> list[Choice]:
    choices = [c for c in choose(lab, langs, "local") if c.detection.ok]
    builds = build_all(lab, choices)
    ready = [c for c in choices if not isinstance(builds[c.key], BuildError)]
    if not ready:
        raise UserError(f"none of {', '.join(langs)} can be built here — see `invoke doctor`")
    return ready


def _checked(record: RunRecord) -> dict:
    """The run's row, once it is known to be ok: a benchmark of a failed run would mean nothing."""
    if record.status != Status.OK:
        raise UserError(f"benchmark run {record.run_id} was {record.status}: {record.verdict.reason}")
    return record.to_row()


def _median(values: list[float | None]) -> float | None:
    found = spread(values)
    return found and found["median"]


def _shown(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _at_most(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def _calibrated_n(lab: Lab, choice: Choice, out: Path, loop_s: float) -> int:
    """Iterations per worker for a loop of about loop_s, so the benchmark fits any runtime's speed."""
    n = 10_000_000
    while True:
        row = _checked(run_one(lab, _spec(choice.language.name, f"calibrate-{n}", n=n), choice, out, None))
        measured_s = max(row["worker_elapsed_s"])
        if measured_s >= 0.1:
            return max(1, int(n * loop_s / measured_s))
        n *= 10


def bench_sampler(lang: str = "go", max_pairs: int = 120, rates=(10.0, 50.0), loop_s: float = SAMPLER_LOOP_S) -> dict:
    """Pairs of the same CPU-bound 2-worker run without (A) and with (B) sampling, in ABBA blocks, until the
    95 % interval of the median ratio B/A is within ±1 % or max_pairs is reached; per sampling rate."""
    lab = load_lab()
    choice = _ready(lab, select_langs(lab, [lang], "--lang"))[0]
    workers = 2
    result: dict = {"workload": {"lang": lang, "mode": "threads", "workers": workers, "workload": "sum",
                                 "loop_s": loop_s},
                    "cores": os.cpu_count(), "order": "ABBA blocks: off, on, on, off (A = unsampled, B = sampled)",
                    "metric": "ratio of the program's own elapsed time, sampled / unsampled",
                    "interval": f"95 % confidence interval of the median ratio, {MEDIAN_INTERVAL_METHOD}"}
    with tempfile.TemporaryDirectory(prefix="polylab-bench-") as tmp:
        out = Path(tmp)
        store.prepare(out)
        result["workload"]["n"] = n = _calibrated_n(lab, choice, out, loop_s)
        for hz in rates:
            ratios, sampler_shares = _abba_pairs(lab, choice, out, n, hz, max_pairs)
            result[f"{hz:g}hz"] = _rate_summary(ratios, sampler_shares, workers, os.cpu_count() or 1, max_pairs)
    ten = result.get("10hz", {})
    result["targets"] = {"overhead_ratio_10hz_max": RATIO_TARGET, "interval_10hz_within": f"±{INTERVAL_TARGET:.0%}",
                         "sampler_cpu_pct_10hz_max": SAMPLER_CPU_PCT_TARGET}
    result["targets_met"] = bool(ten.get("interval_target_met") and _at_most(ten.get("overhead_ratio"), RATIO_TARGET)
                                 and _at_most(ten.get("sampler_cpu_pct"), SAMPLER_CPU_PCT_TARGET))
    return result


def abba_pairs(run: Callable[[bool, str], dict], metrics: dict[str, Callable[[dict], float | None]], label: str,
               max_pairs: int) -> tuple[dict[str, list], list[dict]]:
    """Blocks of off, on, on, off: a drift of the machine's speed that is linear over a block cancels out of the
    block's two ratios. run(on, run_id) returns a checked row; each metric gives the on/off ratio of one number of
    the rows. Stops once the interval of the first metric's median is narrow enough (after MIN_PAIRS) or at
    max_pairs. Returns each metric's ratios and the rows of the runs with the instrument on."""
    ratios: dict[str, list] = {name: [] for name in metrics}
    on_rows: list[dict] = []
    first = next(iter(metrics))
    while len(ratios[first]) < max_pairs:
        block = len(ratios[first]) // 2
        rows = [run(on, f"block{block}-{position}-{'on' if on else 'off'}-{label}")
                for position, on in enumerate((False, True, True, False))]
        on_rows += rows[1:3]
        for name, number in metrics.items():
            ratios[name] += [ratio(number(rows[1]), number(rows[0])), ratio(number(rows[2]), number(rows[3]))]
        interval = median_interval(ratios[first])
        say(f"{label}, {len(ratios[first])} pairs: median {first} ratio {_shown(_median(ratios[first]), '.4f')}, "
            f"95% interval " + (f"{interval['low']:.4f}..{interval['high']:.4f}" if interval else "n/a"))
        if len(ratios[first]) >= MIN_PAIRS and within(interval, _median(ratios[first]), INTERVAL_TARGET):
            break
    return ratios, on_rows


def _abba_pairs(lab, choice, out, n, hz, max_pairs) -> tuple[list, list]:
    """The sampler's pairs: the program's own elapsed time unsampled and sampled at hz, and its CPU share."""
    with Sampler(hz=hz) as sampler:
        def run(sampled: bool, run_id: str) -> dict:
            spec = _spec(choice.language.name, run_id, n=n, hz=hz if sampled else 0.0)
            return _checked(run_one(lab, spec, choice, out, sampler if sampled else None))
        ratios, on_rows = abba_pairs(run, {"elapsed": lambda row: row["inner_s"]}, f"{hz:g} Hz", max_pairs)
    return ratios["elapsed"], [ratio(row["sampler_cpu_s"], row["wall_s"]) for row in on_rows]


def _rate_summary(ratios: list, sampler_shares: list, workers: int, cores: int, max_pairs: int) -> dict:
    median_ratio, interval = _median(ratios), median_interval(ratios)
    met = within(interval, median_ratio, INTERVAL_TARGET)
    share = _median(sampler_shares)
    return {
        "pairs": len(ratios),
        "overhead_ratio": median_ratio,
        "overhead_ratio_spread": spread(ratios),
        "overhead_ratio_interval_95": interval,
        "interval_target_met": met,
        "interval_note": None if met else f"the interval is wider than ±{INTERVAL_TARGET:.0%} after {len(ratios)} "
                                          f"pairs (at most {max_pairs}): the machine is too noisy for this target",
        "sampler_cpu_pct": None if share is None else 100 * share,
        "sampler_cpu_pct_spread": spread([None if s is None else 100 * s for s in sampler_shares]),
        "cpu_share_bound": _cpu_share_bound(share, workers, cores, interval),
    }


def _cpu_share_bound(share: float | None, workers: int, cores: int, interval: dict | None) -> dict | None:
    """What the sampler's own CPU says about its cost, and what it cannot say."""
    if share is None:
        return None
    saturated = workers >= cores
    return {
        "sampler_cpu_pct": 100 * share,
        "ratio_at_most": 1 + share,
        "ratio_if_spread_over_cores": 1 + share / min(workers, cores),
        "reasoning": (
            f"The sampler used {100 * share:.2f} % of one core. Its direct cost to the program is CPU taken from it: "
            + (f"with {workers} busy workers on {cores} cores every core is wanted, so each CPU-second the sampler "
               f"takes is one the workers wait for. Spread over the {min(workers, cores)} cores by the scheduler "
               f"that is a slowdown of about {100 * share / min(workers, cores):.2f} %; if it all fell on the worker "
               f"that finishes last, {100 * share:.2f} %, the most it can be"
               if saturated else
               f"with {workers} workers on {cores} cores a core is idle and the sampler mostly runs there, so the "
               f"direct cost is near 0 and at most {100 * share:.2f} %")
            + ". Not bounded by this: indirect costs (caches and TLBs it disturbs, wake-ups, the kernel locks its "
              "/proc reads take), which only the A/B ratio sees."),
        "conclusion": _conclusion(share, interval),
    }


def _conclusion(share: float, interval: dict | None) -> str:
    bound = f"the direct cost is at most {100 * share:.2f} % (CPU share)"
    if interval is None:
        return f"too few pairs for an interval; {bound}"
    low, high = (100 * (interval[key] - 1) for key in ("low", "high"))
    measured = f"the total cost is between {low:+.2f} % and {high:+.2f} % (95 %)"
    if high <= 100 * (RATIO_TARGET - 1):
        return f"{measured}: below {RATIO_TARGET - 1:.0%} at 95 % confidence; {bound}"
    return (f"{measured}, which cannot rule out more than {RATIO_TARGET - 1:.0%}; {bound}, so a cost above that "
            f"would have to be indirect")


def bench_accuracy(langs: list[str] | None = None, seconds: float = ACCURACY_SECONDS, hz: float = 10.0,
                   repetitions: int = 3) -> dict:
    """Per language and mode: the sampler's CPU vs wait4 vs perf task-clock, the lab's wall vs perf's clock, and
    the sampler's migrations and wait4's switches vs perf's counts (perf wraps every run where it can count)."""
    lab = load_lab()
    ready = _ready(lab, select_langs(lab, langs))
    use_perf = perfstat.available()
    rows = []
    with tempfile.TemporaryDirectory(prefix="polylab-bench-") as tmp, Sampler(hz=hz) as sampler:
        out = Path(tmp)
        store.prepare(out)
        for choice in ready:
            for mode in ("threads", "processes"):
                for rep in range(1, repetitions + 1):
                    name = choice.key     # a variant: python:pypy
                    spec = _spec(choice.language.name, f"accuracy-{name}-{mode}-{rep}", mode=mode, seconds=seconds,
                                 hz=hz, perf=use_perf)
                    rows.append(_accuracy_row(_checked(run_one(lab, spec, choice, out, sampler)), rep))
                    say(f"{name} {mode} #{rep}: sampled/wait4 {_shown(rows[-1]['sampled_vs_wait4'], '.3f')}, "
                        f"migrations sampled/perf {_shown(rows[-1]['sampled_migrations_vs_perf'], '.3f')}, "
                        f"switches wait4/perf {_shown(rows[-1]['wait4_switches_vs_perf'], '.3f')}")
    sampled = [r["sampled_vs_wait4"] for r in rows]
    summary = {"sampled_vs_wait4": spread(sampled),
               "within_5_percent": sum(v is not None and abs(v - 1) <= 0.05 for v in sampled), "runs": len(rows)}
    if use_perf:
        for key in ("perf_vs_wait4", "wall_vs_perf_duration", "migrations_vs_perf", "sampled_migrations_vs_perf",
                    "wait4_switches_vs_perf"):
            summary[key] = spread([r[key] for r in rows])
        summary["by_lang_and_mode"] = _medians_by_run_kind(rows)
    return {"perf": use_perf, "sample_hz": hz, "seconds": seconds, "repetitions": repetitions, "runs": rows,
            "summary": summary,
            "notes": "perf wraps the program, so wait4 includes perf's own small CPU and switches, while the sampler "
                     "follows the program itself; duration_time is perf's wall clock of the program (an external "
                     "timer). migrations is the run's total, perf's count where it counted (migrations_source); "
                     "sampled_migrations is the sampler's, a lower bound (threads that ended between its reads "
                     "take their migrations with them)"}


def _accuracy_row(row: dict, rep: int) -> dict:
    wait4_cpu = row["user_s"] + row["sys_s"]
    wait4_switches = row["ctx_voluntary"] + row["ctx_involuntary"]
    return {
        "lang": row["lang"], "mode": row["mode"], "rep": rep, "wall_s": row["wall_s"], "wait4_cpu_s": wait4_cpu,
        "sampled_cpu_s": row["workload_cpu_s"], "perf_task_clock_s": row.get("perf_task_clock_s"),
        "perf_duration_s": row.get("perf_duration_s"),
        "sampled_vs_wait4": ratio(row["workload_cpu_s"], wait4_cpu),
        "perf_vs_wait4": ratio(row.get("perf_task_clock_s"), wait4_cpu),
        "wall_vs_perf_duration": ratio(row["wall_s"], row.get("perf_duration_s")),
        "migrations": row.get("migrations"), "migrations_source": row.get("migrations_source"),
        "sampled_migrations": row.get("sampler_migrations"), "perf_cpu_migrations": row.get("perf_cpu_migrations"),
        "migrations_vs_perf": ratio(row.get("migrations"), row.get("perf_cpu_migrations")),
        "sampled_migrations_vs_perf": ratio(row.get("sampler_migrations"), row.get("perf_cpu_migrations")),
        "wait4_switches": wait4_switches, "perf_context_switches": row.get("perf_context_switches"),
        "wait4_switches_vs_perf": ratio(wait4_switches, row.get("perf_context_switches")),
        "unplaced_cpu_s": row.get("unplaced_cpu_s"), "samples": row.get("samples"),
    }


def _medians_by_run_kind(rows: list[dict]) -> dict:
    """Per language and mode, the median over repetitions of each count against perf's."""
    kinds: dict = {}
    for row in rows:
        kinds.setdefault(f"{row['lang']} {row['mode']}", []).append(row)
    return {kind: {key: _median([r[key] for r in runs]) for key in
                   ("migrations", "perf_cpu_migrations", "sampled_migrations", "migrations_vs_perf",
                    "sampled_migrations_vs_perf", "wait4_switches_vs_perf")}
            for kind, runs in kinds.items()}
