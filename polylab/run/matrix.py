"""Run a profile's matrix: plan → (resume) → run + sample each → store each row as it ends."""

from __future__ import annotations

import signal
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from polylab import __version__
from polylab.sample import perfstat
from polylab.results import store
from polylab.run.backends import BuildError, BuildOutcome
from polylab.config.errors import UserError
from polylab.run.lab import Choice, Lab
from polylab.run.machine import describe
from polylab.run.plan import RunSpec, plan
from polylab.console import MatrixProgress, say
from polylab.run.reaper import become_subreaper
from polylab.run.runner import effective_parallelism, execute
from polylab.results.tables import gather_parts, write_parts

EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class Interrupted(Exception):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM


@dataclass(frozen=True)
class MatrixRequest:
    profile: str | None
    langs: list[str]
    out: Path
    resume: bool = False


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


def base_row(spec: RunSpec, choice: Choice) -> dict:
    detection = choice.detection
    return {"run_id": spec.run_id, "experiment": spec.experiment, "lang": spec.lang, "variant": detection.variant,
            "toolchain_version": detection.version, "backend": detection.backend, "workload": spec.workload,
            "mode": spec.mode, "workers": spec.workers, "n": spec.n, "seconds": spec.seconds, "rep": spec.rep,
            "warmup": spec.warmup, "sink": spec.sink, "sample_hz": spec.sample_hz, "cpus": spec.cpus}


def _build_failure_row(spec: RunSpec, choice: Choice, error: BuildError) -> dict:
    return {**base_row(spec, choice), "status": "failed", "reason": f"build failed: {error}",
            "checksum_ok": False, "exit_code": None, "stderr_tail": error.log_tail}


def _sampler_for(samplers: dict, stack: ExitStack, hz: float):
    if hz <= 0:
        return None
    if hz not in samplers:
        from polylab.sample.sampler import Sampler
        samplers[hz] = stack.enter_context(Sampler(hz=hz))
    return samplers[hz]


def run_one(lab: Lab, spec: RunSpec, choice: Choice, out: Path, sampler) -> dict:
    """Execute one run through its backend; returns the full runs.jsonl row (parts written beside)."""
    raw = out / store.RAW
    result_path = raw / f"{spec.run_id}.result.json"
    launch = choice.backend.launch(choice.language, choice.detection, lab.build_root, spec, result_path)
    perf_path = raw / f"{spec.run_id}.perf.csv"
    counting = spec.perf and choice.detection.backend == "local" and perfstat.available()
    if counting:
        perf_path.unlink(missing_ok=True)
        launch.argv = perfstat.wrap(launch.argv, perf_path)
    measured, samples = execute(spec, launch, raw, sampler)
    row = {**base_row(spec, choice), **measured}
    if counting and perf_path.exists():
        row.update({f"perf_{key}": value for key, value in perfstat.parse(perf_path).items()})
    if samples is not None:
        row.update(write_parts(out, spec.run_id, samples))
        if row.get("cpu_source") == "sampler" and row.get("wall_s"):
            row["parallelism"] = effective_parallelism(samples.summary["workload_cpu_s"], row)
        if row.get("cpu_source") != "cgroup":
            row["max_rss_bytes"] = samples.summary.get("peak_rss_bytes")
        row["tree_rss_bytes"] = samples.summary.get("tree_peak_rss_bytes")
    return row


def run_matrix(lab: Lab, request: MatrixRequest, choices: list[Choice],
               builds: dict[str, BuildOutcome | BuildError], skipped: dict[str, str]) -> int:
    """Returns the exit code: 0 when every run is ok, 1 when some are not, 130/143 when interrupted."""
    profile = lab.config.profile(request.profile)
    by_lang = {c.language.name: c for c in choices}
    specs = plan(profile, [name for name in request.langs if name in by_lang], lab.config.file)
    out = request.out
    store.prepare(out)
    done = {row["run_id"] for row in store.read_runs(out)} if request.resume else set()
    if request.resume and not done and not (out / store.META).exists():
        say(f"nothing to resume in {out}: starting a new set there")
    todo = [spec for spec in specs if spec.run_id not in done]
    if not request.resume or not (out / store.META).exists():
        store.write_meta(out, _meta(lab, profile.name, choices, builds, skipped, len(specs)))
    if out.parent.name == "results":
        store.point_latest(out)
    say(f"profile '{profile.name}': {len(specs)} runs"
        + (f", {len(specs) - len(todo)} already done, {len(todo)} to go" if request.resume else "")
        + f" → {out}")
    statuses = _execute_all(lab, todo, by_lang, builds, out)
    gather_parts(out)
    return statuses


def _execute_all(lab, todo, by_lang, builds, out) -> int:
    handler = _interrupt_once()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    become_subreaper()
    bad = 0
    try:
        with ExitStack() as stack, MatrixProgress(sum(map(expected_seconds, todo)), len(todo)) as progress:
            samplers: dict = {}
            for spec in todo:
                choice = by_lang[spec.lang]
                progress.started(spec.label)
                build = builds[spec.lang]
                if isinstance(build, BuildError):
                    row = _build_failure_row(spec, choice, build)
                else:
                    row = run_one(lab, spec, choice, out, _sampler_for(samplers, stack, spec.sample_hz))
                store.append_run(out, row)
                bad += row["status"] != "ok"
                progress.finished(spec.label, row["status"], row.get("wall_s"), expected_seconds(spec),
                                  row.get("reason"))
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


def _meta(lab: Lab, profile: str, choices: list[Choice], builds: dict, skipped: dict, planned: int) -> dict:
    toolchains = {}
    for choice in choices:
        build = builds.get(choice.language.name)
        toolchains[choice.language.name] = {
            "backend": choice.detection.backend, "variant": choice.detection.variant,
            "path": choice.detection.path, "version": choice.detection.version,
            "build": "failed" if isinstance(build, BuildError) else getattr(build, "cache_key", None),
        }
    profile_record = lab.config.profile(profile)
    return {
        "polylab_version": __version__,
        "profile": profile,
        "config_file": lab.config.file,
        "config": {"description": profile_record.description,
                   "experiments": [vars(e) for e in profile_record.experiments]},
        "planned_runs": planned,
        "machine": describe(lab.root),
        "toolchains": toolchains,
        "skipped": skipped,
    }
