"""polylab's tasks: wiring only. Every task delegates to polylab.cli.commands (the library does the work); the
report steps call analysis/ directly, so that the lab never imports the analysis (nor the other way round).
analysis/ is imported inside the tasks that use it: it loads pandas, seaborn and matplotlib, which the others
do not need."""

from pathlib import Path

from invoke import Collection, task

from polylab.cli import commands as cli
from polylab.console import say
from polylab.hosts import task as on_hosts

COMMON_HELP = {
    "profile": "profile from experiments.yaml (default: its default_profile, 'quick')",
    "langs": "comma-separated languages, e.g. go,python (default: every folder in langs/)",
    "out": "results folder (default: results/<timestamp>, linked from results/latest)",
    "config": "experiments file (default: experiments.yaml)",
    "backend": "local, container or auto (default: the config's `backend`, auto)",
    "strict": "a missing toolchain is an error instead of a skipped language",
    "resume": "continue an interrupted set: DIR, or 'latest'; runs only what is missing, with the set's profile, "
              "experiments and languages (another one is refused)",
    "extend": "with --resume: add the languages that --langs names beyond the set's to it",
    "image": "LANG=IMAGE: use this container image for LANG (repeatable; e.g. a locally built one)",
}


# No automatic short flags for the two matrix tasks: --hosts would take -h from --help.
@task(help={**COMMON_HELP, **on_hosts.HELP}, optional=["resume"], iterable=["image"], auto_shortflags=False)
def all(c, profile=None, langs=None, out=None, config=None, backend=None, strict=False, resume=None, image=None,
        extend=False, hosts=None, serial=False, inventory=None, accept_new_host_keys=False):
    """Build every language, run the profile's matrix with sampling, and write the report."""
    from analysis.report import build_report
    directory, code = on_hosts.run(cli.run, hosts=hosts, serial=serial, inventory=inventory,
                                   accept_new_host_keys=accept_new_host_keys, profile=profile, langs=langs, out=out,
                                   config=config, backend=backend, strict=strict, resume=resume, images=image,
                                   extend=extend)
    if not cli.interrupted(code):
        with cli.user_errors():
            build_report(directory)
    cli.exit_for(code, directory)


@task(help={**COMMON_HELP, **on_hosts.HELP}, optional=["resume"], iterable=["image"], auto_shortflags=False)
def run(c, profile=None, langs=None, out=None, config=None, backend=None, strict=False, resume=None, image=None,
        extend=False, hosts=None, serial=False, inventory=None, accept_new_host_keys=False):
    """Build (cached) and run the profile's matrix, without the report."""
    directory, code = on_hosts.run(cli.run, hosts=hosts, serial=serial, inventory=inventory,
                                   accept_new_host_keys=accept_new_host_keys, profile=profile, langs=langs, out=out,
                                   config=config, backend=backend, strict=strict, resume=resume, images=image,
                                   extend=extend)
    cli.exit_for(code, directory)


@task(help={k: COMMON_HELP[k] for k in ("langs", "config", "backend", "strict", "image")}, iterable=["image"])
def build(c, langs=None, config=None, backend=None, strict=False, image=None):
    """Build every language into build/<lang>/; unchanged sources compile nothing."""
    cli.build(config=config, langs=langs, backend=backend, strict=strict, images=image)


@task(help={**{k: COMMON_HELP[k] for k in ("langs", "config", "backend", "image")},
            "apt-packages": "print only the Debian packages the missing toolchains' install hints name, on one line "
                            "(what `make toolchains` installs)"}, iterable=["image"])
def doctor(c, langs=None, config=None, backend=None, image=None, apt_packages=False):
    """Show each language's toolchain (path, version), backend and status, with install hints."""
    cli.doctor(config=config, langs=langs, backend=backend, images=image, apt_packages=apt_packages)


@task(help={"results": "results folder (default: results/latest)",
            "baseline": "a set run on several hosts: the host the others are compared with in its Machines section "
                        "(default: the first)"})
def report(c, results=None, baseline=None):
    """Rebuild the report of a results set from its stored data, without running anything."""
    from analysis.report import build_report
    with cli.user_errors():
        folder = cli.results_set(results)
        build_report(folder, cli.baseline_host(folder, baseline))


FACTOR_HELP = ("smallest ratio of medians that may be called significant (default 1.10: drift between two sets of "
               "one build on a shared machine stays below it)")


@task(help={"a": "the baseline results folder", "b": "the results folder compared with A",
            "out": "where to write compare.md and compare.html (default: B)", "factor": FACTOR_HELP})
def compare(c, a, b, out=None, factor=None):
    """Compare two results sets run by run: medians, ratio B/A, Mann-Whitney U corrected for the rows compared;
    'not significant' when noisy or smaller than the factor."""
    from analysis.compare import DEFAULT_FACTOR, write_comparison
    with cli.user_errors():
        markdown, written = write_comparison(*cli.results_sets(a, b), Path(out).resolve() if out else None,
                                             factor=cli.factor_value(factor, DEFAULT_FACTOR))
    print(markdown)
    say(f"written: {written / 'compare.md'}, {written / 'compare.html'}")


@task(name="compare-within",
      help={"results": "the results folder (default: results/latest)",
            "variants": "A,B: two variants of the set, e.g. python:cpython,python:cpython-ft "
                        "(written to compare-variants.md/.html)",
            "hosts": "A,B: two hosts of a set run on several hosts, e.g. h1,h2 (written to compare-hosts.md/.html)",
            "out": "where to write the comparison (default: the set)", "factor": FACTOR_HELP},
      auto_shortflags=False)   # --hosts would take -h from --help
def compare_within(c, results=None, variants=None, hosts=None, out=None, factor=None):
    """Compare two variants, or two hosts, of one results set run by run, with compare's test and factor."""
    from analysis.compare import DEFAULT_FACTOR
    from analysis.slices import write_host_comparison
    from analysis.variants import write_variant_comparison
    with cli.user_errors():
        if bool(variants) == bool(hosts):
            raise cli.UserError("compare-within needs exactly one of --variants A,B or --hosts A,B")
        folder, where = cli.results_set(results), Path(out).resolve() if out else None
        factor = cli.factor_value(factor, DEFAULT_FACTOR)
        if hosts:
            markdown, written = write_host_comparison(folder, *cli.hosts_in_set(folder, hosts), where, factor=factor)
            name = "compare-hosts"
        else:
            markdown, written = write_variant_comparison(folder, *cli.variants_in_set(folder, variants), where,
                                                         factor=factor)
            name = "compare-variants"
    print(markdown)
    say(f"written: {written / f'{name}.md'}, {written / f'{name}.html'}")


@task(name="bench-sampler", help={"lang": "language of the fixed CPU-bound run (default go)",
                                   "max-pairs": "most A/B pairs per sampling rate (default 120); the bench stops "
                                                "sooner once the 95% interval of the median ratio is within ±1%"})
def bench_sampler(c, lang="go", max_pairs=120):
    """Sampler overhead: ABBA pairs without and with sampling at 10 and 50 Hz, with the median ratio's 95%
    interval and the bound its CPU share implies; JSON on stdout."""
    cli.bench_sampler(lang=lang, max_pairs=max_pairs)


@task(name="bench-trace", help={"lang": "variant of the fixed CPU-bound run (default python:cpython)",
                                 "max-pairs": "most A/B pairs (default 20); the bench stops sooner once the 95% "
                                              "interval of the median wall ratio is within ±1%"})
def bench_trace(c, lang="python:cpython", max_pairs=20):
    """Cost of `trace: sched`: ABBA pairs untraced and traced, median wall and CPU ratios with 95% intervals,
    perf's own CPU and the events per second; JSON on stdout."""
    cli.bench_trace(lang=lang, max_pairs=max_pairs)


@task(name="bench-accuracy", help={"langs": COMMON_HELP["langs"], "seconds": "duration of each run (default 1)",
                                    "repetitions": "runs per language and mode (default 3)"})
def bench_accuracy(c, langs=None, seconds=1.0, repetitions=3):
    """The lab's CPU, wall time, migrations and switches against wait4's and perf's counts; JSON on stdout."""
    cli.bench_accuracy(langs=langs, seconds=seconds, repetitions=repetitions)


@task(name="new-lang", help={"name": "the new language's name: lowercase letters, digits, '-'"})
def new_lang(c, name):
    """Scaffold langs/NAME/ from the template: a manifest and a README explaining the contract."""
    cli.new_lang(name)


ns = Collection(all, run, build, doctor, report, compare, compare_within, bench_sampler, bench_trace, bench_accuracy,
                new_lang)
