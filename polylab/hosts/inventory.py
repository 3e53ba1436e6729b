"""The inventory: `hosts.yaml` names the machines `invoke all --hosts` runs on, validated with cfgv.

    hosts:
      big:
        ssh: lab@192.0.2.10:2222      # user@address[:port], required (except for `local`)
        key: ~/.ssh/id_ed25519        # key file; default: the SSH agent and ~/.ssh/id_*
        label: 16-core desktop        # shown in reports; default: the name
        cpus: 8                       # override the profile's cpus on this host
        backend: local                # override the backend on this host
        root: polylab-runs/big        # remote folder (relative to the login's home); default ~/polylab-runs/<name>
        known_hosts: ~/.ssh/known_hosts   # where the host key is checked (and added, with --accept-new-host-keys)

`local` is this machine: it needs no entry, and an entry for it may set only label, cpus and backend.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import cfgv

from polylab.config.errors import ConfigError, UserError
from polylab.config.experiments import BACKENDS
from polylab.config.validation import (Named, Record, check_and, check_int, check_one_of, check_problem, check_str,
                                       load_yaml, validate)

LOCAL = "local"
ALL = "all"
DEFAULT_FILE = "hosts.yaml"
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
# A host's name becomes a folder (results/<set>/hosts/<name>/) and a run_id prefix: keep it a plain word.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
SSH_TARGET = re.compile(r"(?P<user>[A-Za-z0-9_][A-Za-z0-9_.-]*)"
                        r"@(?P<address>[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])"
                        r"(?::(?P<port>[0-9]{1,5}))?")
LOCAL_KEYS = ("label", "cpus", "backend")


def _ssh_problem(value: str) -> str | None:
    found = SSH_TARGET.fullmatch(value)
    if not found:
        return f"Expected user@address[:port], got {value!r}"
    if found["port"] and not 1 <= int(found["port"]) <= 65535:
        return f"Expected a port from 1 to 65535, got {found['port']}"
    return None


def _not_blank(value: str) -> str | None:
    return None if value.strip() else "Expected a non-empty string"


HOST = Record(
    cfgv.OptionalNoDefault("ssh", check_and(check_str, check_problem(_ssh_problem))),
    cfgv.OptionalNoDefault("key", check_and(check_str, check_problem(_not_blank))),
    cfgv.OptionalNoDefault("label", check_str),
    cfgv.OptionalNoDefault("cpus", check_and(check_int, check_problem(
        lambda value: None if value > 0 else f"Expected a positive number of CPUs, got {value}"))),
    cfgv.OptionalNoDefault("backend", check_one_of(BACKENDS)),
    cfgv.OptionalNoDefault("root", check_and(check_str, check_problem(_not_blank))),
    cfgv.OptionalNoDefault("known_hosts", check_and(check_str, check_problem(_not_blank))),
)
INVENTORY = Record(Named("hosts", "host", HOST, "Expected a non-empty mapping of host name to host"))


@dataclass(frozen=True)
class Host:
    """One machine of the inventory, validated: after loading, the rest of the package trusts these values
    (they still reach a remote shell only through shlex.quote)."""

    name: str
    ssh: str | None = None            # None for `local`
    key: str | None = None
    label: str | None = None
    cpus: int | None = None
    backend: str | None = None
    root: str | None = None           # remote folder; None for `local` (it runs in this checkout)
    known_hosts: str = DEFAULT_KNOWN_HOSTS

    @property
    def is_local(self) -> bool:
        return self.ssh is None

    @property
    def user(self) -> str:
        return SSH_TARGET.fullmatch(self.ssh)["user"]

    @property
    def address(self) -> str:
        return SSH_TARGET.fullmatch(self.ssh)["address"].strip("[]")

    @property
    def port(self) -> int:
        return int(SSH_TARGET.fullmatch(self.ssh)["port"] or 22)

    def record(self) -> dict:
        """What meta.json keeps of the host: its settings (a key file's path, never its content)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_record(cls, record: dict) -> "Host":
        return cls(**{key: record[key] for key in cls.__dataclass_fields__ if key in record})


def _host(file: str, name: str, entry: dict) -> Host:
    if not NAME.fullmatch(name) or name == ALL:
        raise ConfigError(file, f"host '{name}'", None, "A host name holds only letters, digits, '.', '_' and '-', "
                          f"starts with a letter or digit, and is not '{ALL}'")
    if name == LOCAL:
        extra = sorted(set(entry) - set(LOCAL_KEYS))
        if extra:
            raise ConfigError(file, f"host '{name}'", extra[0], f"'{LOCAL}' is this machine: it may set only "
                              f"{', '.join(LOCAL_KEYS)}")
        return Host(name=name, **entry)
    if "ssh" not in entry:
        raise ConfigError(file, f"host '{name}'", "ssh", "Missing required key")
    return Host(name=name, root=entry.pop("root", f"~/polylab-runs/{name}"), **entry)


def load_inventory(path: Path, display: str | None = None) -> dict[str, Host]:
    """hosts.yaml → {name: Host}, in the file's order; any problem is one ConfigError line."""
    shown = display or path.name
    data = validate(load_yaml(path, shown), INVENTORY, shown)
    known = set(Host.__dataclass_fields__) - {"name"}     # unknown keys were warned about: leave them out
    return {str(name): _host(shown, str(name), {key: value for key, value in entry.items() if key in known})
            for name, entry in data["hosts"].items()}


def select_hosts(names: str, inventory_path: Path | None, root: Path) -> list[Host]:
    """--hosts a,b (or `all`) → the hosts, in the order given. `local` needs no inventory."""
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if not wanted:
        raise UserError("--hosts is empty: name hosts from the inventory, e.g. --hosts h1,h2, or --hosts all")
    path = inventory_path or root / DEFAULT_FILE
    shown = str(inventory_path or DEFAULT_FILE)       # as the user gave it (the default: the checkout's own)
    if path.exists():
        inventory = load_inventory(path, shown)
    elif inventory_path is not None or wanted != [LOCAL]:
        raise UserError(f"no inventory: {path} does not exist — write one (README, 'Several machines') or pass "
                        f"--inventory FILE")
    else:
        inventory = {}
    listed = list(inventory.values())
    inventory.setdefault(LOCAL, Host(name=LOCAL))
    if wanted == [ALL]:
        return listed
    unknown = [name for name in wanted if name not in inventory]
    if unknown:
        raise UserError(f"unknown host '{unknown[0]}' in --hosts; known: {', '.join(inventory)} (inventory {shown})")
    if len(set(wanted)) != len(wanted):
        raise UserError(f"--hosts names a host twice: {','.join(wanted)}")
    return [inventory[name] for name in wanted]
