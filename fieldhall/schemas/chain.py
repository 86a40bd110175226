"""The device hash chain: every document a device writes names the hash of its previous one.

Each device document carries ``device_seq`` (1, 2, 3… per device, never reused) and
``prev_hash``: :func:`chain_hash` of that device's previous document, ``null`` for the first.
The server keeps, per device, one :class:`ChainEntry` per stored document and judges each
arriving document with :func:`check_chain` inside the transaction that would store it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fieldhall.schemas.canonical import signed_bytes

__all__ = ["ChainEntry", "ChainStatus", "ChainVerdict", "chain_hash", "check_chain"]


def chain_hash(doc: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the document's signed bytes (what the next ``prev_hash`` names)."""
    return hashlib.sha256(signed_bytes(doc)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """What the server keeps of a stored device document: its hash and the hash it named."""

    hash: str
    prev_hash: str | None

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> ChainEntry:
        return cls(hash=chain_hash(doc), prev_hash=doc.get("prev_hash"))


class ChainStatus(StrEnum):
    OK = "ok"  # store it; its predecessor is stored (or it is the first)
    GAP_RECORDED = "gap_recorded"  # store it; record that device_seq - 1 has not arrived
    RETRY_IDENTICAL = "retry_identical"  # already stored byte for byte: succeed, store nothing
    CHAIN_FORK = "chain_fork"  # refuse with the chain_fork code


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    status: ChainStatus
    detail: str
    # The document is the missing predecessor of a stored one: the gap before that one closes.
    closes_gap: bool = False

    @property
    def accepted(self) -> bool:
        """Whether the write succeeds (a retry succeeds without storing anything)."""
        return self.status is not ChainStatus.CHAIN_FORK


def check_chain(
    entries: Mapping[int, ChainEntry], doc: Mapping[str, Any], *, own_hash: str | None = None
) -> ChainVerdict:
    """Judge a device document against the stored chain of its device.

    ``entries`` maps ``device_seq`` to the stored :class:`ChainEntry`; only the entries at
    ``device_seq - 1``, ``device_seq`` and ``device_seq + 1`` are consulted, so a caller may
    load just those three. ``doc`` is assumed schema-valid (``device_seq`` ≥ 1; ``prev_hash``
    is ``null`` exactly when ``device_seq`` is 1). The rules, from ARCHITECTURE:

    1. **Retry** — an entry at ``device_seq`` with the same hash: the device re-sent identical
       signed bytes; a successful no-op (no new revision, no second receipt is needed).
    2. **Fork** — an entry at ``device_seq`` with a different hash: different content at a
       ``device_seq`` already used (sequence numbers are never reused).
    3. **Fork** — the entry at ``device_seq - 1`` exists and its hash is not ``prev_hash``:
       the document contradicts a known predecessor.
    4. **Fork** — the entry at ``device_seq + 1`` exists and names a ``prev_hash`` that is not
       this document's hash: the successor already fixed what belongs here, and this is not it.
    5. **Gap recorded** — ``device_seq`` > 1 and no entry at ``device_seq - 1``: accepted, and
       the gap is recorded until the predecessor arrives. A document refused for any other
       reason is never stored, so its ``device_seq`` stays a gap (a replacement with other
       content would contradict the successor, rule 4).
    6. **OK** — otherwise: the first document of the device, or a known, matching predecessor.

    ``closes_gap`` tells whether a stored successor was waiting for exactly this document.
    ``own_hash`` is ``chain_hash(doc)`` when the caller has it already.
    """
    seq = doc.get("device_seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return ChainVerdict(ChainStatus.CHAIN_FORK, "device_seq must be an integer ≥ 1")
    prev_hash = doc.get("prev_hash")
    if (seq == 1) != (prev_hash is None):
        return ChainVerdict(
            ChainStatus.CHAIN_FORK, "prev_hash is null for device_seq 1 and only for it"
        )
    own = chain_hash(doc) if own_hash is None else own_hash

    stored = entries.get(seq)
    if stored is not None:
        if stored.hash == own:
            return ChainVerdict(
                ChainStatus.RETRY_IDENTICAL, f"device_seq {seq} already stored with these bytes"
            )
        return ChainVerdict(
            ChainStatus.CHAIN_FORK, f"device_seq {seq} is already used by other content"
        )

    predecessor = entries.get(seq - 1)
    if predecessor is not None and predecessor.hash != prev_hash:
        return ChainVerdict(
            ChainStatus.CHAIN_FORK,
            f"prev_hash contradicts the stored document at device_seq {seq - 1}",
        )

    successor = entries.get(seq + 1)
    if successor is not None and successor.prev_hash != own:
        return ChainVerdict(
            ChainStatus.CHAIN_FORK,
            f"the stored document at device_seq {seq + 1} names a different predecessor",
        )
    closes_gap = successor is not None

    if seq > 1 and predecessor is None:
        return ChainVerdict(
            ChainStatus.GAP_RECORDED,
            f"device_seq {seq - 1} has not arrived; gap recorded",
            closes_gap=closes_gap,
        )
    return ChainVerdict(ChainStatus.OK, "chain holds", closes_gap=closes_gap)
