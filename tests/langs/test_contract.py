"""The workload contract (langs/README.md), run against every folder in langs/ — a new folder is tested
without anyone writing a test. Each language is built once, then run through polylab's own runner."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from polylab.run.backends import BuildError
from polylab.run.checks import expected_sum
from polylab.config.errors import ConfigError
from polylab.run.lab import build_all, choose, langs_folder, load_lab
from polylab.config.manifests import load_language
from polylab.run.matrix import run_one
from polylab.run.plan import RunSpec

FOLDERS = sorted(p for p in langs_folder().iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
SMALL_N = {"sum": 200_000, "sum-print": 3_000}
MAX_TIMING_N = 10 ** 10


def _spec(lang, workload, mode, workers=2, n=None, seconds=None, sink="pipe", tag="") -> RunSpec:
    return RunSpec(run_id=f"contract.{lang}.{workload}.{mode}.{n or seconds}{tag}", experiment="contract",
                   lang=lang, workload=workload, mode=mode, workers=workers, n=n, seconds=seconds, rep=1,
                   warmup=False, timeout_s=60, sink=sink, sample_hz=0, perf=False, cpus=None)


def _lang_id(name: str) -> str:
    """`lang[c]`: `pytest -k "lang[c]"` selects exactly C, where `-k c` would also pick csharp (-k matches
    substrings, and its grammar has no `=`); the brackets cannot occur in a language name."""
    return f"lang[{name}]"


@pytest.fixture(scope="module", params=[f.name for f in FOLDERS], ids=_lang_id)
def built(request, tmp_path_factory):
    """(lab, choice, out dir) for one language folder, built; fails with what is missing otherwise."""
    folder = langs_folder() / request.param
    try:
        language = load_language(folder, folder.parent)
    except ConfigError as exc:
        pytest.fail(f"{request.param}: manifest is not valid: {exc}", pytrace=False)
    lab = load_lab()
    variants = choose(lab, [language.name], "local")     # the first variant found here runs the contract
    choice = next((c for c in variants if c.detection.ok), None)
    if choice is None:
        pytest.fail("; ".join(f"{language.name}: {c.detection.problem} — install: {c.detection.hint}"
                              for c in variants), pytrace=False)
    outcome = build_all(lab, [choice])[choice.key]
    if isinstance(outcome, BuildError):
        pytest.fail(f"{language.name}: {outcome}\n{outcome.log_tail}", pytrace=False)
    out = tmp_path_factory.mktemp(f"contract-{language.name}")
    (out / "raw").mkdir()
    return lab, choice, out


def _run(built, spec: RunSpec) -> dict:
    lab, choice, out = built
    row = run_one(lab, spec, choice, out, sampler=None).to_row()   # the record as its runs.jsonl row
    assert row["status"] == "ok", f"{spec.label}: {row['status']} — {row.get('reason')}\n{row.get('stderr_tail')}"
    return row


@pytest.mark.parametrize("workload", ["sum", "sum-print"])
@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_count_mode(built, workload, mode):
    _, choice, out = built
    lang = choice.language.name
    row = _run(built, _spec(lang, workload, mode, n=SMALL_N[workload]))
    assert row["checksum_ok"] and row["iterations"] == 2 * SMALL_N[workload]
    assert row["inner_s"] > 0 and row["inner_s"] <= row["wall_s"]
    expected_lines = 2 * SMALL_N[workload] if workload == "sum-print" else 0
    assert row["stdout_lines"] == expected_lines and row["stdout_ok"]


@pytest.mark.parametrize("workload", ["sum", "sum-print"])
@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_duration_mode(built, workload, mode):
    _, choice, out = built
    row = _run(built, _spec(choice.language.name, workload, mode, seconds=0.3))
    assert row["checksum_ok"] and row["iterations"] > 0
    # Every worker loops until its 0.3 s are up (clock read every 4096 iterations).
    assert all(0.25 <= elapsed <= 3.0 for elapsed in row["worker_elapsed_s"]), row["worker_elapsed_s"]
    if workload == "sum-print":
        assert row["stdout_lines"] == row["iterations"] and row["stdout_ok"]


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_stdout_holds_exactly_the_partial_sums(built, mode):
    """Line by line: every line is one worker's partial sum, nothing else, none torn or missing."""
    _, choice, out = built
    spec = _spec(choice.language.name, "sum-print", mode, workers=3, n=2_000, sink="file", tag=".lines")
    _run(built, spec)
    printed = Counter((out / "raw" / f"{spec.run_id}.stdout").read_bytes().decode().splitlines())
    expected = Counter(str(expected_sum(i + 1)) for i in range(2_000) for _ in range(3))
    assert printed == expected


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_concurrent_printing_never_tears_a_line(built, mode):
    """Four workers printing flat out for 0.3 s into one file: every line must be one whole partial sum
    c(c-1)/2 (a torn half or two glued lines is not triangular, or not a number), and the lines must be exactly
    each worker's 0, 1, 3, ... up to its own iteration count."""
    _, choice, out = built
    spec = _spec(choice.language.name, "sum-print", mode, workers=4, seconds=0.3, sink="file", tag=".tearing")
    _run(built, spec)
    result = json.loads((out / "raw" / f"{spec.run_id}.result.json").read_text())
    text = (out / "raw" / f"{spec.run_id}.stdout").read_bytes().decode("ascii", errors="replace")
    assert text.endswith("\n"), f"last line unterminated: {text[-40:]!r}"
    lines = text[:-1].split("\n")
    bad = [line for line in lines if not _is_partial_sum(line)]
    assert not bad, f"{len(bad)} of {len(lines)} lines are not whole partial sums, e.g. {bad[:5]}"
    printed = Counter(lines)
    iterations = [w["iterations"] for w in result["workers"]]
    expected = Counter(str(expected_sum(c)) for count in iterations for c in range(1, count + 1))
    missing, extra = expected - printed, printed - expected
    assert not missing and not extra, f"missing {list(missing.items())[:5]}, extra {list(extra.items())[:5]}"


def _is_partial_sum(line: str) -> bool:
    """True when line is the decimal of c(c-1)/2 for some c >= 1, written as the loop writes it."""
    if not line.isdigit() or (line != "0" and line.startswith("0")):
        return False
    value = int(line)
    c = (1 + math.isqrt(1 + 8 * value)) // 2
    return c * (c - 1) // 2 == value


def test_result_file_describes_the_run(built):
    _, choice, out = built
    spec = _spec(choice.language.name, "sum", "processes", workers=3, n=1_000, tag=".json")
    _run(built, spec)
    data = json.loads((out / "raw" / f"{spec.run_id}.result.json").read_text())
    # A contract-1 program writes 1, a contract-2 one writes 2 for every workload (langs/README.md section 9).
    assert data["contract"] in (1, 2) and data["lang"] == choice.language.name
    assert isinstance(data["runtime"]["name"], str) and isinstance(data["runtime"]["version"], str)
    assert data["args"] == {"workload": "sum", "mode": "processes", "workers": 3, "n": 1000, "seconds": None}
    assert [w["index"] for w in data["workers"]] == [0, 1, 2]
    # Processes mode: three children, none of them the parent.
    assert len({w["pid"] for w in data["workers"]}) == 3


def test_loop_is_not_collapsed_into_a_formula(built):
    """Work must grow with n. n grows x10 until one worker's loop takes 50 ms (start-up and JIT warm-up
    no longer dominate); a loop turned into a formula never gets there. Then 10x n must take >= 4x the time."""
    _, choice, _ = built

    def loop_seconds(n: int) -> float:
        spec = _spec(choice.language.name, "sum", "threads", workers=1, n=n, sink="devnull", tag=".timing")
        return _run(built, spec)["worker_elapsed_s"][0]

    n = 100_000
    while (elapsed := loop_seconds(n)) < 0.05 and n < MAX_TIMING_N:
        n *= 10
    assert elapsed >= 0.05, f"{n:,} iterations took {elapsed * 1e3:.3f} ms: the loop is collapsed into a formula"
    ratio = loop_seconds(n * 10) / elapsed
    assert ratio >= 4, f"10x n ({n:,} → {n * 10:,}) took only x{ratio:.1f} the time: is the loop collapsed?"


def test_bad_arguments_exit_2_with_nothing_on_stdout(built):
    import subprocess
    lab, choice, out = built
    argv, env = choice.backend.command(choice.target, ["--workload", "sum", "--mode", "threads", "--workers", "2",
                                                       "--result", str(out / "bad.json")])   # neither --n nor --seconds
    done = subprocess.run(argv, capture_output=True, env={**__import__("os").environ, **env}, timeout=60,
                          cwd=lab.build_root / choice.language.name)
    assert done.returncode == 2 and done.stdout == b"" and done.stderr.strip()
    assert not Path(out / "bad.json").exists()
