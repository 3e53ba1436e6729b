"""Typed access to one YAML mapping, with errors that name the file, the entry and the key.

Loaders read every key through a `Fields` object; that is the only place where YAML values are checked, so
after loading the rest of the code trusts its frozen records. Unknown keys warn, wrong values fail.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import yaml

from polylab.config.errors import ConfigError

REQUIRED = object()


class ConfigWarning(UserWarning):
    """An unknown key: probably a typo, so it is reported but does not stop the run."""


def load_yaml(path, display: str) -> Any:
    """Parse a YAML file; syntax errors become one ConfigError with the line and column."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise ConfigError(display, "top level", None, f"cannot read the file: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "top level"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(display, where, None, f"invalid YAML syntax: {problem}") from None


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True)
class Fields:
    """A mapping from YAML plus where it came from."""

    data: dict
    file: str
    entry: str

    @classmethod
    def of(cls, value: Any, file: str, entry: str) -> "Fields":
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(file, entry, None, f"Expected a mapping, got {_type_name(value)}")
        return cls(value, file, entry)

    def error(self, key: str | None, problem: str) -> ConfigError:
        return ConfigError(self.file, self.entry, key, problem)

    def warn_unknown(self, known: Iterable[str]) -> None:
        for key in sorted(set(map(str, self.data)) - set(known)):
            warnings.warn(f"{self.file}: {self.entry}: unknown key '{key}' ignored", ConfigWarning, stacklevel=2)

    def child(self, key: str, entry: str) -> "Fields":
        return Fields.of(self.data.get(key), self.file, entry)

    def get(self, key: str, kind: str, default: Any = REQUIRED, check: Callable[[Any], str | None] | None = None):
        """Read `key` as `kind` (int, number, str, bool, list[int], list[str], list[list[str]], dict[str])."""
        if key not in self.data or self.data[key] is None:
            if default is REQUIRED:
                raise self.error(key, "Missing required key")
            return default
        value = _coerce(self.data[key], kind)
        if value is _WRONG:
            raise self.error(key, f"Expected {_KIND_TEXT[kind]}, got {_type_name(self.data[key])} {self.data[key]!r}")
        problem = check(value) if check else None
        if problem:
            raise self.error(key, problem)
        return value

    def choice(self, key: str, allowed: Iterable[str], default: Any = REQUIRED) -> str:
        allowed = list(allowed)
        return self.get(key, "str", default, lambda v: None if v in allowed else
                        f"Expected one of {', '.join(allowed)}, got {v!r}")

    def choices(self, key: str, allowed: Iterable[str], default: Any = REQUIRED) -> tuple[str, ...]:
        allowed = list(allowed)

        def check(values):
            wrong = [v for v in values if v not in allowed]
            return f"Expected values from {', '.join(allowed)}, got {wrong[0]!r}" if wrong else None
        return self.get(key, "list[str]", default, check)


_WRONG = object()
_KIND_TEXT = {
    "int": "int", "number": "number", "str": "str", "bool": "bool", "list[int]": "list of int",
    "list[str]": "list of str", "list[list[str]]": "list of argv lists (list of list of str)",
    "dict[str]": "mapping of str to str",
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce(value: Any, kind: str) -> Any:
    if kind == "int":
        return value if _is_int(value) else _WRONG
    if kind == "number":
        return float(value) if _is_int(value) or isinstance(value, float) else _WRONG
    if kind == "str":
        return value if isinstance(value, str) else _WRONG
    if kind == "bool":
        return value if isinstance(value, bool) else _WRONG
    if kind == "dict[str]":
        ok = isinstance(value, dict) and all(isinstance(v, (str, int, float)) for v in value.values())
        return {str(k): str(v) for k, v in value.items()} if ok else _WRONG
    if kind.startswith("list["):
        if not isinstance(value, list):
            return _WRONG
        inner = kind[5:-1]
        items = [_coerce(v, inner) for v in value]
        return _WRONG if any(v is _WRONG for v in items) else tuple(items)
    raise ValueError(f"unknown kind {kind}")
