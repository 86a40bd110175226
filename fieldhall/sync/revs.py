"""New revision ids.

CouchDB derives a new rev id from the edit itself (deleted flag, parent rev, body and
attachment digests), so the same edit of the same parent gives the same id on every node: a
retried write is recognised instead of becoming a conflict. CouchDB hashes Erlang's
external term format; we hash the canonical JSON of the same ingredients.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["new_rev"]


def new_rev(
    parent: str | None,
    deleted: bool,
    body: Mapping[str, Any],
    attachment_digests: Mapping[str, str],
) -> str:
    """The rev id of an edit: generation one past ``parent`` and a deterministic hash."""
    generation = 1 if parent is None else int(parent.partition("-")[0]) + 1
    material = orjson.dumps(
        [deleted, parent, body, sorted(attachment_digests.items())],
        option=orjson.OPT_SORT_KEYS,
    )
    return f"{generation}-{hashlib.md5(material).hexdigest()}"
