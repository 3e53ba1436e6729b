"""Claim (m), the article's speed ranking, judged with the significance test of `invoke compare`.

"Among multithreaded languages Rust and Go are the fastest, then .NET and Java." Each group (an experiment of
the `sum` workload in threads mode, at 1 worker and at as many workers as cores) compares every variant of Rust
and Go with every variant of C# and Java by compare.py's own rows (`_compare_sides`: medians, Mann-Whitney U)
and verdicts (`judge`: Benjamini–Hochberg over all the claim's pairs, enough runs, a minimum factor), and, where
those find no difference, a one-sided test of its own (`not_ahead`): a fast side shown to be less than that factor
ahead is not ranked above. C is shown beside them and left out of the rule, as the article leaves it out.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats as scipy_stats

from polylab.results.schema import HOST

from . import compare, tidy
from .claims import CONTRADICTED, INCONCLUSIVE, SUPPORTED, ClaimSpec, Decided, _row
from .load import ResultsSet

FAST, SLOW, SHOWN = ("rust", "go"), ("csharp", "java"), ("c", "cpp")
RANKING_EXPERIMENT = "cpu"   # the claims profile's, with the runs a side the corrected test needs
MAX_STARTUP_SHARE = 0.05  # count mode: start-up must be under this share of every run's wall time
FASTER, SLOWER = "significant: B faster", "significant: B slower"   # compare.judge's verdicts, B the fast side
NOT_AHEAD = "significant: B not ahead by the factor"   # this claim's own: B's runs lie below factor × A's
AGAINST = (SLOWER, NOT_AHEAD)   # a pair that goes against the article's order
TOO_FEW = f"too few runs a side for p < {compare.ALPHA}"


def least_p(runs_a: int, runs_b: int) -> float:
    """The smallest two-sided Mann-Whitney p that runs_a against runs_b runs can give (no ties)."""
    if min(runs_a, runs_b) < 1:
        return 1.0
    return float(scipy_stats.mannwhitneyu(range(runs_a), range(runs_a, runs_a + runs_b)).pvalue)


def ranking_runs(results: ResultsSet) -> tuple[pd.DataFrame, list[dict]]:
    """Measured sum threads runs of the ranked and shown languages at 1 worker and at full cores, of the
    experiment designed for the claim (else the headline's: tidy.designed_runs); count-mode groups whose start-up
    reached MAX_STARTUP_SHARE of a run's wall time are left out (rows say so)."""
    runs, _ = tidy.designed_runs(results, RANKING_EXPERIMENT)
    runs = runs[(runs["workload"] == "sum") & (runs["mode"] == "threads")
                & runs["lang"].astype(str).isin(FAST + SLOW + SHOWN)]
    runs = runs[(runs["workers"] == 1) | (runs["workers"] == runs["cores"])].copy()
    runs["startup_share"] = 1 - runs["inner_s"] / runs["wall_s"]
    left_out = []
    for (experiment, workers), group in runs.groupby(["experiment", "workers"], observed=True):
        if group["duration_mode"].all() or (group["startup_share"] < MAX_STARTUP_SHARE).all():
            continue
        runs = runs.drop(group.index)
        left_out.append(_row(f"{experiment} · {tidy.workers_label(workers)}", "start-up share of wall time",
                             tidy.spread(group["startup_share"]),
                             f"left out: count mode with start-up ≥ {MAX_STARTUP_SHARE:.0%} of the wall time"))
    return runs, left_out


def compared_pairs(runs: pd.DataFrame, factor: float = compare.DEFAULT_FACTOR) -> pd.DataFrame:
    """One compare row per group and (slow A, fast B) pair of variants, judged together."""
    rows = []
    for (experiment, workers), group in runs.groupby(["experiment", "workers"], observed=True):
        sides = {name: variant for name, variant in group.groupby("language", observed=True)}
        langs = {name: str(variant["lang"].iloc[0]) for name, variant in sides.items()}
        # a set run on several hosts names each runtime with its host: pairs are made on one machine
        machine = {name: set(variant[HOST].astype(str)) if HOST in variant else set()
                   for name, variant in sides.items()}
        for fast in [name for name in sides if langs[name] in FAST]:
            for slow in [name for name in sides if langs[name] in SLOW and machine[name] == machine[fast]]:
                row = compare._compare_sides(sides[slow], sides[fast])
                row["decidable"] = least_p(row["n A"], row["n B"]) < compare.ALPHA
                row["p behind"] = behind_p(sides[slow], sides[fast], factor)
                rows.append({"experiment": str(experiment), "workers": int(workers), "fast": fast,
                             "slow": slow, **row})
    table = pd.DataFrame(rows, columns=["experiment", "workers", "fast", "slow", "measure", "n A", "median A",
                                        "n B", "median B", "B/A", "U", "p", "p adjusted", "verdict", "_better",
                                        "decidable", "p behind"])
    return not_ahead(compare.judge(table, factor), factor) if not table.empty else table


def behind_p(slow: pd.DataFrame, fast: pd.DataFrame, factor: float) -> float:
    """One-sided Mann-Whitney p that the fast side's runs lie below `factor` × the slow side's speed: that it is
    not ahead by the factor the lab calls a difference (in count mode: its wall times above the slow's / factor)."""
    _, slow_values, higher_is_better = compare._measure(slow)
    fast_values = compare._measure(fast)[1]
    if slow_values.dropna().empty or fast_values.dropna().empty:
        return float("nan")
    if higher_is_better:
        return float(scipy_stats.mannwhitneyu(fast_values, factor * slow_values, alternative="less").pvalue)
    return float(scipy_stats.mannwhitneyu(fast_values, slow_values / factor, alternative="greater").pvalue)


def not_ahead(table: pd.DataFrame, factor: float) -> pd.DataFrame:
    """Pairs that compare.judge left not significant whose fast side is shown not ahead by `factor`: the behind p
    adjusted by Benjamini–Hochberg over the claim's pairs below ALPHA, with ≥ compare.MIN_RUNS runs a side."""
    table = table.copy()
    tested = table["p behind"].notna()
    table["p behind adjusted"] = float("nan")
    if tested.any():
        table.loc[tested, "p behind adjusted"] = scipy_stats.false_discovery_control(table.loc[tested, "p behind"],
                                                                                     method="bh")
    enough = table[["n A", "n B"]].min(axis=1) >= compare.MIN_RUNS
    behind = (table["verdict"] == "not significant") & enough & (table["p behind adjusted"] < compare.ALPHA)
    table.loc[behind, "verdict"] = NOT_AHEAD
    return table


def group_outcome(pairs: pd.DataFrame, fast_langs: set[str], slow_langs: set[str]) -> tuple[str, str]:
    """(outcome, why) of one group's pairs: contradicted by one significant difference the other way, or one fast
    side shown not ahead by the factor; supported when Rust and Go each rank significantly above both C# and Java;
    else inconclusive, naming the pairs."""
    against = pairs[pairs["verdict"].isin(AGAINST)]
    if not against.empty:
        return CONTRADICTED, "; ".join(f"{r.slow} faster than {r.fast}" if r.verdict == SLOWER else
                                       f"{r.fast} not ×{compare.DEFAULT_FACTOR:g} faster than {r.slow}"
                                       for r in against.itertuples())
    missing = sorted((set(FAST) - fast_langs) | (set(SLOW) - slow_langs))
    if missing:
        return INCONCLUSIVE, f"no runs of {', '.join(missing)}"
    open_pairs = pairs[pairs["verdict"] != FASTER]
    if not open_pairs.empty:
        return INCONCLUSIVE, "; ".join(f"{r.fast} vs {r.slow} not significant" + ("" if r.decidable else
                                       f" (too few runs for p < {compare.ALPHA})") for r in open_pairs.itertuples())
    return SUPPORTED, f"{len(pairs)} of {len(pairs)} pairs significant in the article's order"


def ranking_verdict(groups: dict[str, tuple[str, str]]) -> Decided:
    """One significant difference the other way contradicts; supported when a 1-worker group and a full-cores
    group are among the groups and every group supports."""
    if not groups:
        return Decided(INCONCLUSIVE, "no sum threads runs of Rust, Go, C# or Java at 1 worker or at full cores")
    said = " — " + "; ".join(f"{label}: {outcome} ({why})" for label, (outcome, why) in groups.items())
    if any(outcome == CONTRADICTED for outcome, _ in groups.values()):
        return Decided(CONTRADICTED, "a significant difference goes against the article's order" + said)
    kinds = {label.rpartition(" · ")[2] for label in groups}
    lacking = [kind for kind in ("1 worker", "full cores") if kind not in kinds]
    if lacking:
        return Decided(INCONCLUSIVE, f"no group at {' or '.join(lacking)}" + said)
    if all(outcome == SUPPORTED for outcome, _ in groups.values()):
        return Decided(SUPPORTED, f"all {len(groups)} groups in the article's order" + said)
    return Decided(INCONCLUSIVE, "not every pair significant" + said)


def variant_verdicts(pairs: pd.DataFrame) -> dict[str, str]:
    """Each ranked variant, over its pairs with runs enough to be significant: contradicted when one goes the
    other way or its fast side is not ahead by the factor, supported when all are significant in the article's
    order, else inconclusive."""
    pairs = pairs[pairs["decidable"].astype(bool)]
    verdicts = {}
    for name in dict.fromkeys([*pairs["fast"], *pairs["slow"]]):
        own = pairs[(pairs["fast"] == name) | (pairs["slow"] == name)]["verdict"]
        verdicts[name] = CONTRADICTED if own.isin(AGAINST).any() else \
            SUPPORTED if (own == FASTER).all() else INCONCLUSIVE
    return verdicts


def _group_label(experiment: str, workers: int) -> str:
    return f"sum · threads · {experiment} · " + ("1 worker" if workers == 1 else "full cores")


def claim_ranking(results: ResultsSet) -> tuple[Decided, list[dict]]:
    runs, rows = ranking_runs(results)
    pairs = compared_pairs(runs)
    groups, unjudged = {}, []
    for (experiment, workers), group in runs.groupby(["experiment", "workers"], observed=True):
        label = _group_label(str(experiment), int(workers))
        ranked = group[~group["lang"].astype(str).isin(SHOWN)]
        if ranked.empty:
            continue
        langs = set(ranked["lang"].astype(str))
        own = pairs[(pairs["experiment"] == str(experiment)) & (pairs["workers"] == int(workers))] \
            if not pairs.empty else pairs
        if not own.empty and not own["decidable"].any():   # a design with too few runs for the test: not judged
            unjudged.append(label)
            rows.append({"group": label, "measure": "group", "median": float("nan"), "spread": "", "n": len(ranked),
                         "outcome": f"not judged: {TOO_FEW} in any pair"})
            continue
        groups[label] = group_outcome(own, langs & set(FAST), langs & set(SLOW))
        measure = "iterations/s" if group["duration_mode"].all() else "wall s"
        values = "throughput" if measure == "iterations/s" else "wall_s"
        for name, variant in group.groupby("language", observed=True):
            shown = str(variant["lang"].iloc[0]) in SHOWN
            rows.append(_row(f"{label} · {name}", measure, tidy.spread(variant[values]),
                             "shown, not judged (the article leaves C out)" if shown else ""))
        for pair in own.to_dict("records"):
            behind = pair["verdict"] == NOT_AHEAD
            adjusted = pair["p behind adjusted" if behind else "p adjusted"]
            rows.append({"group": f"{label} · {pair['fast']} vs {pair['slow']}",
                         "measure": f"fast / slow, median {measure}", "median": pair["B/A"],
                         "spread": f"p{' (not ahead)' if behind else ''} adjusted = {adjusted:.2g}"
                         if pd.notna(adjusted) else "",
                         "n": min(pair["n A"], pair["n B"]), "outcome": pair["verdict"]})
        rows.append({"group": label, "measure": "group", "median": float("nan"), "spread": "", "n": len(ranked),
                     "outcome": f"{groups[label][0]} ({groups[label][1]})"})
    decided = ranking_verdict(groups) if groups or not unjudged else \
        Decided(INCONCLUSIVE, f"{TOO_FEW} in every group ({', '.join(unjudged)})")
    by_variant = variant_verdicts(pairs) if not pairs.empty else {}
    return Decided(decided.verdict, decided.reason, by_variant), rows


RULE = (
    f"Experiment '{RANKING_EXPERIMENT}' (else the headline experiment): other experiments' sum runs are sized for "
    "other claims, with too few runs a side to pass the corrected test, and would only hold it undecided. "
    "sum workload, threads mode, per experiment at 1 worker (one thread's speed) and at as many workers as cores "
    "(full cores); every variant of Rust and Go against every variant of C# and Java (one per JDK; C# as run "
    "here). Measure and test are `invoke compare`'s: throughput = iterations / the program's own loop time "
    "(inner_s) in duration mode — start-up is excluded by construction — or wall seconds in count mode, where a "
    f"group counts only when start-up is under {MAX_STARTUP_SHARE:.0%} of every run's wall time; Mann-Whitney U "
    f"per pair, p adjusted by Benjamini–Hochberg over all the claim's pairs, significant when adjusted p < "
    f"{compare.ALPHA}, each side ≥ {compare.MIN_RUNS} runs and the medians differ by ≥ ×{compare.DEFAULT_FACTOR:g}. "
    "A pair also goes against the article's order when its fast side is shown not ahead by that factor: a "
    f"one-sided Mann-Whitney U test that its runs lie below ×{compare.DEFAULT_FACTOR:g} the slow side's, "
    f"Benjamini–Hochberg over the claim's pairs, p < {compare.ALPHA}. A group supports the claim when Rust and Go "
    "each rank significantly above both C# and Java, contradicts it when one pair goes against the order, and is "
    "inconclusive otherwise (the pair is named); a group with too few runs a side for p < 0.05 in any pair is not "
    "judged, and such pairs do not count toward a runtime's verdict. The "
    "claim is contradicted by one contradicting group, supported when groups at 1 worker and at full cores exist "
    "and all support it, else inconclusive. C is shown, not judged: the article leaves it out.")

RANKING_CLAIMS = [
    ClaimSpec("m", "Rust and Go are the fastest multithreaded languages, then .NET and Java.",
              "c, c++을 제외한 멀티스레드 언어의 성능은 Rust와 golang이 가장 빠르고, 그뒤로 닷넷과 java가 뒤따르고 있습니다.",
              RULE, claim_ranking),
]
