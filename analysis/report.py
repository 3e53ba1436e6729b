"""Write the report files of a results set from its stored data, without running anything:
figures/*.png, report.html (self-contained), summary.md (GitHub-friendly) and runs.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from polylab.console import say
from polylab.results.schema import RUNS, SAMPLES, THREADS
from polylab.results.store import atomic_write_text, skipped_lines_text

from . import claims as claims_module
from . import claims_printing, claims_section
from . import machines, tidy
from .document import Bullets, Document, Figure, Heading, Table, Text, number, to_html, to_markdown
from .figures import draw_all
from .load import ResultsSet, load_results
from .methods import experiment_table, machine_table, methods, toolchain_table
from .summary import failures, skipped, skipped_variants, status_counts, summary_table, write_run_table
from .variants import single_thread_cost

FIGURES_FOLDER = "figures"


def _overview(results: ResultsSet) -> list:
    runs = results.runs
    head = tidy.headline(results)
    started = runs["started_at"].dropna()
    facts = [
        f"Profile '{results.meta.get('profile', '?')}', {len(runs)} runs recorded of "
        f"{results.meta.get('planned_runs', '?')} planned ({int(runs['measured'].sum())} measured, "
        f"{int(runs['warmup'].sum())} warm-ups, {int((runs['status'] != 'ok').sum())} not ok)"
        + (f", from {started.min()} to {started.max()}." if not started.empty else "."),
        _machines_line(results),
        f"Languages: {', '.join(runs['language'].cat.categories)}."
        + (f" Skipped: {', '.join(skipped_variants(results.meta))}." if results.meta.get("skipped") else ""),
        f"Headline experiment (figures of one run per language and mode): {head.label()}." if head else
        "No measured run: the figures and claims are left out.",
        "Per-core samples: " + ("present." if results.has_samples else
                                f"{results.unreadable.get(SAMPLES, 'none')} (figures that need them say why they "
                                "are left out; claims that need them are inconclusive)."),
        *_unread_data(results),
    ]
    window = tidy.window_stats(results)
    noisy = window[window["other_load_cores"] > tidy.QUIET_OTHER_LOAD]
    if not noisy.empty:
        unsampled = int(runs["measured"].sum()) - len(window)
        facts.append(f"{len(noisy)} of {len(window)} sampled runs shared the machine: other programs (or a "
                     f"hypervisor, as steal time) used more than {tidy.QUIET_OTHER_LOAD} cores during them (up to "
                     f"{noisy['other_load_cores'].max():.2f}). Claims (a)–(c) and (e) set them aside; see the "
                     f"'rest of machine' panels."
                     + (f" The other {unsampled} measured runs have no sample of their work (they ended within one "
                        "sampling interval, or sampling was off), so whether they shared it is not known."
                        if unsampled > 0 else ""))
    return [Bullets(facts)]


def _unread_data(results: ResultsSet) -> list[str]:
    """What the set holds that could not be read, beyond the per-core samples (said above): left out, said here."""
    notes = []
    if THREADS in results.unreadable:
        notes.append(f"Per-thread samples: {results.unreadable[THREADS]}; the figures and claims that need them say "
                     f"so.")
    if results.skipped_lines:
        notes.append(f"{RUNS}: skipped {skipped_lines_text(results.skipped_lines)}; a run written there is not in "
                     f"this report.")
    return notes


def _machines_line(results: ResultsSet) -> str:
    machine = results.machine
    shared = "shared machines add noise, which the figures show as 'rest of machine'."
    if results.several_hosts:
        return (f"Machines: {len(results.hosts)} hosts, {', '.join(results.hosts)} (see Machines; a runtime is "
                f"named with its host, e.g. {results.runs['language'].cat.categories[0]}); {shared}")
    return (f"Machine: {machine.get('cpu_model', '?')}, {results.cores} cores usable, kernel "
            f"{machine.get('kernel', '?')}{', in a container' if machine.get('in_container') else ''}; {shared}")


def _free_threading_cost(results: ResultsSet) -> list:
    costs = single_thread_cost(results)
    if costs.empty:
        return []
    table = pd.DataFrame({"experiment": costs["experiment"], "mode": costs["mode"], "variant": costs["variant"],
                          "against": costs["baseline"], "n": costs["n"], "1-worker iterations/s":
                          costs["variant_throughput"], "of the baseline": costs["baseline_throughput"],
                          "ratio": costs["ratio"], "ratio min–max": [
                              f"{number(low)}–{number(high)}" for low, high in zip(costs["ratio_low"],
                                                                                   costs["ratio_high"])],
                          "single-thread cost": [f"{cost:+.0%}" for cost in costs["cost"]], "p": costs["p"]})
    version = _versions(results)
    table.insert(4, "versions", [f"{version.get(variant, '?')} vs {version.get(baseline, '?')}"
                                 for variant, baseline in zip(costs["variant"], costs["baseline"])])
    pairs = dict.fromkeys(zip(costs["variant"], costs["baseline"]))
    differ = [f"{variant} {version.get(variant)} against {baseline} {version.get(baseline)}"
              for variant, baseline in pairs if version.get(variant) != version.get(baseline)]
    confound = (f" The builds compared differ in version too ({'; '.join(differ)}): the ratio holds the change of "
                "version as well as free-threading's cost; the same version built both ways would separate them."
                if differ else "")
    return [Heading("Single-thread cost of dropping the GIL", level=3),
            Text("1-worker throughput of each variant declaring all-cores against its language's first one-core "
                 "variant (free-threaded CPython against CPython with the GIL): ratio of the medians, its range over "
                 "every pair of runs, and the Mann-Whitney U p-value (two-sided)." + confound), Table(table)]


def _versions(results: ResultsSet) -> dict[str, str]:
    """Each runtime's shown name → the version its toolchain reported."""
    entries = results.meta.get("toolchains", {})
    keys = results.runs.drop_duplicates("language").set_index("language")["variant_key"]
    return {str(name): entries.get(str(key), {}).get("version", "?") for name, key in keys.items()}


def build_document(results: ResultsSet, figure_outcomes: list, claims: list, machine_blocks: list = ()) -> Document:
    document = Document(f"polylab report — {results.name}")
    single = claims_printing.single_run_note(results)   # a one-run set: a pointer, not a wall of inconclusive
    finding = claims_printing.article_experiment_finding(results)
    glance = [Text(single)] if single else [
        claims_section.matrix(claims, claims_section.runtimes(results, claims))]
    document.add(Heading("Claims × runtimes"), *glance, *([Text(finding)] if finding else []))
    document.add(Heading("The results set"), *_overview(results), *_free_threading_cost(results))
    document.add(*machine_blocks)
    document.add(Heading("Figures"))
    figures = {outcome.name: claims_section.figure_heading(outcome.name, outcome.title) for outcome in figure_outcomes}
    for outcome in figure_outcomes:
        document.add(figures[outcome.name], Figure(outcome.title, outcome.caption, outcome.path))
    document.add(Heading("Claims of the article"),
                 Text("Each claim of the article the lab grew from (a Korean note on processes and threads, "
                      "quoted in its own words under each claim) with the rule that judges it, the verdict and the "
                      "numbers behind it, and the figure that shows it. Rule for every claim: groups with fewer than "
                      f"{claims_module.MIN_REPS} runs, or runs on both sides of a threshold, are inconclusive; "
                      "the claim takes the verdict its conclusive groups agree on when they are at least half "
                      "of the groups, and is inconclusive otherwise. A runtime takes the same rule over its own "
                      "groups, except that groups which each decide, and decide differently, make its verdict "
                      "'depends': the claim holds for it in some groups (a mode, a worker count) and not in "
                      "others."))
    if single:
        document.add(Text(f"None is judged in this set: every configuration ran fewer than "
                          f"{claims_module.MIN_REPS} times (Claims × runtimes, at the top, says what to run)."))
    for claim in [] if single else claims:
        document.add(*claims_section.claim_blocks(claim, figures))
    document.add(Heading("Summary"),
                 Text("Measured runs per configuration: median (min–max) over the repetitions; n = runs."),
                 Table(summary_table(results)))
    document.add(Heading("Methods"), Bullets(methods(results)))
    document.add(Heading("Machine and toolchains"), Table(machine_table(results)),
                 Table(toolchain_table(results.meta)), Heading("Experiments as run", level=3),
                 Table(experiment_table(results.meta)))
    document.add(Heading("Failures and skips"), Heading("Runs that are not ok", level=3),
                 Table(failures(results), caption="Left out of every statistic."),
                 Heading("Languages skipped", level=3), Table(skipped(results.meta)),
                 Heading("Runs per status", level=3),
                 Table(status_counts(results), caption="Runs of every experiment, per runtime and mode."))
    document.add(Heading("Files"), Bullets([
        "runs.csv — every run (warm-ups and failures too) with the derived numbers",
        "summary.md — this report as Markdown; figures/*.png — the figures",
        "runs.jsonl, meta.json, samples.parquet, threads.parquet — the stored data this report is built from "
        "(`invoke report --results DIR` rebuilds it)"]))
    return document


def build_report(directory: Path, baseline: str | None = None) -> Path:
    """Rebuild every report file of the results set in directory; returns the path of report.html. baseline: the
    host the Machines section sets the others against (a set run on several hosts; default its first)."""
    directory = Path(directory)
    results = load_results(directory)
    say(f"report: drawing the figures of {len(results.runs)} runs into {directory / FIGURES_FOLDER}")
    outcomes = draw_all(results, directory / FIGURES_FOLDER,
                        on_drawn=lambda name, seconds: say(f"report: {name}.png ({seconds:.1f} s)"))
    say("report: judging the claims")
    claims = claims_module.evaluate(results)
    document = build_document(results, outcomes, claims,
                              machines.section(results, directory / FIGURES_FOLDER, baseline))
    atomic_write_text(directory / "summary.md", to_markdown(document, directory))
    atomic_write_text(directory / "report.html", to_html(document))
    write_run_table(results, directory / "runs.csv")
    verdicts = ", ".join(f"({c.key}) {c.verdict}" for c in claims)
    say(f"report: {directory / 'report.html'} — claims: {verdicts}")
    return directory / "report.html"
