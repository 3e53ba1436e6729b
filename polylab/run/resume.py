"""Continuing a results set (`--resume DIR`): the new runs must be runs of the plan the set was started with.

A set's meta.json records its profile, that profile's experiments as they were then (`config`) and its variants
(`toolchains`, by key: `go`, `python:pypy`). What the command line leaves out is taken from there, so that
`invoke all --resume DIR` continues exactly what was started; what it names must agree with it. A different
profile, experiments changed since, or another set of variants would append runs of another plan to the set,
which the report would then mix: that is refused in one line naming both. Only `--extend` lets the plan grow,
and only by variants (more languages with --langs): the recorded ones keep their runs, the new ones add theirs,
and meta.json gains their toolchains and the new count of planned runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from polylab.config.errors import UserError
from polylab.config.experiments import Profile
from polylab.results import store


def recorded_experiments(profile: Profile) -> list[dict]:
    """A profile's experiments as meta.json's `config` records them (plain JSON values)."""
    return json.loads(json.dumps([vars(experiment) for experiment in profile.experiments], default=str))


@dataclass(frozen=True)
class StartedSet:
    """What a results set's meta.json says it was started with (None, or empty: not recorded)."""

    directory: Path
    profile: str | None
    config_file: str | None
    experiments: list[dict] | None
    variants: list[str]
    planned_runs: int | None

    @classmethod
    def read(cls, directory: Path) -> StartedSet | None:
        """The set in directory; None where it has no meta.json (nothing was started there)."""
        meta = store.read_meta(directory)
        if not meta:
            return None
        return cls(directory, meta.get("profile"), meta.get("config_file"),
                   (meta.get("config") or {}).get("experiments"), list(meta.get("toolchains") or {}),
                   meta.get("planned_runs"))

    def defaults(self, root: Path, profile: str | None, langs: str | None, config: str | None) -> tuple:
        """(profile, langs, config) with what the command line left out taken from the set."""
        recorded_config = Path(self.config_file) if self.config_file else None
        if recorded_config is not None and not recorded_config.is_absolute():
            recorded_config = root / recorded_config      # meta.json shows a file of the checkout by its relative path
        return (profile or self.profile, langs or (",".join(self.variants) if self.variants else None),
                config or (str(recorded_config) if recorded_config and recorded_config.is_file() else None))

    def check_profile(self, profile: Profile, config_file: str) -> None:
        """Refuses (UserError) a profile, or experiments, that are not the set's: known before any toolchain is
        looked for. check_variants then holds the variants found to the set's."""
        if self.profile is not None and profile.name != self.profile:
            facts = [self.config_file or "", f"{self.planned_runs} runs planned" if self.planned_runs else ""]
            how = ", ".join(filter(None, facts))
            raise UserError(f"{self.directory} was run with profile '{self.profile}' ({how}); "
                            f"--resume with profile '{profile.name}' would mix them — resume with --profile "
                            f"{self.profile}, or start a new set")
        if self.experiments is not None:
            self._check_experiments(profile, config_file)

    def _check_experiments(self, profile: Profile, config_file: str) -> None:
        difference = _first_difference(self.experiments, recorded_experiments(profile))
        if difference:
            then, now = difference
            raise UserError(f"{self.directory} was run with profile '{profile.name}' as {self.config_file} had it "
                            f"({then}); --resume with it as {config_file} has it now ({now}) would mix them — "
                            f"resume with the experiments it was run with, or start a new set")

    def check_variants(self, variants: list[str], extend: bool) -> list[str]:
        """Refuses variants that are not the set's, but those --extend adds; returns those."""
        if not self.variants:      # a set from before meta.json listed them: nothing to hold the plan to
            return []
        added = [key for key in variants if key not in self.variants]
        left_out = [key for key in self.variants if key not in variants]
        if not added and not left_out:
            return []
        if left_out:
            raise UserError(f"{self.directory} was run with languages {', '.join(self.variants)}; --resume with "
                            f"languages {', '.join(variants)} would leave out {', '.join(left_out)} — resume "
                            f"with --langs {','.join(self.variants)} (each must be found here: see `invoke "
                            f"doctor`), or start a new set")
        if not extend:
            raise UserError(f"{self.directory} was run with languages {', '.join(self.variants)}; --resume with "
                            f"languages {', '.join(variants)} would mix them — resume with --langs "
                            f"{','.join(self.variants)}, add {', '.join(added)} to the set with --extend, or "
                            f"start a new set")
        return added


def _first_difference(then: list[dict], now: list[dict]) -> tuple[str, str] | None:
    """The first way the experiments differ, as (then, now); None when they agree. Settings that only one side
    records (a setting added to polylab since the set was written) are not compared."""
    names_then, names_now = [e.get("name") for e in then], [e.get("name") for e in now]
    if names_then != names_now:
        return f"experiments {', '.join(map(str, names_then))}", f"experiments {', '.join(map(str, names_now))}"
    for old, new in zip(then, now):
        for key in [key for key in old if key in new]:
            if old[key] != new[key]:
                return (f"experiment '{old['name']}': {key} {json.dumps(old[key])}",
                        f"experiment '{new['name']}': {key} {json.dumps(new[key])}")
    return None


def extended_meta(recorded: dict, planned: dict) -> dict:
    """meta.json of a set that --extend grows: as it was, with the new variants' toolchains after the recorded
    ones, the skipped variants and the count of planned runs of the grown plan."""
    toolchains = dict(recorded.get("toolchains") or {})
    toolchains.update({key: entry for key, entry in planned["toolchains"].items() if key not in toolchains})
    skipped = {key: why for key, why in planned["skipped"].items() if key not in toolchains}
    return {**recorded, "toolchains": toolchains, "skipped": skipped, "planned_runs": planned["planned_runs"]}
