"""No shell injection: manifest commands become argv lists, and a value from YAML is never pasted into a shell
string. Proven twice: by reading polylab's code, and by a manifest whose arguments are shell attacks."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from invoke_harness import ROOT, read_rows, write_experiments

SOURCES = sorted([*(ROOT / "polylab").rglob("*.py"), *(ROOT / "analysis").rglob("*.py"), ROOT / "tasks.py"])
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput")}
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash"}
ATTACKS = ["; touch {build}/pwned", "$(touch {build}/pwned)", "`touch {build}/pwned`", "&& touch {build}/pwned",
           "| touch {build}/pwned", "{build}/x > {build}/pwned"]


def _module_strings(tree: ast.Module) -> set[str]:
    """Names bound at module level to a string literal (constant scripts such as `REDIRECT = 'exec "$@"'`)."""
    return {target.id for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str) for target in node.targets if isinstance(target, ast.Name)}


def shell_uses(path: Path) -> list[str]:
    """Every place where `path` could hand text to a shell: shell=True, os.system and the like, or an
    `sh -c SCRIPT` whose script is not a fixed string (values must go in as "$@", never into the script)."""
    tree = ast.parse(path.read_text(), str(path))
    constants = _module_strings(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            function = node.func
            if (isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
                    and (function.value.id, function.attr) in SHELL_CALLS):
                found.append(f"{where}: {function.value.id}.{function.attr}")
            for keyword in node.keywords:
                if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant) and not keyword.value.value):
                    found.append(f"{where}: shell={ast.unparse(keyword.value)}")
        if isinstance(node, (ast.List, ast.Tuple)):
            items = node.elts
            for index in range(len(items) - 2):
                program, flag, script = items[index:index + 3]
                if (isinstance(program, ast.Constant) and program.value in SHELLS
                        and isinstance(flag, ast.Constant) and flag.value == "-c"
                        and not (isinstance(script, ast.Constant)
                                 or isinstance(script, ast.Name) and script.id in constants)):
                    found.append(f"{where}: {program.value} -c {ast.unparse(script)}")
    return found


def test_shell_uses_are_found(tmp_path):
    """The scanner itself: it must see each way of reaching a shell, and let a fixed script with "$@" pass."""
    sample = tmp_path / "sample.py"
    sample.write_text('import os, subprocess\nSCRIPT = "exec \\"$@\\""\nos.system(x)\nsubprocess.run(x, shell=True)\n'
                      'subprocess.run(["sh", "-c", f"echo {x}"])\nsubprocess.run(["sh", "-c", SCRIPT, x])\n')
    assert shell_uses(sample) == ["sample.py:3: os.system", "sample.py:4: shell=True", "sample.py:5: sh -c f'echo {x}'"]


# The `local` host runs the very command lines a remote host's sshd hands to its login shell (a shell cannot be
# avoided over SSH); every inventory value in them is shlex-quoted and tested literal in tests/hosts/. These are
# its known shell calls: one more anywhere fails.
SHELL_BY_DESIGN = {"polylab/hosts/targets.py": 3}


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_value_reaches_a_shell(path):
    uses = shell_uses(path)
    assert len(uses) == SHELL_BY_DESIGN.get(str(path.relative_to(ROOT)), 0), uses


def test_manifest_arguments_are_passed_literally(session):
    """Shell attacks in a build command and in the run command arrive as plain arguments, and nothing runs."""
    quoted = ", ".join(json.dumps(attack) for attack in ATTACKS)
    echo = ", ".join(f"--echo, {json.dumps(attack)}" for attack in ATTACKS)
    session.add_language(edits={
        "build: []": f'build: [[python3, -c, "import json, sys; print(json.dumps(sys.argv[1:]))", {quoted}]]',
        'run: [python3, "{src}/faulty.py"]': f'run: [python3, "{{src}}/faulty.py", {echo}]',
    })
    config = write_experiments(session.workdir / "experiments.yaml", {"well-behaved": {
        "workload": "sum", "modes": ["threads"], "workers": [1], "n": 10}}, repetitions=1)
    done = session.run("run", "--config", config, "--out", session.workdir / "results")
    assert done.returncode == 0, done.stderr
    build = ROOT / "build" / "faulty"
    received = json.dumps([attack.replace("{build}", str(build)) for attack in ATTACKS])
    assert received in (build / "build.log").read_text().splitlines()
    [row] = read_rows(session.workdir / "results")
    assert row["status"] == "ok" and f"faulty: echo {received}\n" in row["stderr_tail"]
    assert [str(path) for folder in (build, session.langs, session.workdir) for path in folder.rglob("pwned")] == []
