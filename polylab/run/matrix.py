"""Run a planned matrix: (resume) → run + sample each → store each record as it ends.

The command line resolves the profile, plans the runs and prepares the results folder once, and hands the
result down as a MatrixPlan; nothing here plans or resolves again.
"""

from __future__ import annotations

import signal
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from polylab import __version__
from polylab.config.errors import UserError
from polylab.config.experiments import Profile
from polylab.console import MatrixProgress, say
from polylab.results import store
from polylab.results.schema import (META, RAW, TRACE_SUFFIX, CpuSource, Measured, Mode, Planned, RunRecord, Sink,
                                    Status, Verdict, Workload)
from polylab.results.tables import gather_parts, write_parts, write_trace
from polylab.run.backends import BuildError, BuildOutcome, Detection, LaunchSpec
from polylab.run.lab import Choice, Lab
from polylab.run.machine import describe
from polylab.run.plan import RunSpec
from polylab.run.resume import extended_meta, recorded_experiments
from polylab.run.reaper import subreaper
from polylab.run.runner import execute
from polylab.sample import perfstat, schedtrace

if TYPE_CHECKING:   # imported only when a run samples (_sampler_for)
    from polylab.sample.sampler import Sampler

EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class Interrupted(Exception):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM


@dataclass(frozen=True)
class MatrixPlan:
    """What one pass decided before anything runs: the lab, the profile, its runs in order, the variants
    that run them (their backend and target) and those skipped (by variant key), and the prepared results
    folder."""

    lab: Lab
    profile: Profile
    specs: list[RunSpec]
    choices: list[Choice]
    skipped: dict[str, str]
    out: Path
    resume: bool = False
    extend: bool = False    # a resume that adds variants to the set (polylab/run/resume.py)


def _interrupt_once():
    """A SIGINT/SIGTERM handler that raises Interrupted for the first signal only: a second one (an impatient
    Ctrl-C) arriving while the run in flight is killed and the finished ones saved must not cut that short."""
    first = []

    def handler(signum, _frame):
        if not first:
            first.append(signum)
            raise Interrupted(signum)
    return handler


def expected_seconds(spec: RunSpec) -> float:
    """A rough weight for the progress bar: duration-mode runs take their seconds plus start-up."""
    return (spec.seconds or 1.0) + 0.3


def planned(spec: RunSpec, detection: Detection) -> Planned:
    """The part of a run's record known before it starts: the planned run, its variant and the toolchain chosen."""
    return Planned(run_id=spec.run_id, experiment=spec.experiment, lang=spec.lang, variant=detection.variant.name,
                   toolchain=detection.toolchain, toolchain_version=detection.version, backend=detection.backend,
                   workload=Workload(spec.workload), mode=Mode(spec.mode), workers=spec.workers, n=spec.n,
                   seconds=spec.seconds, rep=spec.rep, warmup=spec.warmup, sink=Sink(spec.sink),
                   sample_hz=spec.sample_hz, cpus=spec.cpus)


def _build_failure(spec: RunSpec, choice: Choice, error: BuildError) -> RunRecord:
    return RunRecord(planned(spec, choice.detection), Measured(exit_code=None, stderr_tail=error.log_tail),
                     Verdict(Status.FAILED, str(error), checksum_ok=False))


def _sampler_for(samplers: dict, stack: ExitStack, hz: float):
    if hz <= 0:
        return None
    if hz not in samplers:
        from polylab.sample.sampler import Sampler
        samplers[hz] = stack.enter_context(Sampler(hz=hz))
    return samplers[hz]


def run_one(lab: Lab, spec: RunSpec, choice: Choice, out: Path, sampler: Sampler | None) -> RunRecord:
    """Execute one run through its backend; returns its record (its sample parts are written beside)."""
    raw = out / RAW
    result_path = raw / f"{spec.run_id}.result.json"
    launch = choice.backend.launch(LaunchSpec(spec, choice.target, result_path))
    perf_path = raw / f"{spec.run_id}.perf.csv"
    counting = spec.perf and choice.detection.backend == "local" and perfstat.available()
    if counting:   # the sampled root is now perf: the sampler counts its CPU, not its threads or memory
        perf_path.unlink(missing_ok=True)
        launch = replace(launch, argv=perfstat.wrap(launch.argv, perf_path), sample_wrapper=True)
    tracer = schedtrace.SchedTracer(raw / f"{spec.run_id}.perf.data") if _traced(spec, choice) else None
    measured, verdict, samples = execute(spec, launch, raw, sampler, tracer)
    if samples is not None:
        write_parts(out, spec.run_id, samples)
        totals = measured.totals
        if totals is not None and totals.cpu_source != CpuSource.CGROUP:   # a cgroup's own peak is kept
            measured = replace(measured, totals=replace(totals, max_rss_bytes=samples.peak_rss_bytes))
    return RunRecord(planned(spec, choice.detection), measured, verdict,
                     sampler=samples.summary if samples is not None else None,
                     perf=perfstat.parse(perf_path) if counting and perf_path.exists() else None,
                     trace=_stored_trace(tracer, raw, spec.run_id) if tracer else None)


def _traced(spec: RunSpec, choice: Choice) -> bool:
    """`trace: sched` on a local run (plan_matrix refused the profile where perf cannot trace)."""
    return spec.trace == schedtrace.SCHED and choice.detection.backend == "local"


def _stored_trace(tracer, raw: Path, run_id: str):
    """The run's events into raw/, and their totals; a recording that could not be read is said, not hidden."""
    try:
        parsed, summary = tracer.finish()
    except schedtrace.TraceError as error:
        say(f"{run_id}: no scheduler trace — {error}")
        return None
    write_trace(raw / f"{run_id}{TRACE_SUFFIX}", parsed.rows)
    return summary


def run_matrix(matrix: MatrixPlan, builds: dict[str, BuildOutcome | BuildError]) -> int:
    """Returns the exit code: 0 when every run is ok, 1 when some are not, 130/143 when interrupted."""
    out, specs = matrix.out, matrix.specs
    started = matrix.resume and (out / META).exists()
    done = {row["run_id"] for row in store.read_runs(out)} if matrix.resume else set()
    if matrix.resume and not done and not started:
        say(f"nothing to resume in {out}: starting a new set there")
    todo = [spec for spec in specs if spec.run_id not in done]
    if not started:
        store.write_meta(out, _meta(matrix, builds))
    elif matrix.extend:
        store.write_meta(out, extended_meta(store.read_meta(out), _meta(matrix, builds)))
    if out.parent.name == "results":
        store.point_latest(out)
    say(f"profile '{matrix.profile.name}': {len(specs)} runs"
        + (f", {len(specs) - len(todo)} already done, {len(todo)} to go" if matrix.resume else "")
        + f" → {out}")
    by_key = {choice.key: choice for choice in matrix.choices}
    statuses = _execute_all(matrix.lab, todo, by_key, builds, out)
    gather_parts(out)
    return statuses


def _execute_all(lab, todo, by_key, builds, out) -> int:
    handler = _interrupt_once()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    bad = 0
    try:
        with subreaper(), ExitStack() as stack, MatrixProgress(sum(map(expected_seconds, todo)), len(todo)) as progress:
            samplers: dict = {}
            for spec in todo:
                choice = by_key[spec.key]
                progress.started(spec.label)
                build = builds[spec.key]
                if isinstance(build, BuildError):
                    record = _build_failure(spec, choice, build)
                else:
                    record = run_one(lab, spec, choice, out, _sampler_for(samplers, stack, spec.sample_hz))
                store.append_run(out, record)
                bad += record.status != Status.OK
                progress.finished(spec.label, record.status, record.measured.wall_s, expected_seconds(spec),
                                  record.verdict.reason)
    except (Interrupted, KeyboardInterrupt) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else EXIT_SIGINT
        say(f"interrupted: finished runs are saved in {out}; continue with `invoke all --resume {out}`")
        return code
    except OSError as exc:   # the results folder filled up or vanished mid-matrix: rows written so far stay
        raise UserError(f"cannot write to {out}: {exc.strerror or exc} — finished runs are saved; free space and "
                        f"continue with `invoke all --resume {out}`") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if bad else 0


def _meta(matrix: MatrixPlan, builds: dict) -> dict:
    """meta.json: `toolchains` has one entry per variant, by key, with the thread model it declares (which the
    analysis judges it by) and the label reports show for it."""
    toolchains = {}
    for choice in matrix.choices:
        build, variant = builds.get(choice.key), choice.detection.variant
        toolchains[choice.key] = {
            "lang": choice.language.name, "variant": variant.name, "display": choice.language.display,
            "label": variant.display, "threads": variant.threads.value, "backend": choice.detection.backend,
            "toolchain": choice.detection.toolchain, "path": choice.detection.path,
            "version": choice.detection.version,
            "build": "failed" if isinstance(build, BuildError) else getattr(build, "cache_key", None),
        }
    return {
        "polylab_version": __version__,
        "profile": matrix.profile.name,
        "config_file": matrix.lab.config.file,
        "config": {"description": matrix.profile.description,
                   "experiments": recorded_experiments(matrix.profile)},
        "planned_runs": len(matrix.specs),
        "machine": describe(matrix.lab.root),
        "toolchains": toolchains,
        "skipped": matrix.skipped,
    }
