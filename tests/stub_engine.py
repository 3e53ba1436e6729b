"""A stand-in `docker` for tests that need an engine's answers but not an engine: a script put first on PATH
that logs every call and answers from a JSON state file (which images are present, which can be pulled, which
executables the images hold, what the version command prints). Nothing is contacted, nothing is pulled.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

SCRIPT = r'''#!{python}
import json, os, sys
state = os.environ["POLYLAB_STUB_ENGINE"]
args = sys.argv[1:]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps(args) + "\n")
with open(os.path.join(state, "engine.json")) as handle:
    conf = json.load(handle)
if not conf["answers"]:
    sys.exit("Cannot connect to the Docker daemon at unix:///absent.sock")
if args[0] == "version":
    print("99.0-stub")
elif args[0] == "info":
    print("systemd")
elif args[:2] == ["image", "inspect"]:
    if args[-1] not in conf["present"]:
        sys.exit("Error: No such image: " + args[-1])
    print("sha256:" + args[-1].encode().hex())
elif args[0] == "pull":
    if args[1] not in conf["pullable"]:
        sys.exit("Error response from daemon: Get \"https://" + args[1] + "/v2/\": connection refused")
    conf["present"].append(args[1])
    with open(os.path.join(state, "engine.json"), "w") as handle:
        json.dump(conf, handle)
elif args[0] == "run":
    image = next(arg for arg in args if arg in conf["present"])
    argv = args[args.index(image) + 1:]
    if argv[:2] == ["sh", "-c"]:
        print("\n".join(tool for tool in argv[4:] if tool in conf["tools"]))
    else:
        print(conf["version_output"])
else:
    sys.exit("stub engine: unexpected call " + " ".join(args))
'''


@dataclass
class StubEngine:
    folder: Path

    @property
    def env(self) -> dict:
        """os.environ with the stub first on PATH (and no podman behind it to fall back to)."""
        return {**os.environ, "PATH": f"{self.folder / 'bin'}:{os.environ['PATH']}",
                "POLYLAB_STUB_ENGINE": str(self.folder)}

    def configure(self, answers=True, present=(), pullable=(), tools=(), version_output="Stub 1.2.3") -> None:
        (self.folder / "engine.json").write_text(json.dumps({
            "answers": answers, "present": list(present), "pullable": list(pullable), "tools": list(tools),
            "version_output": version_output}))

    def calls(self) -> list[list[str]]:
        log = self.folder / "calls.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def verbs(self) -> list[str]:
        """The first word of every call (`version`, `image`, `pull`, `run`, …), in order."""
        return [call[0] for call in self.calls()]


def make_stub_engine(folder: Path) -> StubEngine:
    (folder / "bin").mkdir(parents=True)
    script = folder / "bin" / "docker"
    script.write_text(SCRIPT.replace("{python}", sys.executable))
    script.chmod(0o755)
    stub = StubEngine(folder)
    stub.configure()
    return stub
