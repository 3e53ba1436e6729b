"""The docker_engine fixture gives a working, network-less engine with the toolchains polylab needs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.container

NONET = ["--network", "none"]


def test_python_runs_in_container(docker_engine):
    r = docker_engine.run(["run", "--rm", *NONET, docker_engine.image, "python3", "-c", "print(6*7)"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "42"


def test_env_points_plain_docker_at_our_engine(docker_engine):
    import subprocess

    r = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], env=docker_engine.env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert docker_engine.env["DOCKER_HOST"] == docker_engine.host
    assert r.stdout.strip() == docker_engine.info["ServerVersion"]


def test_csharp_with_mono(docker_engine, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    (src / "Hello.cs").write_text(
        "using System;\n"
        "class Hello { static void Main(string[] a) {\n"
        "  Console.WriteLine(\"hello from C# \" + (6 * 7) + \" threads=\" + Environment.ProcessorCount);\n"
        "} }\n")
    r = docker_engine.run([
        "run", "--rm", *NONET, "-v", f"{src}:/src:ro", "-v", f"{out}:/out", docker_engine.image,
        "sh", "-c", "mcs -nologo -out:/out/hello.exe /src/Hello.cs && mono /out/hello.exe"])
    assert r.returncode == 0, r.stderr + r.stdout
    assert r.stdout.startswith("hello from C# 42 threads="), r.stdout
    assert (out / "hello.exe").is_file()  # written through the rw mount, visible on the host


def test_go_builds_and_runs(docker_engine, tmp_path):
    (tmp_path / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from Go", 6*7) }\n')
    r = docker_engine.run([
        "run", "--rm", *NONET, "-v", f"{tmp_path}:/src:ro", docker_engine.image,
        "sh", "-c", "cd /tmp && cp /src/main.go . && go version && go run main.go"])
    assert r.returncode == 0, r.stderr + r.stdout
    assert "go1.19" in r.stdout
    assert r.stdout.rstrip().endswith("hello from Go 42")


def test_java_compiles_and_runs(docker_engine, tmp_path):
    (tmp_path / "Hello.java").write_text(
        "public class Hello { public static void main(String[] a) {\n"
        "  System.out.println(\"hello from Java \" + (6 * 7) + \" on \" + Runtime.version().feature());\n"
        "} }\n")
    r = docker_engine.run([
        "run", "--rm", *NONET, "-v", f"{tmp_path}:/src:ro", docker_engine.image,
        "sh", "-c", "javac -d /tmp /src/Hello.java && java -cp /tmp Hello"])
    assert r.returncode == 0, r.stderr + r.stdout
    assert r.stdout.strip() == "hello from Java 42 on 17", r.stdout


def test_container_has_only_loopback(docker_engine):
    r = docker_engine.run(["run", "--rm", *NONET, docker_engine.image, "cat", "/proc/net/dev"])
    assert r.returncode == 0, r.stderr
    interfaces = [line.split(":")[0].strip() for line in r.stdout.splitlines()[2:] if ":" in line]
    assert interfaces == ["lo"], r.stdout


def test_run_without_network_none_is_refused(docker_engine):
    with pytest.raises(Exception, match="--network none"):
        docker_engine.run(["run", "--rm", docker_engine.image, "true"])


def test_host_sees_container_process(docker_engine):
    r = docker_engine.run(["run", "-d", *NONET, docker_engine.image, "sleep", "300"])
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        r = docker_engine.run(["inspect", "--format", "{{.State.Pid}}", cid])
        assert r.returncode == 0, r.stderr
        pid = int(r.stdout.strip())
        assert pid > 0
        # Same kernel: the host can sample the container's process under /proc.
        proc = Path(f"/proc/{pid}")
        assert proc.is_dir()
        assert proc.joinpath("cmdline").read_bytes().split(b"\0")[0] == b"sleep"
        assert (proc / "task").is_dir() and (proc / "status").is_file()
        # ... and it lives in its own network namespace.
        assert os.readlink(proc / "ns" / "net") != os.readlink("/proc/self/ns/net")
    finally:
        r = docker_engine.run(["rm", "-f", cid])
    assert r.returncode == 0, r.stderr
    assert docker_engine.run(["ps", "-aq"]).stdout.strip() == ""


def test_find_debian_mirror_reads_both_apt_formats(engine_module, tmp_path):
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\nTypes: deb deb-src\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\n")
    assert engine_module.find_debian_mirror(apt) == "http://mirror.example/debian"
    (apt / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://classic.example/debian bookworm main\n")
    assert engine_module.find_debian_mirror(apt) == "http://classic.example/debian"
    assert engine_module.find_debian_mirror(tmp_path / "none") == engine_module.DEFAULT_MIRROR
