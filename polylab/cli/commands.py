"""What each task does, as plain functions; tasks.py only wires them to invoke."""

from __future__ import annotations

import functools
import json
import sys
import warnings
from pathlib import Path

from invoke import Exit

from polylab.results import store
from polylab.run.backends import BuildError
from polylab.cli.doctor import container_notes, print_doctor
from polylab.config.errors import UserError
from polylab.run.lab import ROOT, build_all, choose, langs_folder, load_lab, parse_images, parse_lang_list, select_langs, usable
from polylab.run.matrix import MatrixRequest, run_matrix
from polylab.run.plan import plan
from polylab.console import say
from polylab.cli.scaffold import new_language


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def user_errors(function):
    """User mistakes end as one line and exit code 1, never a traceback."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        warnings.showwarning = _one_line_warning
        try:
            return function(*args, **kwargs)
        except UserError as exc:
            raise Exit(f"error: {exc}", code=1) from None
    return wrapper


def _ready_languages(config, langs, backend, strict, images=None):
    lab = load_lab(config)
    names = select_langs(lab, parse_lang_list(langs))
    choices = choose(lab, names, backend, parse_images(images))
    skipped = {c.language.name: f"{c.detection.problem} — {c.detection.hint}" for c in choices if not c.detection.ok}
    ready = usable(choices, strict)
    if not ready:
        raise UserError("no language can run here: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return lab, ready, skipped


def _prepare(config, langs, backend, strict, images=None):
    lab, ready, skipped = _ready_languages(config, langs, backend, strict, images)
    return lab, ready, build_all(lab, ready), skipped


def default_out(lab_root: Path) -> Path:
    return store.new_results_dir(lab_root / "results")


def resolve_out(out: str | None, resume: str | bool | None, lab_root: Path) -> tuple[Path, bool]:
    if resume:
        if resume is True or resume == "latest":
            latest = lab_root / "results" / "latest"
            if not latest.exists():
                raise UserError("nothing to resume: results/latest does not exist — pass the folder: --resume DIR")
            return latest.resolve(), True
        return Path(resume).resolve(), True
    return (Path(out).resolve() if out else default_out(lab_root)), False


@user_errors
def doctor(config=None, langs=None, backend=None, images=None):
    lab = load_lab(config)
    choices = choose(lab, select_langs(lab, parse_lang_list(langs)), backend, parse_images(images))
    notes = [f"languages from {langs_folder()}; experiments from {lab.config.file}; "
             f"default profile '{lab.config.default_profile}'", *container_notes(lab, parse_images(images))]
    print_doctor(choices, notes)


@user_errors
def build(config=None, langs=None, backend=None, strict=False, images=None):
    _, _, builds, _ = _prepare(config, langs, backend, strict, images)
    failed = [name for name, outcome in builds.items() if isinstance(outcome, BuildError)]
    if failed:
        raise UserError(f"build failed for {', '.join(failed)}")
    compiled = [name for name, outcome in builds.items() if outcome.compiled]
    say(f"compiled: {', '.join(compiled)}" if compiled else "nothing to compile: every build is up to date")


def _run_matrix(profile, langs, out, config, backend, strict, resume, images) -> tuple[Path, int]:
    lab, ready, skipped = _ready_languages(config, langs, backend, strict, images)
    directory, resuming = resolve_out(out, resume, lab.root)
    names = [c.language.name for c in ready]
    # An empty matrix or an unusable results folder is reported before anything is built.
    plan(lab.config.profile(profile), names, lab.config.file)
    store.prepare(directory)
    request = MatrixRequest(profile=profile, langs=names, out=directory, resume=resuming)
    return directory, run_matrix(lab, request, ready, build_all(lab, ready), skipped)


def _exit_for(code: int, directory: Path) -> None:
    if code:
        message = None if code in (130, 143) else f"some runs were not ok; every row is in {directory / store.RUNS}"
        raise Exit(message, code=code)


@user_errors
def run(profile=None, langs=None, out=None, config=None, backend=None, strict=False, resume=None, images=None):
    directory, code = _run_matrix(profile, langs, out, config, backend, strict, resume, images)
    _exit_for(code, directory)


@user_errors
def run_all(profile=None, langs=None, out=None, config=None, backend=None, strict=False, resume=None,
            images=None):
    directory, code = _run_matrix(profile, langs, out, config, backend, strict, resume, images)
    if code not in (130, 143):
        _report(directory)
    _exit_for(code, directory)


def _report(directory: Path) -> None:
    from analysis.report import build_report
    if not (directory / store.RUNS).exists():
        raise UserError(f"{directory} has no {store.RUNS}: pass a results set with --results DIR")
    build_report(directory)


@user_errors
def report(results=None):
    _report(Path(results).resolve() if results else (ROOT / "results" / "latest").resolve())


@user_errors
def compare(a, b, out=None):
    """Compare results sets A and B; prints the Markdown and writes compare.md/.html into out (default B)."""
    from analysis.compare import write_comparison
    folders = [Path(folder).resolve() for folder in (a, b)]
    for folder in folders:
        if not (folder / store.RUNS).exists():
            raise UserError(f"{folder} has no {store.RUNS}: pass two results folders, e.g. results/<timestamp>")
    markdown, written = write_comparison(*folders, Path(out).resolve() if out else None)
    print(markdown)
    say(f"written: {written / 'compare.md'}, {written / 'compare.html'}")


@user_errors
def new_lang(name):
    folder = new_language(langs_folder(), name)
    say(f"created {folder}/ — next: write the program and fill in lang.yaml, as {folder}/README.md says")




@user_errors
def bench_sampler(lang="go", pairs=5):
    from polylab.cli.bench import bench_sampler as measure
    print(json.dumps(measure(lang=lang, pairs=int(pairs)), indent=2))


@user_errors
def bench_accuracy(langs=None, seconds=2.0):
    from polylab.cli.bench import bench_accuracy as measure
    print(json.dumps(measure(langs=parse_lang_list(langs), seconds=float(seconds)), indent=2))
