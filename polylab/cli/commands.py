"""What each task does, as plain functions called with keywords; tasks.py wires them to invoke, and wires the
report and compare commands to analysis/, which polylab never imports."""

from __future__ import annotations

import json
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

from invoke import Exit

from polylab.cli.doctor import apt_packages as missing_apt_packages
from polylab.cli.doctor import broken_manifests, container_notes, print_doctor
from polylab.cli.scaffold import new_language
from polylab.config.errors import UserError
from polylab.console import say
from polylab.results import store
from polylab.results.schema import HOST, RUNS, split_key, variant_key
from polylab.run.backends import BuildError
from polylab.run.lab import (ROOT, build_all, choose, fetch_absent, langs_folder, load_lab, parse_images,
                             parse_lang_list, select_langs, usable)
from polylab.run.matrix import EXIT_SIGINT, EXIT_SIGTERM, MatrixPlan, run_matrix
from polylab.run.plan import left_out_notes, plan, unsupported_modes
from polylab.run.resume import StartedSet
from polylab.run.tracing import doctor_note, tracing_notes


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


@contextmanager
def user_errors():
    """User mistakes end as one line and exit code 1, never a traceback: `@user_errors()` or `with user_errors():`."""
    warnings.showwarning = _one_line_warning
    try:
        yield
    except UserError as exc:
        raise Exit(f"error: {exc}", code=1) from None


def _ready_languages(lab, langs, backend, strict, images=None):
    names = select_langs(lab, parse_lang_list(langs))
    choices = fetch_absent(choose(lab, names, backend, parse_images(images)))   # pulls only here, never in doctor
    skipped = {c.key: {"label": c.detection.variant.display, "reason": c.detection.problem, "hint": c.detection.hint}
               for c in choices if not c.detection.ok}
    ready = usable(choices, strict)
    if not ready:
        raise UserError("no language can run here: " + "; ".join(
            f"{key}: {why['reason']} — {why['hint']}" for key, why in skipped.items()))
    return ready, skipped


def resolve_out(out: str | None, resume: str | bool | None, lab_root: Path) -> tuple[Path, bool]:
    if resume:
        return store.resume_folder(resume, lab_root), True
    return (Path(out).resolve() if out else store.new_results_dir(lab_root / "results")), False


@user_errors()
def doctor(*, config=None, langs=None, backend=None, images=None, apt_packages=False):
    lab = load_lab(config, keep_broken=True)
    runnable = [name for name in parse_lang_list(langs) or lab.languages if split_key(name)[0] not in lab.broken]
    choices = choose(lab, select_langs(lab, runnable), backend, parse_images(images)) if runnable else []
    if apt_packages:    # for `make toolchains`: one line, and a broken folder is left to the commands that use it
        print(" ".join(missing_apt_packages(choices)))
        return
    notes = [f"languages from {langs_folder()}; experiments from {lab.config.file}; "
             f"default profile '{lab.config.default_profile}'", *container_notes(lab, parse_images(images)),
             doctor_note()]
    print_doctor(choices, notes, lab.broken)
    if lab.broken:
        raise broken_manifests(lab.broken)


@user_errors()
def build(*, config=None, langs=None, backend=None, strict=False, images=None):
    lab = load_lab(config)
    ready, _ = _ready_languages(lab, langs, backend, strict, images)
    builds = build_all(lab, ready)
    failed = [name for name, outcome in builds.items() if isinstance(outcome, BuildError)]
    if failed:
        raise UserError(f"build failed for {', '.join(failed)}")
    compiled = [name for name, outcome in builds.items() if outcome.compiled]
    say(f"compiled: {', '.join(compiled)}" if compiled else "nothing to compile: every build is up to date")


def plan_matrix(*, profile=None, langs=None, out=None, config=None, backend=None, strict=False, resume=None,
                images=None, extend=False) -> MatrixPlan:
    """Everything decided once, before anything is built: the profile, its runs, the languages and the
    results folder. An empty matrix, an unusable results folder or a resume that is not the set's plan
    (polylab/run/resume.py) is reported here."""
    directory, resuming = resolve_out(out, resume, ROOT)
    if extend and not resuming:
        raise UserError("--extend adds languages to a set you continue: use it with --resume DIR")
    started = StartedSet.read(directory) if resuming else None
    if started:
        profile, langs, config = started.defaults(ROOT, profile, langs, config)
    lab = load_lab(config)
    chosen = lab.profile(profile)   # a wrong profile is one line, before any toolchain or engine is probed
    if started:
        started.check_profile(chosen, lab.config.file)   # so is a resume of another profile or experiments
    ready, skipped = _ready_languages(lab, langs, backend, strict, images)
    added = started.check_variants([choice.key for choice in ready], extend) if started else []
    if added:
        say(f"extending {directory} with {', '.join(added)}")
    keys, unsupported = [choice.key for choice in ready], unsupported_modes(ready)
    for note in left_out_notes(chosen, keys, unsupported):   # a mode some variant cannot run: said before planning
        say(note)
    specs = plan(chosen, keys, lab.config.file, unsupported)
    for note in tracing_notes(chosen, ready, lab.config.file):
        say(note)
    for experiment in chosen.experiments:   # planned without a mode its workload cannot run in: say why
        for note in experiment.left_out:
            say(f"experiment '{experiment.name}': {note}")
    store.prepare(directory)
    return MatrixPlan(lab=lab, profile=chosen, specs=specs, choices=ready, skipped=skipped, out=directory,
                      resume=resuming, extend=bool(extend))


@user_errors()
def run(**options) -> tuple[Path, int]:
    """Plan, build and run a matrix (options: those of plan_matrix); returns (results folder, exit code)."""
    matrix = plan_matrix(**options)
    return matrix.out, run_matrix(matrix, build_all(matrix.lab, matrix.choices))


def interrupted(code: int) -> bool:
    return code in (EXIT_SIGINT, EXIT_SIGTERM)


def exit_for(code: int, directory: Path) -> None:
    if code:
        message = None if interrupted(code) else _not_ok(directory)
        raise Exit(message, code=code)


def _not_ok(directory: Path) -> str:
    """The closing line of a matrix that ended 1: the hosts that failed, where a set ran on hosts, and
    otherwise (or besides) the runs that were not ok."""
    try:
        hosts = store.read_meta(directory).get("hosts") or {}
    except UserError:
        hosts = {}
    failed = [name for name, host in hosts.items() if isinstance(host, dict) and host.get("status") != "ok"]
    if failed:
        return (f"host{'s' if len(failed) > 1 else ''} {', '.join(failed)} did not finish (each one's reason is "
                f"above and in {directory / 'meta.json'}); every row that was run is in {directory / RUNS}")
    return f"some runs were not ok; every row is in {directory / RUNS}"


def results_set(results: str | None = None) -> Path:
    """The folder `invoke report` reads: --results DIR, else results/latest."""
    directory = Path(results).resolve() if results else (ROOT / "results" / "latest").resolve()
    _check_results_folder(directory, "pass a results set with --results DIR")
    return directory


def _check_results_folder(directory: Path, hint: str) -> None:
    if not directory.exists():
        raise UserError(f"{directory} does not exist: {hint}")
    if not (directory / RUNS).exists():
        raise UserError(f"{directory} has no {RUNS}: {hint}")


def results_sets(a: str, b: str) -> tuple[Path, Path]:
    """The two folders `invoke compare` reads (both required by the task)."""
    folders = Path(a).resolve(), Path(b).resolve()
    for folder in folders:
        _check_results_folder(folder, "pass two results folders, e.g. results/<timestamp>")
    return folders


def _one_of(directory: Path, name: str, present: list[str], kind: str, none: str = "no runs") -> str:
    if name not in present:
        raise UserError(f"{kind} '{name}' is not in {directory}; it has {', '.join(present) or none}")
    return name


def _two_of(directory: Path, text: str, present: list[str], flag: str, kind: str, example: str,
            none: str = "no runs") -> tuple[str, str]:
    """`FLAG A,B`: two different values (variants, hosts) that the set's runs hold."""
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    if len(names) != 2 or names[0] == names[1]:
        raise UserError(f"{flag} takes two {kind}s of the set, A,B (e.g. {example}); got '{text}'")
    return _one_of(directory, names[0], present, kind, none), _one_of(directory, names[1], present, kind, none)


def variants_in_set(directory: Path, text: str) -> tuple[str, str]:
    """`--variants A,B` for `invoke compare-within --results SET`: two variant keys that the set ran
    (`python:cpython`)."""
    present = list(dict.fromkeys(variant_key(row["lang"], row.get("variant") or row["lang"])
                                 for row in store.read_runs(directory) if row.get("lang")))
    return _two_of(directory, text, present, "--variants", "variant", "python:cpython,python:cpython-ft")


ONE_MACHINE = "no hosts: it was run on one machine"


def _hosts_with_runs(directory: Path) -> list[str]:
    return list(dict.fromkeys(row[HOST] for row in store.read_runs(directory) if row.get(HOST)))


def hosts_in_set(directory: Path, text: str) -> tuple[str, str]:
    """`--hosts A,B` for `invoke compare-within --results SET`: two hosts of a set run on several, each with runs."""
    return _two_of(directory, text, _hosts_with_runs(directory), "--hosts", "host", "h1,h2", ONE_MACHINE)


def baseline_host(directory: Path, name: str | None) -> str | None:
    """`invoke report --baseline HOST`: a host of the set with runs, which the Machines section compares the
    others with (None: the set's first)."""
    return None if name is None else _one_of(directory, name, _hosts_with_runs(directory), "host", ONE_MACHINE)


@user_errors()
def new_lang(name):
    folder = new_language(langs_folder(), name)
    say(f"created {folder}/ — next: write the program and fill in lang.yaml, as {folder}/README.md says")


# The fewest pairs whose median ratio has a distribution-free 95 % interval: x(1)..x(6) covers it with 96.9 %.
FEWEST_PAIRS = 6


def _at_least(value, minimum: float, flag: str, why: str = ""):
    if not value >= minimum:
        raise UserError(f"{flag} must be at least {minimum:g}{why}, got {value}")
    return value


def _max_pairs(value) -> int:
    return _at_least(int(value), FEWEST_PAIRS, "--max-pairs", " (fewer have no 95 % interval of their median)")


@user_errors()
def bench_sampler(*, lang="go", max_pairs=120):
    from polylab.cli.bench import bench_sampler as measure
    print(json.dumps(measure(lang=lang, max_pairs=_max_pairs(max_pairs)), indent=2))


@user_errors()
def bench_trace(*, lang="python:cpython", max_pairs=20):
    from polylab.cli.benchtrace import bench_trace as measure
    print(json.dumps(measure(lang=lang, max_pairs=_max_pairs(max_pairs)), indent=2))


@user_errors()
def bench_accuracy(*, langs=None, seconds=1.0, repetitions=3):
    from polylab.cli.bench import bench_accuracy as measure
    seconds = _at_least(float(seconds), 0.1, "--seconds", " (one interval of the sampler at 10 Hz)")
    repetitions = _at_least(int(repetitions), 1, "--repetitions")
    print(json.dumps(measure(langs=parse_lang_list(langs), seconds=seconds, repetitions=repetitions), indent=2))


def factor_value(text: str | None, default: float) -> float:
    """--factor: a ratio above 1 (1.10 = a 10% difference)."""
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 1:
        raise Exit(f"error: --factor expects a ratio above 1 such as 1.10, got '{text}'", code=1)
    return value
