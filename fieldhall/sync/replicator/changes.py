"""Step 3: read the source's changes, a batch at a time.

``style=all_docs`` lists every leaf of a changed document — conflicts and deleted branches
too — so that all of them are replicated, not only winners. A batch is one request with
``limit``: a normal feed while catching up, a ``longpoll`` feed (with heartbeats, so proxies
keep the connection) once a continuous replication has caught up. Filters are CouchDB's
built-in ones, sent in a POST body: ``_doc_ids`` and ``_selector``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .checkpoint import Seq
from .client import PeerClient
from .errors import PeerProtocolError

__all__ = ["Change", "ChangesBatch", "encode_since", "parse_changes", "read_changes", "seq_number"]

LONGPOLL_TIMEOUT_MS = 60_000
"""How long one longpoll request may wait for a change before we ask again (with a heartbeat
CouchDB may wait longer; either way the loop simply asks again)."""


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    seq: Seq
    revs: tuple[str, ...]  # every leaf (style=all_docs)
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ChangesBatch:
    changes: tuple[Change, ...]
    last_seq: Seq
    complete: bool  # the feed had nothing more when it answered
    pending: int | None = None


def encode_since(seq: Seq) -> str:
    """``since`` as a query parameter: strings as they are, anything else as JSON."""
    return seq if isinstance(seq, str) else orjson.dumps(seq).decode()


def seq_number(seq: Seq | None) -> int | None:
    """The number a sequence starts with (``"12-g1AA…"`` → 12), for progress estimates only:
    sequences are otherwise opaque."""
    if isinstance(seq, bool) or seq is None:
        return None
    if isinstance(seq, int):
        return seq
    if isinstance(seq, list):
        return seq_number(seq[0]) if seq else None
    head = seq.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def parse_changes(data: object, *, since: Seq, limit: int | None) -> ChangesBatch:
    """A changes response body (``normal`` or ``longpoll``) as a batch."""
    if not isinstance(data, Mapping) or not isinstance(data.get("results"), list):
        raise PeerProtocolError("the changes feed answered without a results list")
    changes: list[Change] = []
    for row in data["results"]:
        if not isinstance(row, Mapping) or not isinstance(row.get("id"), str):
            raise PeerProtocolError(f"malformed changes row: {str(row)[:200]}")
        revs = tuple(
            c["rev"]
            for c in row.get("changes") or ()
            if isinstance(c, Mapping) and isinstance(c.get("rev"), str)
        )
        changes.append(Change(row["id"], row.get("seq", since), revs, bool(row.get("deleted"))))
    last_seq = data.get("last_seq")
    if last_seq is None or isinstance(last_seq, bool):
        last_seq = changes[-1].seq if changes else since
    pending = data.get("pending")
    # A full batch may have more behind it. (`pending` would tell, but not every server
    # reports it truthfully, so it is used for progress estimates only.)
    complete = limit is None or len(changes) < limit
    return ChangesBatch(
        tuple(changes),
        last_seq,
        complete,
        pending if isinstance(pending, int) and not isinstance(pending, bool) else None,
    )


async def read_changes(
    client: PeerClient,
    since: Seq,
    *,
    limit: int,
    doc_ids: Sequence[str] | None = None,
    selector: Mapping[str, Any] | None = None,
    wait: bool = False,
    heartbeat_ms: int = 10_000,
) -> ChangesBatch:
    """One batch of at most ``limit`` changes after ``since``; with ``wait``, a longpoll
    that returns as soon as there is something (or after a while with nothing)."""
    params = {"style": "all_docs", "since": encode_since(since), "limit": str(limit)}
    if wait:
        params |= {
            "feed": "longpoll",
            "heartbeat": str(heartbeat_ms),
            "timeout": str(LONGPOLL_TIMEOUT_MS),
        }
    body: dict[str, Any] | None = None
    if doc_ids is not None:
        params["filter"] = "_doc_ids"
        body = {"doc_ids": list(doc_ids)}
    elif selector is not None:
        params["filter"] = "_selector"
        body = {"selector": dict(selector)}
    if body is None:
        reply = await client.request("GET", "_changes", params=params, expect=(200, 400, 404))
    else:
        reply = await client.request(
            "POST", "_changes", params=params, json=body, expect=(200, 400, 404)
        )
    if reply.status != 200:
        error, reason = reply.error()
        if body is not None and (reply.status == 400 or error == "not_found"):
            raise PeerProtocolError(
                f"source {client.url} does not support the filter {params['filter']}"
                f" ({error}: {reason})",
                url=client.url,
            )
        raise client.failure(reply, "GET")
    return parse_changes(reply.json(), since=since, limit=limit)
