"""How a results set of an older format version is read: UPGRADES[v] turns a set of version v into one of
version v + 1 (results/store.py reads an older set through each step in turn). What changed at each version is
the format history in schema.py's docstring."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from polylab.results.schema import (PerfCounters, SamplerSummary, Totals, _unflatten, _written, handoff_rates,
                                    run_totals)


@dataclass(frozen=True)
class Upgrade:
    """How a set of version v becomes one of version v + 1: each function takes one record and returns it
    upgraded (a row of runs.jsonl; meta.json)."""

    row: Callable[[dict], dict] = lambda row: row
    meta: Callable[[dict], dict] = lambda meta: meta


def _v1_row_to_v2(row: dict) -> dict:
    """The sampler's `migrations` becomes `sampler_migrations` (it read no PSS), and the run's totals are
    computed from the row's parts as for a new row; keys the schema does not know (a merged set's `host`) stay."""
    if "samples" in row:
        row = {("sampler_migrations" if key == "migrations" else key): value for key, value in row.items()}
        row["tree_pss_bytes"] = None
    parts = [_unflatten(kind, row) if _written(kind, row) else None for kind in (Totals, SamplerSummary, PerfCounters)]
    return {**row, **_flatten_values(run_totals(*parts))}


def _flatten_values(values: dict) -> dict:
    """Plain JSON values of the ones that are known."""
    return {name: value.value if isinstance(value, Enum) else value for name, value in values.items()
            if value is not None}


def _v2_row_to_v3(row: dict) -> dict:
    """One variant per language: it takes the language's name, and the candidate moves to `toolchain`."""
    return {**row, "variant": row.get("lang"), "toolchain": row.get("variant")}


def _v2_meta_to_v3(meta: dict) -> dict:
    toolchains = {lang: {**info, "lang": lang, "variant": lang, "toolchain": info.get("variant")}
                  for lang, info in (meta.get("toolchains") or {}).items()}
    return {**meta, "toolchains": toolchains}


def _v6_row_to_v7(row: dict) -> dict:
    """A pingpong row's rates over the ring's time (the shortest worker's elapsed), as a new row's."""
    if not row.get("token"):
        return row
    return {**row, **handoff_rates(row["token"], row.get("worker_elapsed_s"), row.get("inner_s"))}


# UPGRADES[v] upgrades version v to v + 1; an older set is read through each step in turn (results/store.py).
# 3 → 4, 4 → 5, 5 → 6 and 7 → 8 only add workloads, modes and keys, and 8 → 9 a table column (read empty from an
# older table: analysis/load.py): their steps change nothing, so an older reader refuses them.
UPGRADES: dict[int, Upgrade] = {1: Upgrade(row=_v1_row_to_v2), 2: Upgrade(row=_v2_row_to_v3, meta=_v2_meta_to_v3),
                                3: Upgrade(), 4: Upgrade(), 5: Upgrade(), 6: Upgrade(row=_v6_row_to_v7),
                                7: Upgrade(), 8: Upgrade()}
