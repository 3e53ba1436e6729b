"""The report's claims, answered as a person would: first a matrix of claims × runtimes with the verdict in each
cell, then per claim one sentence that answers it and says where the answer depends on the runtime, the rule,
the evidence and a link to the figure that shows it.

Everything here reads the Claims that claims.evaluate returns (their verdict, `by_variant` and `figure`); no rule
is decided here.
"""

from __future__ import annotations

import re

import pandas as pd

from . import tidy
from .claims import CONTRADICTED, DEPENDS, INCONCLUSIVE, SUPPORTED, Claim
from .document import Heading, Link, Matrix, MatrixRow, Table, Text
from .load import ResultsSet

ALL_RUNTIMES = "all runtimes"
ANSWER = {SUPPORTED: "Yes", CONTRADICTED: "No", INCONCLUSIVE: "Undecided"}
SAYS = {SUPPORTED: "holds for", CONTRADICTED: "does not hold for",
        DEPENDS: "holds in some groups and not in others (the evidence says which) for",
        INCONCLUSIVE: "undecided for"}


def claim_heading(claim: Claim) -> Heading:
    return Heading(f"({claim.key}) {claim.statement}", level=3, badge=claim.verdict, anchor=f"claim-{claim.key}")


def figure_heading(name: str, title: str) -> Heading:
    return Heading(title, level=3, anchor=f"figure-{name}")


def listed(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def answer(claim: Claim) -> str:
    """One sentence that answers the claim and names the runtimes its answer depends on, from `by_variant`."""
    if not claim.by_variant:
        return f"{ANSWER[claim.verdict]} for the set as a whole (no verdict per runtime): {claim.reason}."
    by_verdict = {verdict: [name for name, said in claim.by_variant.items() if said == verdict]
                  for verdict in (SUPPORTED, CONTRADICTED, DEPENDS, INCONCLUSIVE)}
    parts = [f"{SAYS[verdict]} {listed(names)}" for verdict, names in by_verdict.items() if names]
    depends = bool(by_verdict[SUPPORTED]) and bool(by_verdict[CONTRADICTED])
    lead = "It depends on the runtime" if depends else ANSWER[claim.verdict]
    uniform = len(parts) == 1 and claim.by_variant[next(iter(claim.by_variant))] == claim.verdict
    overall = "" if uniform else f" Over all its groups: {claim.verdict}."
    if len(parts) == 1 and by_verdict[INCONCLUSIVE]:
        return f"Undecided for {listed(by_verdict[INCONCLUSIVE])}.{overall}"
    return f"{lead}: {'; '.join(parts)}.{overall}"


# What an undecided group's outcome says, and what data would decide it; the first that matches is taken.
_SET_ASIDE = ("noisy run", "quiet runs: runs of these groups were set aside because other programs used more than "
              f"{tidy.QUIET_OTHER_LOAD} cores of this shared machine meanwhile, and the same profile on an idle "
              "machine would keep them")
_FULL_MACHINE = ("short of it on a full machine",
                 "a machine with more cores: in these runs what ran beside the workers (the console's reader, the "
                 "kernel's threads) took the cores the workers' threads were ready to run on, so the runs count "
                 "against nothing. 2 cores cannot give both a core each: a machine with cores to spare beside the "
                 "workers would show whether their threads spread")
_NOT_ONE_SWITCH = ("context switches per hand-off",
                   "nothing more of the same: these runtimes' threads hand off with several context switches (their "
                   "primitive's own) or none (spinning, or the runtime's own scheduler), and the rule compares only "
                   "hand-offs that are one switch in both modes: a ping-pong whose threads block once a hand-off "
                   "would decide them, not more runs of this one, on this machine or any other: the count of switches "
                   "is the runtime's primitive's")
_TOO_SHORT = ("too short to show a job kept in place",
              "longer runs: in these runs too little of the work lay between two reads of the kernel's migration "
              "counter (re-read at most once a second) to show that a job stayed: runs of 3 s or more decide them")
_TOO_FEW = ("too few|no runs|not significant|no link shown|p = ",
            "more repetitions, or steadier cores: these groups hold too few runs for the rule's test to separate "
            "them at p < 0.05 while one runtime's runs spread as wide as the difference tested (min–max in the "
            "table), and the claims profile's repetitions are what fits its 20 minutes on 2 cores")
_STRADDLE = ("", "steadier runs, longer or on cores nothing else uses, or more of them: the runs of these groups fall "
                 "on both sides of the rule's threshold, or overlap those they are compared with, as run-to-run "
                 "spread on 2 shared cores is as wide as the difference the claim asks about. Where the rule reads "
                 "each run against a threshold only steadier runs decide, where it tests overlapping runs "
                 "(Mann-Whitney) more repetitions than the claims profile fits in its time can")


def to_decide(claim: Claim) -> str | None:
    """What data would decide a claim that stays undecided, over all its groups or for some runtime: read from the
    outcomes of its undecided groups (noisy runs set aside, too few runs, runs on both sides of a threshold)."""
    if claim.verdict != INCONCLUSIVE and INCONCLUSIVE not in claim.by_variant.values():
        return None
    needs: dict[str, list[str]] = {}
    for group, outcome in zip(claim.evidence["group"].astype(str), claim.evidence["outcome"].astype(str)):
        if re.search("inconclusive|overlap|too few|no link shown|not significant", outcome):
            need = next(need for pattern, need in (_SET_ASIDE, _FULL_MACHINE, _NOT_ONE_SWITCH, _TOO_SHORT, _TOO_FEW,
                                                   _STRADDLE) if re.search(pattern, outcome))
            needs.setdefault(need, []).append(group)
    if not needs and claim.reason.startswith("groups disagree"):
        return (f"To decide it: nothing more of the same — its groups are each conclusive and disagree "
                f"({claim.reason[len('groups disagree: '):]}), so the answer depends on the group (its workers, sink "
                "or experiment): the table shows which hold and which do not.")
    if not needs:
        return f"To decide it: {claim.reason}."
    return "To decide it: " + "; ".join(f"{need} ({_some(groups)})" for need, groups in needs.items()) + "."


def _some(groups: list[str], shown: int = 6) -> str:
    unique = list(dict.fromkeys(groups))
    return listed(unique) if len(unique) <= shown else f"{', '.join(unique[:shown])} and {len(unique) - shown} more"


def runtimes(results: ResultsSet, claims: list[Claim]) -> list[tuple[str, str]]:
    """Every runtime variant shown in the set, in the set's order, with the thread model its manifest declares;
    then any variant a claim names that has no run (with no thread model)."""
    runs = results.runs.drop_duplicates("language").sort_values("language")
    shown = {str(row.language): str(row.threads) if pd.notna(row.threads) else "" for row in runs.itertuples()}
    for claim in claims:
        shown.update({name: "" for name in claim.by_variant if name not in shown})
    return list(shown.items())


TALLY_WORDS = {SUPPORTED: "hold", CONTRADICTED: "fail", DEPENDS: "depend", INCONCLUSIVE: "inconclusive"}


def tally(claim: Claim) -> str:
    """How many runtimes each verdict has, e.g. '10 hold · 1 fail': the overall verdict follows the claim's rule
    (one runtime that fails refutes a general statement; (i) asks only that a thread *can*), which the counts
    let a reader see at once."""
    said = list(claim.by_variant.values())
    return " · ".join(f"{said.count(verdict)} {word}" for verdict, word in TALLY_WORDS.items() if verdict in said)


def matrix(claims: list[Claim], columns: list[tuple[str, str]]) -> Matrix:
    rows = []
    for claim in claims:
        cells = [claim.verdict, *(claim.by_variant.get(name) for name, _ in columns)]
        span = None if claim.by_variant else "judged over the whole set only: no verdict per runtime"
        rows.append(MatrixRow(f"({claim.key}) {claim.statement}", claim_heading(claim), cells, span, tally(claim)))
    return Matrix("claim", [ALL_RUNTIMES, *(name for name, _ in columns)], ["verdict", *(t for _, t in columns)],
                  rows, caption=f"Each claim's verdict over all its groups ({ALL_RUNTIMES}, with how many runtimes "
                                "hold, fail, depend or are inconclusive: one that fails refutes a general statement, and "
                                "(i) asks only that a thread can take its process down), then each runtime's "
                                "by the same rule over its own groups (depends: they each decide, and differently "
                                "— the claim's evidence says which hold); — where the claim is not about that "
                                "runtime (its declared thread model, under its name, decides which) or the set has "
                                "no runs of it for this claim. A claim's title links to its rule and evidence.")


def claim_blocks(claim: Claim, figures: dict[str, Heading]) -> list:
    """The claim's heading, the sentence that answers it, the article's words, the rule, the evidence, and a link
    to its figure (figures: figure name → its heading in this document; a figure not drawn is not linked)."""
    evidence = claim.evidence.rename(columns={"spread": "min–max"})
    figure = figures.get(claim.figure) if claim.figure else None
    return [claim_heading(claim),
            Text(answer(claim), style="answer"),
            Text(f"The article: {claim.quote}", style="quote"),
            Text(f"Rule: {claim.rule}"),
            Text(f"Verdict: {claim.verdict} — {claim.reason}."),
            *([Text(needed)] if (needed := to_decide(claim)) else []),
            Table(evidence, caption="One row per group and measure: median, min–max over runs (or threads), n."),
            *([Link("The figure that shows it: ", figure.text, figure)] if figure else [])]
