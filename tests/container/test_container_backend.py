"""The container backend against a real engine: build and run languages in an image, measure from the host.

The test image (polylab-test:bookworm: Debian 12's python3, Mono, Go 1.19, OpenJDK 17, gcc and g++ 12 and Node.js 18)
stands in for the official images a user's machine pulls; the code path is the same, only `--image` differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
INVOKE = [str(Path(sys.executable).parent / "invoke"), "--search-root", str(ROOT)]
# Every shipped language but Rust (see image/packages.txt) runs here.
LANGS = ("python", "csharp", "go", "java", "c", "cpp", "node")
IMAGE_VERSIONS = {"python": "3.11.", "csharp": "6.8.", "go": "1.19.", "java": "17.", "c": "12.", "cpp": "12.",
                  "node": "18."}

EXPERIMENTS = """
version: 1
profiles:
  box:
    defaults: {repetitions: 1, timeout_s: 120, sample_hz: 10}
    experiments:
      cpu:
        workload: sum
        workers: [2]
        seconds: 1.5
      print:
        workload: sum-print
        workers: [2]
        n: 5000
        sink: pipe
"""


def invoke(args, env, timeout=900):
    return subprocess.run([*INVOKE, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def container_set(docker_engine, tmp_path_factory):
    """One results set from --backend container for every language in the test image."""
    folder = tmp_path_factory.mktemp("container-set")
    config = folder / "experiments.yaml"
    config.write_text(EXPERIMENTS)
    images = [arg for lang in LANGS for arg in ("--image", f"{lang}={docker_engine.image}")]
    done = invoke(["run", "--backend", "container", "--config", str(config), "--profile", "box",
                   "--langs", ",".join(LANGS), "--out", str(folder / "set"), *images], docker_engine.env)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [json.loads(line) for line in (folder / "set" / "runs.jsonl").read_text().splitlines()]
    return folder / "set", rows, done


def test_every_run_is_containerised_ok_and_verified(container_set):
    _, rows, _ = container_set
    assert {(r["lang"], r["mode"], r["experiment"]) for r in rows} == {
        (lang, mode, exp) for lang in LANGS for mode in ("threads", "processes") for exp in ("cpu", "print")}
    for row in rows:
        assert row["backend"] == "container" and row["status"] == "ok", (row["run_id"], row["reason"])
        assert row["checksum_ok"] and row["image"] == "polylab-test:bookworm"
        assert row["container_start_s"] is not None and 0 < row["container_start_s"] < row["wall_s"]
    # Each ran the toolchain found inside the image: Debian 12's versions (Mono, not the .NET SDK; Go 1.19 and
    # Node 18, where this machine has newer ones).
    versions = {r["lang"]: r["toolchain_version"] for r in rows}
    assert versions.keys() == set(LANGS)
    for lang, version in versions.items():
        assert version.startswith(IMAGE_VERSIONS[lang]), (lang, version)
    printed = [r for r in rows if r["experiment"] == "print"]
    assert all(r["stdout_ok"] and r["stdout_lines"] == 10_000 for r in printed)


def test_run_totals_come_from_the_container_cgroup_and_agree_with_the_sampler(container_set):
    _, rows, _ = container_set
    for row in (r for r in rows if r["experiment"] == "cpu"):
        assert row["cpu_source"] in ("cgroup", "sampler")
        if row["cpu_source"] == "cgroup":
            cpu = row["user_s"] + row["sys_s"]
            assert cpu > 0.2, row["run_id"]          # two busy workers for 1.5 s, even on a crowded machine
            assert row["max_rss_bytes"] > 1_000_000
            # The host's sampler followed the container's processes: the same CPU, within 10%.
            assert row["workload_cpu_s"] == pytest.approx(cpu, rel=0.10), row["run_id"]


def test_per_core_samples_are_attributed_to_the_container(container_set):
    directory, rows, _ = container_set
    samples = pd.read_parquet(directory / "samples.parquet")
    threads = pd.read_parquet(directory / "threads.parquet")
    for row in (r for r in rows if r["experiment"] == "cpu"):
        mine = samples[samples["run_id"] == row["run_id"]]
        assert len(mine["t_s"].unique()) >= 10, row["run_id"]        # 10 Hz over 1.5 s
        assert mine["workload_pct"].sum() > 0
        # The sampled tree is the container's program: one process in threads mode, the parent and one
        # child per worker in processes mode (host pids; inside the container they are 1, 2, ...).
        pids = set(threads[threads["run_id"] == row["run_id"]]["pid"])
        expected = 1 if row["mode"] == "threads" else row["workers"] + 1
        assert len(pids) == expected, (row["run_id"], pids)


def test_go_threads_spread_over_the_cores_in_a_container(container_set):
    directory, rows, _ = container_set
    go = next(r for r in rows if r["lang"] == "go" and r["mode"] == "threads" and r["experiment"] == "cpu")
    # Reported as measured (idle 2-core machine: 1.94; a crowded one gives less): printed, not asserted.
    print(f"go threads in a container: parallelism {go['parallelism']:.2f} on {os.cpu_count()} cores")
    threads = pd.read_parquet(directory / "threads.parquet")
    last = threads[threads["run_id"] == go["run_id"]].sort_values("t_s").groupby("tid").last()
    busiest = last["cpu_s"].nlargest(2)
    # The two workers ran at the same time on their own OS threads, each getting a fair share.
    assert len(busiest) == 2 and busiest.iloc[1] > 0.5 * busiest.iloc[0] > 0


def test_no_container_is_left_behind(container_set, docker_engine):
    left = docker_engine.run(["ps", "-aq", "--filter", "name=polylab-"])
    assert left.stdout.strip() == ""


def test_a_second_build_in_containers_compiles_nothing(container_set, docker_engine):
    images = [arg for lang in LANGS for arg in ("--image", f"{lang}={docker_engine.image}")]
    done = invoke(["build", "--backend", "container", "--langs", ",".join(LANGS), *images], docker_engine.env)
    assert done.returncode == 0 and "nothing to compile" in done.stderr, done.stderr


def test_missing_image_that_cannot_be_pulled_is_one_line(docker_engine):
    # A registry on a closed loopback port: the pull fails at once, and no traffic leaves the machine.
    image = "localhost:1/polylab-absent:none"
    done = invoke(["build", "--backend", "container", "--langs", "python", "--image", f"python={image}",
                   "--strict"], docker_engine.env, timeout=300)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    # What is being tried is said first; the failure itself is one line.
    assert lines[:-1] == [f"pulling {image} (not present here) …"], lines
    assert f"image {image} is not present and could not be pulled" in lines[-1], lines
