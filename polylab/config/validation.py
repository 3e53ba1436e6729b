"""Declarative validation of the YAML inputs with cfgv (as pre-commit does), and its one-line messages.

Each input is declared as a schema: a `Record` (a cfgv.Map) of cfgv.Required / cfgv.Optional /
cfgv.OptionalNoDefault items whose check functions come from here, plus three items that enter a named
entry: `Named` (a mapping of name to record), `Numbered` (a list of records) and `Section` (one record under
a key). Entering an entry adds its name ("profile 'p'", "toolchain #1", "defaults") to cfgv's error
context, so every error becomes one line:

    ==> File experiments.yaml ==> At profile 'p' / experiment 'cpu' ==> At key: workers =====> Expected ...

A key set to null counts as absent. Unknown keys warn (cfgv.WarnAdditionalKeys) instead of failing: typos
are common, and a warning names them.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import cfgv
import yaml

from polylab.config.errors import ConfigError

KEY_CONTEXT = "At key: "
MISSING_KEY = re.compile(r"Missing required key: (.+)")


class ConfigWarning(UserWarning):
    """An unknown key: probably a typo, so it is reported but does not stop the run."""


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping names a key twice."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, except that a mapping naming a key twice is an error: PyYAML would keep the last value and drop
    the first silently (a second `workers:` in an experiment, a second `sample_hz:` in defaults)."""

    def construct_mapping(self, node, deep=False):
        first_line = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":    # `<<: *base`, whose keys a mapping may override
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float)):
                continue    # a complex key: SafeLoader refuses the unhashable ones itself
            if key in first_line:
                raise _DuplicateKey(
                    None, None, f"duplicate key '{key}' (first on line {first_line[key]}): only one value would be "
                                "kept", key_node.start_mark)
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping)


def load_yaml(path, display: str) -> Any:
    """Parse a YAML file; syntax errors, and a key named twice in one mapping, become one ConfigError with the line
    and column."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise ConfigError(display, "top level", None, f"cannot read the file: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)   # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "top level"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "invalid YAML" if isinstance(exc, _DuplicateKey) else "invalid YAML syntax"
        raise ConfigError(display, where, None, f"{kind}: {problem}") from None


# --- check functions: each takes a value and raises cfgv.ValidationError with the problem -----------------

def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_type(kind: str, accepts: Callable[[Any], bool]) -> Callable[[Any], None]:
    def check(value):
        if not accepts(value):
            raise cfgv.ValidationError(f"Expected {kind}, got {_type_name(value)} {value!r}")
    return check


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return _is_int(value) or isinstance(value, float)


def _is_str(value) -> bool:
    return isinstance(value, str)


def _list_of(accepts: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(accepts(item) for item in value)


check_int = check_type("int", _is_int)
check_number = check_type("number", _is_number)
check_str = check_type("str", _is_str)
check_bool = check_type("bool", lambda value: isinstance(value, bool))
check_int_list = check_type("list of int", _list_of(_is_int))
check_str_list = check_type("list of str", _list_of(_is_str))
check_argv_list = check_type("list of argv lists (list of list of str)", _list_of(_list_of(_is_str)))
check_str_map = check_type("mapping of str to str", lambda value: isinstance(value, dict) and all(
    isinstance(item, (str, int, float)) for item in value.values()))
check_and = cfgv.check_and


def check_problem(find_problem: Callable[[Any], str | None]) -> Callable[[Any], None]:
    """A check from a function that returns what is wrong with a value, or None."""
    def check(value):
        problem = find_problem(value)
        if problem:
            raise cfgv.ValidationError(problem)
    return check


def check_one_of(allowed) -> Callable[[Any], None]:
    allowed = list(allowed)
    return check_and(check_str, check_problem(
        lambda value: None if value in allowed else f"Expected one of {', '.join(allowed)}, got {value!r}"))


def check_values_from(allowed) -> Callable[[Any], None]:
    allowed = list(allowed)

    def first_wrong(values):
        wrong = [value for value in values if value not in allowed]
        return f"Expected values from {', '.join(allowed)}, got {wrong[0]!r}" if wrong else None
    return check_and(check_str_list, check_problem(first_wrong))


def str_map(value: dict) -> dict:
    """A mapping that check_str_map accepted, with its numbers written as the strings they stand for."""
    return {str(key): str(item) for key, item in value.items()}


# --- schema pieces -------------------------------------------------------------------------------------------

class _Where:
    """The file and entries being validated, for warnings (errors carry them in cfgv's context instead)."""

    file = ""
    entries: list[str] = []

    @classmethod
    def entry(cls) -> str:
        return " / ".join(cls.entries) or "top level"


@contextlib.contextmanager
def _entering(label: str):
    _Where.entries.append(label)
    try:
        with cfgv.validate_context(f"At {label}"):
            yield
    finally:
        _Where.entries.pop()


def _warn_unknown(extra, known, mapping) -> None:
    for key in extra:
        close = difflib.get_close_matches(str(key), [str(name) for name in known], n=1)
        hint = f" — did you mean '{close[0]}'?" if close else ""
        warnings.warn(f"{_Where.file}: {_Where.entry()}: unknown key '{key}' ignored{hint}", ConfigWarning,
                      stacklevel=2)


def present(value: dict | None) -> dict:
    """A mapping as the schema sees it: keys as strings, null values left out (null counts as absent)."""
    return {str(key): item for key, item in (value or {}).items() if item is not None}


class Record(cfgv.Map):
    """A mapping of declared keys. Its entry is named by where it sits (Named, Numbered, Section, validate);
    keys that no item declares are warned about."""

    __slots__ = ()

    def __new__(cls, *items):
        known = [item.key for item in items if hasattr(item, "key")]
        return super().__new__(cls, "record", None, cfgv.WarnAdditionalKeys(known, _warn_unknown), *items)

    def check(self, value):
        if value is not None and not isinstance(value, dict):
            raise cfgv.ValidationError(f"Expected a mapping, got {_type_name(value)}")
        value = present(value)
        for item in self.items:
            item.check(value)

    def apply_defaults(self, value):
        return super().apply_defaults(present(value))


class _Item:
    """What cfgv asks of an item of a Map besides `check`: filling and removing its defaults."""

    def apply_default(self, mapping: dict) -> None:
        pass

    def remove_default(self, mapping: dict) -> None:
        pass


@dataclass(frozen=True)
class Named(_Item):
    """`key` holds a non-empty mapping of name to `schema`; each value is the entry "<kind> '<name>'"."""

    key: str
    kind: str
    schema: Record
    problem: str     # what a missing or empty mapping gets told

    def check(self, mapping: dict) -> None:
        with cfgv.validate_context(KEY_CONTEXT + self.key):
            value = mapping.get(self.key)
            if not isinstance(value, dict) or not value:
                raise cfgv.ValidationError(self.problem)
            for name, spec in value.items():
                with _entering(f"{self.kind} '{name}'"):
                    self.schema.check(spec)

    def apply_default(self, mapping: dict) -> None:
        mapping[self.key] = {str(name): self.schema.apply_defaults(spec) for name, spec in mapping[self.key].items()}


@dataclass(frozen=True)
class Numbered(_Item):
    """`key` holds a non-empty list of `schema`; each item is the entry "<kind> #<n>", counted from 1.
    An `optional` key may also be absent (an Across item then says which keys go together)."""

    key: str
    kind: str
    schema: Record
    problem: str
    optional: bool = False

    def check(self, mapping: dict) -> None:
        if self.optional and self.key not in mapping:
            return
        with cfgv.validate_context(KEY_CONTEXT + self.key):
            value = mapping.get(self.key)
            if not isinstance(value, list) or not value:
                raise cfgv.ValidationError(self.problem)
            for index, spec in enumerate(value):
                with _entering(f"{self.kind} #{index + 1}"):
                    self.schema.check(spec)

    def apply_default(self, mapping: dict) -> None:
        if self.key in mapping:
            mapping[self.key] = [self.schema.apply_defaults(spec) for spec in mapping[self.key]]


@dataclass(frozen=True)
class Section(_Item):
    """`key` optionally holds one `schema`, the entry named after the key."""

    key: str
    schema: Record

    def check(self, mapping: dict) -> None:
        if self.key in mapping:
            with _entering(self.key):
                self.schema.check(mapping[self.key])

    def apply_default(self, mapping: dict) -> None:
        if self.key in mapping:
            mapping[self.key] = self.schema.apply_defaults(mapping[self.key])


@dataclass(frozen=True)
class Across(_Item):
    """A check of `key` that needs the rest of the mapping: `find_problem(mapping)` returns the problem or None."""

    key: str
    find_problem: Callable[[dict], str | None]

    def check(self, mapping: dict) -> None:
        problem = self.find_problem(mapping)
        if problem:
            with cfgv.validate_context(KEY_CONTEXT + self.key):
                raise cfgv.ValidationError(problem)


def _config_error(error: cfgv.ValidationError, file: str) -> ConfigError:
    """cfgv's chain of contexts as one line: the entries entered, then the key, then the problem."""
    contexts = []
    while error.ctx is not None:
        contexts.append(error.ctx)
        error = error.error_msg
    problem = str(error.error_msg)
    missing = MISSING_KEY.fullmatch(problem)
    if missing:
        contexts.append(KEY_CONTEXT + missing[1])
        problem = "Missing required key"
    key = contexts.pop()[len(KEY_CONTEXT):] if contexts and contexts[-1].startswith(KEY_CONTEXT) else None
    entries = [context.removeprefix("At ") for context in contexts if not context.startswith(KEY_CONTEXT)]
    return ConfigError(file, " / ".join(entries) or "top level", key, problem)


def validate(data: Any, schema: Record, file: str, entry: str | None = None) -> dict:
    """Check data against schema, warning about unknown keys, and return it with the defaults filled in.

    `entry` names the whole document in messages ("language 'go'"); without it, top-level problems are
    "At top level" and nested entries stand alone ("profile 'p'"). Any problem raises one ConfigError."""
    _Where.file, _Where.entries = file, []
    try:
        with _entering(entry) if entry else contextlib.nullcontext():
            schema.check(data)
    except cfgv.ValidationError as error:
        raise _config_error(error, file) from None
    return schema.apply_defaults(data)
