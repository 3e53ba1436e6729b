"""The `native` workload's SHA-256 chain, recomputed with hashlib so the lab can check every worker's digest.

A worker's buffer is 64 KiB of zeros; each iteration hashes the whole buffer and writes the 32-byte digest
over its first 32 bytes. The buffer after c iterations is therefore d_c followed by zeros (before the first,
32 zero bytes followed by zeros), and d_(c+1) = SHA-256(d_c + zeros): one chain, the same for every worker of
every run. It is walked once up to the largest count asked for, keeping one digest every CHECKPOINT_EVERY
steps, so a later count costs only the steps from the checkpoint below it (a few kilobytes for a million
steps). Each step costs what one of the program's iterations costs: hashlib hashes 64 KiB in some 30 µs.
"""

from __future__ import annotations

import hashlib

BUFFER_BYTES = 64 * 1024
DIGEST_BYTES = 32
CHECKPOINT_EVERY = 1024
_ZEROS = bytes(BUFFER_BYTES - DIGEST_BYTES)
_checkpoints: list[bytes] = [bytes(DIGEST_BYTES)]   # [k]: the buffer's first 32 bytes after k·CHECKPOINT_EVERY steps


def _step(head: bytes) -> bytes:
    return hashlib.sha256(head + _ZEROS).digest()


def digest_at(count: int) -> str:
    """The lowercase hex digest a worker reports after `count` iterations ("" for none)."""
    if count <= 0:
        return ""
    known = min(count // CHECKPOINT_EVERY, len(_checkpoints) - 1)
    head = _checkpoints[known]
    for step in range(known * CHECKPOINT_EVERY + 1, count + 1):
        head = _step(head)
        if step % CHECKPOINT_EVERY == 0 and step // CHECKPOINT_EVERY == len(_checkpoints):
            _checkpoints.append(head)
    return head.hex()


def digests_at(counts: list[int]) -> dict[int, str]:
    """digest_at for several counts, the largest first: the shorter ones then start from a checkpoint."""
    return {count: digest_at(count) for count in sorted(set(counts), reverse=True)}
