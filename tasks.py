"""polylab's tasks: wiring only; every task delegates to polylab.cli (the library does the work)."""

from invoke import Collection, task

from polylab import cli

COMMON_HELP = {
    "profile": "profile from experiments.yaml (default: its default_profile, 'quick')",
    "langs": "comma-separated languages, e.g. go,python (default: every folder in langs/)",
    "out": "results folder (default: results/<timestamp>, linked from results/latest)",
    "config": "experiments file (default: experiments.yaml)",
    "backend": "local, container or auto (default: the config's `backend`, auto)",
    "strict": "a missing toolchain is an error instead of a skipped language",
    "resume": "continue an interrupted set: DIR, or 'latest'; runs only what is missing",
    "image": "LANG=IMAGE: use this container image for LANG (repeatable; e.g. a locally built one)",
}


@task(help=COMMON_HELP, optional=["resume"], iterable=["image"])
def all(c, profile=None, langs=None, out=None, config=None, backend=None, strict=False, resume=None, image=None):
    """Build every language, run the profile's matrix with sampling, and write the report."""
    cli.run_all(profile, langs, out, config, backend, strict, resume, image)


@task(help=COMMON_HELP, optional=["resume"], iterable=["image"])
def run(c, profile=None, langs=None, out=None, config=None, backend=None, strict=False, resume=None, image=None):
    """Build (cached) and run the profile's matrix, without the report."""
    cli.run(profile, langs, out, config, backend, strict, resume, image)


@task(help={k: COMMON_HELP[k] for k in ("langs", "config", "backend", "strict", "image")}, iterable=["image"])
def build(c, langs=None, config=None, backend=None, strict=False, image=None):
    """Build every language into build/<lang>/; unchanged sources compile nothing."""
    cli.build(config, langs, backend, strict, image)


@task(help={k: COMMON_HELP[k] for k in ("langs", "config", "backend", "image")}, iterable=["image"])
def doctor(c, langs=None, config=None, backend=None, image=None):
    """Show each language's toolchain (path, version), backend and status, with install hints."""
    cli.doctor(config, langs, backend, image)


@task(help={"results": "results folder (default: results/latest)"})
def report(c, results=None):
    """Rebuild the report of a results set from its stored data, without running anything."""
    cli.report(results)


@task(name="new-lang", help={"name": "the new language's name: lowercase letters, digits, '-'"})
def new_lang(c, name):
    """Scaffold langs/NAME/ from the template: a manifest and a README explaining the contract."""
    cli.new_lang(name)


ns = Collection(all, run, build, doctor, report, new_lang)
