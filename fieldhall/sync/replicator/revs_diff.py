"""Step 4: ask the target which of the changed revisions it lacks (``_revs_diff``).

The answer also names, per document, the leaves the target already has that may be
ancestors of the missing ones (``possible_ancestors``): the fetch step passes them as
``atts_since`` so that only attachments added since then cross the wire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .changes import Change
from .client import PeerClient
from .errors import PeerProtocolError
from .progress import Stats

__all__ = ["Missing", "find_missing", "parse_revs_diff"]


@dataclass(frozen=True, slots=True)
class Missing:
    doc_id: str
    revs: tuple[str, ...]
    possible_ancestors: tuple[str, ...] = ()


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def parse_revs_diff(changes: Sequence[Change], data: object) -> tuple[Missing, ...]:
    """The missing revisions in the order of ``changes`` (the source's sequence order)."""
    if not isinstance(data, Mapping):
        raise PeerProtocolError("_revs_diff answered something other than an object")
    missing: list[Missing] = []
    seen: set[str] = set()
    for change in changes:
        entry = data.get(change.id)
        if not isinstance(entry, Mapping) or change.id in seen:
            continue
        seen.add(change.id)
        revs = _strings(entry.get("missing"))
        if revs:
            missing.append(Missing(change.id, revs, _strings(entry.get("possible_ancestors"))))
    return tuple(missing)


async def find_missing(
    client: PeerClient, changes: Sequence[Change]
) -> tuple[tuple[Missing, ...], Stats]:
    asked = {change.id: list(change.revs) for change in changes if change.revs}
    checked = sum(len(revs) for revs in asked.values())
    if not asked:
        return (), Stats()
    reply = await client.request("POST", "_revs_diff", json=asked)
    missing = parse_revs_diff([c for c in changes if c.id in asked], reply.json())
    found = sum(len(m.revs) for m in missing)
    return missing, Stats(missing_checked=checked, missing_found=found)
