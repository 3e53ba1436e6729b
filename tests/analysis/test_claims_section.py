"""The claims section: the claims × runtimes matrix and the sentence that answers each claim, from synthetic
Claims (no results set needed), rendered to Markdown and HTML."""

from __future__ import annotations

import re

import pandas as pd

from analysis import claims_section
from analysis.claims import CONTRADICTED, DEPENDS, EVIDENCE_COLUMNS, INCONCLUSIVE, SUPPORTED, Claim
from analysis.document import Document, Heading, to_html, to_markdown

RUNTIMES = [("CPython", "one-core"), ("PyPy", "one-core"), ("CPython 3.13t", "all-cores"), ("Java 17", "all-cores"),
            ("Go", "all-cores")]


def claim(key: str, verdict: str, by_variant: dict, figure: str | None = None,
          reason: str = "2 of 2 groups supported, none disagree") -> Claim:
    evidence = pd.DataFrame([{"group": "CPython · threads · 2 workers", "measure": "work-phase parallelism",
                              "median": 0.98, "spread": "0.97–1", "n": 3, "outcome": verdict}],
                            columns=EVIDENCE_COLUMNS)
    return Claim(key, f"Claim {key} says something.", "인용", f"Rule of {key}.", verdict, reason, evidence,
                 by_variant, figure)


GIL = claim("a", SUPPORTED, {"CPython": SUPPORTED, "PyPy": SUPPORTED, "CPython 3.13t": CONTRADICTED,
                             "Java 17": INCONCLUSIVE}, figure="parallelism")
UNIFORM = claim("j", SUPPORTED, {"CPython": SUPPORTED, "PyPy": SUPPORTED})
UNDECIDED = claim("c", INCONCLUSIVE, {"CPython": INCONCLUSIVE, "PyPy": INCONCLUSIVE},
                  reason="no conclusive group (of 2)")
WHOLE_SET = claim("k", INCONCLUSIVE, {}, reason="no contended runs in this results set")
ANSWERED_OTHERWISE = claim("i", SUPPORTED, {"Go": SUPPORTED, "Java 17": CONTRADICTED})


def test_the_sentence_names_where_the_answer_depends_on_the_runtime():
    assert claims_section.answer(GIL) == ("It depends on the runtime: holds for CPython and PyPy; does not hold for "
                                          "CPython 3.13t; undecided for Java 17. Over all its groups: supported.")
    assert claims_section.answer(UNIFORM) == "Yes: holds for CPython and PyPy."
    assert claims_section.answer(UNDECIDED) == "Undecided for CPython and PyPy."
    refuted = claim("b", CONTRADICTED, {"Go": CONTRADICTED, "Java 17": CONTRADICTED, "C": CONTRADICTED})
    assert claims_section.answer(refuted) == "No: does not hold for Go, Java 17 and C."
    assert claims_section.answer(claim("e", SUPPORTED, {"Go": INCONCLUSIVE})) == ("Undecided for Go. Over all its "
                                                                                  "groups: supported.")
    assert claims_section.answer(WHOLE_SET) == ("Undecided for the set as a whole (no verdict per runtime): no "
                                                "contended runs in this results set.")


def test_a_mixed_answer_that_is_not_split_supported_against_contradicted_keeps_the_overall_lead():
    mixed = claim("f", SUPPORTED, {"Go": SUPPORTED, "PyPy": INCONCLUSIVE})
    assert claims_section.answer(mixed) == ("Yes: holds for Go; undecided for PyPy. Over all its groups: "
                                            "supported.")


def _matrix_rows(markdown: str) -> dict[str, list[str]]:
    """The matrix's Markdown rows by claim key: the cells after the claim's label."""
    rows = {}
    for line in markdown.splitlines():
        found = re.match(r"\| \[\((\w+)\)", line)
        if found:
            rows[found.group(1)] = [cell.strip() for cell in line.strip().strip("|").split("|")[1:]]
    return rows


def test_the_matrix_in_markdown_has_a_verdict_per_claim_and_runtime():
    block = claims_section.matrix([GIL, UNDECIDED, WHOLE_SET], RUNTIMES)
    markdown = to_markdown(Document("t").add(block), relative_to=None)
    header = next(line for line in markdown.splitlines() if line.startswith("| claim"))
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "claim", "all runtimes (verdict)", "CPython (one-core)", "PyPy (one-core)", "CPython 3.13t (all-cores)",
        "Java 17 (all-cores)", "Go (all-cores)"]
    rows = _matrix_rows(markdown)
    assert rows["a"] == [f"{SUPPORTED} (2 hold · 1 fail · 1 inconclusive)", SUPPORTED, SUPPORTED, CONTRADICTED,
                         INCONCLUSIVE, "—"]      # the tally: how the runtimes' verdicts add up to the first
    assert rows["c"] == [f"{INCONCLUSIVE} (2 inconclusive)", INCONCLUSIVE, INCONCLUSIVE, "—", "—", "—"]
    assert rows["k"] == [INCONCLUSIVE, "judged over the whole set only: no verdict per runtime", "", "", "", ""]
    assert "[(a) Claim a says something.](#a-claim-a-says-something--supported)" in markdown  # GitHub's anchor


def test_the_matrix_in_html_colours_each_cell_by_its_verdict_and_links_each_claim():
    page = to_html(Document("t").add(claims_section.matrix([GIL, WHOLE_SET], RUNTIMES),
                                     *claims_section.claim_blocks(GIL, {})))
    row = re.search(r'<tr><td class="claim"><a href="#claim-a">\(a\) Claim a says something\.</a></td>(.*?)</tr>',
                    page).group(1)
    assert re.findall(r'<td class="([\w ]+)">([^<]*)(?:<small>[^<]*</small>)?</td>', row) == [
        ("supported all", SUPPORTED), ("supported", SUPPORTED), ("supported", SUPPORTED),
        ("contradicted", CONTRADICTED), ("inconclusive", INCONCLUSIVE), ("none", "—")]
    assert '<td class="supported all">supported<small>2 hold · 1 fail · 1 inconclusive</small></td>' in row
    assert '<h3 id="claim-a">(a) Claim a says something.' in page   # the link's target
    whole = re.search(r'<a href="#claim-k">.*?</tr>', page).group(0)
    assert '<td class="inconclusive all">inconclusive</td>' in whole
    assert f'<td class="span" colspan="{len(RUNTIMES)}">judged over the whole set only' in whole
    assert "<th>CPython 3.13t<small>all-cores</small></th>" in page


def test_the_matrix_is_the_first_section_of_the_page():
    page = to_html(Document("t").add(Heading("Claims × runtimes"), claims_section.matrix([GIL], RUNTIMES),
                                     Heading("The results set")))
    body = page[page.index("<body>"):]
    assert re.findall(r"<(h\d|table)\b", body)[:3] == ["h1", "h2", "table"]


def test_each_claim_block_answers_then_gives_the_rule_the_evidence_and_its_figure():
    figure = claims_section.figure_heading("parallelism", "Effective parallelism")
    blocks = claims_section.claim_blocks(GIL, {"parallelism": figure})
    page = to_html(Document("t").add(*blocks, figure))
    shown = ['<p class="answer">It depends on the runtime: holds for CPython', "Rule of a.", "<th>min–max</th>",
             'The figure that shows it: <a href="#figure-parallelism">Effective parallelism</a>']
    order = [page.index(text) for text in shown]
    assert order == sorted(order)
    assert '<h3 id="figure-parallelism">Effective parallelism</h3>' in page
    markdown = to_markdown(Document("t").add(*blocks), relative_to=None)
    assert "The figure that shows it: [Effective parallelism](#effective-parallelism)" in markdown
    assert "\n**It depends on the runtime: holds for CPython and PyPy; does not hold for CPython 3.13t;" in markdown


def test_a_claim_without_a_figure_or_whose_figure_was_not_drawn_links_none():
    for blocks in (claims_section.claim_blocks(UNIFORM, {}), claims_section.claim_blocks(GIL, {})):
        assert "The figure that shows it" not in to_markdown(Document("t").add(*blocks), relative_to=None)


def test_runtimes_not_in_the_runs_but_named_by_a_claim_come_last(default_results):
    shown = claims_section.runtimes(default_results, [claim("x", SUPPORTED, {"Zig": SUPPORTED})])
    names = [name for name, _ in shown]
    assert names[-1] == "Zig" and shown[-1] == ("Zig", "")
    assert names[:-1] == [str(name) for name in default_results.runs["language"].cat.categories]
    assert dict(shown)["Python"] == "one-core"


def _with_outcomes(base: Claim, outcomes: dict[str, str]) -> Claim:
    evidence = pd.DataFrame([{"group": group, "measure": "m", "median": 1.0, "spread": "", "n": 2, "outcome": outcome}
                             for group, outcome in outcomes.items()], columns=EVIDENCE_COLUMNS)
    return Claim(base.key, base.statement, base.quote, base.rule, base.verdict, base.reason, evidence,
                 base.by_variant, base.figure)


def test_an_undecided_claim_says_what_data_would_decide_it():
    undecided = _with_outcomes(UNDECIDED, {
        "A": "inconclusive (threshold 1.15; no runs; 2 noisy run(s) set aside)",
        "B": "too few runs", "C": "no link shown", "D": "inconclusive (1 of 2 runs moved, 1 stayed)",
        "E": "CPython overlap", "F": "supported (threshold 1.15)",
        "G": "inconclusive (processes / threads = 23.1); threads made 0.00019 context switches per hand-off: handed "
             "over without one", "H": "inconclusive (0 of 2 runs moved, 0 stayed, 2 too short to show a job kept in "
                                      "place for a second; source: kernel)",
        "I": "PyPy lower",    # a pair of runtimes decided: (e)'s contradiction
        "J": "supported: the control's switch rate lower, its noise lower",
        "K": "inconclusive (threshold 1.8; sampled, work window); 2 of 2 run(s) short of it on a full machine: the "
             "lab's stdout reader, the kernel's threads and other programs took 0.846–0.986 cores beside the run's"})
    said = claims_section.to_decide(undecided)
    assert said.startswith("To decide it: quiet runs: ") and said.endswith(".")
    quiet, few, straddle, other_primitive, short, more_cores = said[len("To decide it: "):-1].split("; ")
    assert more_cores.startswith("a machine with more cores: ") and more_cores.endswith("spread (K)")   # not I, J
    assert quiet.endswith("(A)") and "idle machine" in quiet
    assert few.startswith("more repetitions, or steadier cores: ") and few.endswith("(B and C)")
    assert straddle.startswith("steadier runs, longer") and straddle.endswith("(D and E)")   # not F
    assert other_primitive.startswith("nothing more of the same: these runtimes' threads hand off with several") \
        and other_primitive.endswith("is the runtime's primitive's (G)")
    assert short.startswith("longer runs: ") and short.endswith("runs of 3 s or more decide them (H)")


def test_a_decided_claim_needs_nothing_and_one_without_undecided_groups_repeats_its_reason():
    assert claims_section.to_decide(UNIFORM) is None
    assert claims_section.to_decide(GIL) is not None    # Java 17 is undecided
    assert claims_section.to_decide(_with_outcomes(WHOLE_SET, {})) == \
        "To decide it: no contended runs in this results set."
    evidence = _with_outcomes(UNDECIDED, {"A": "supported", "B": "contradicted"}).evidence
    disagreeing = Claim("a", "s", "q", "r", INCONCLUSIVE, "groups disagree: 3 support, 1 contradict", evidence,
                        {"PyPy": INCONCLUSIVE})
    assert claims_section.to_decide(disagreeing).startswith("To decide it: nothing more of the same — its groups are "
                                                            "each conclusive and disagree (3 support, 1 contradict)")


def test_a_runtime_whose_groups_decide_differently_is_answered_and_coloured_as_depends():
    moves = claim("d", CONTRADICTED, {"Go": CONTRADICTED, "CPython": DEPENDS, "PyPy": DEPENDS})
    assert claims_section.answer(moves) == (
        "No: does not hold for Go; holds in some groups and not in others (the evidence says which) for CPython "
        "and PyPy. Over all its groups: contradicted.")
    assert claims_section.to_decide(moves) is None   # decided for every runtime: nothing more to run
    page = to_html(Document("t").add(claims_section.matrix([moves], RUNTIMES)))
    row = re.search(r'<a href="#claim-d">.*?</tr>', page).group(0)
    assert re.findall(r'<td class="([\w ]+)">([^<]*)(?:<small>([^<]*)</small>)?</td>', row) == [
        ("contradicted all", CONTRADICTED, "1 fail · 2 depend"), ("depends", DEPENDS, ""), ("depends", DEPENDS, ""),
        ("none", "—", ""), ("none", "—", ""), ("contradicted", CONTRADICTED, "")]
    assert ".matrix td.depends{" in page
