"""The replication id: which checkpoint documents a replication reads and writes.

As CouchDB's ``couch_replicator_ids`` (version 4), the id is a hash of what makes two
replications the same — who replicates, the source and target databases (user, host, port,
path: not the password, so changing it keeps the checkpoints) and the filter — and nothing
else: ``continuous`` and ``create_target`` change how a job runs, not what it copies, so they
are only appended to the *job* id (``<id>+continuous``), as CouchDB does. Checkpoints live in
``_local/<id>`` on both peers.

CouchDB hashes Erlang's term format, which we cannot reproduce; we hash canonical JSON of
the same ingredients. A pair replicated alternately by CouchDB and by us therefore starts
from its own checkpoints, which is correct, only slower the first time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from .endpoint import Endpoint

__all__ = ["REPLICATION_ID_VERSION", "checkpoint_doc_id", "job_id", "replication_id"]

REPLICATION_ID_VERSION = 1
"""Written into every checkpoint; bump it when the ingredients below change."""


def _endpoint_key(endpoint: Endpoint) -> list[Any]:
    return [endpoint.username, endpoint.host, endpoint.port, endpoint.path]


def _filter_key(doc_ids: Sequence[str] | None, selector: Mapping[str, Any] | None) -> list[Any]:
    if doc_ids is not None:
        # The same set of ids is the same replication, whatever order they were given in.
        return ["doc_ids", sorted(set(doc_ids))]
    if selector is not None:
        return ["selector", selector]
    return []


def replication_id(
    source: Endpoint,
    target: Endpoint,
    *,
    replicator: str,
    doc_ids: Sequence[str] | None = None,
    selector: Mapping[str, Any] | None = None,
) -> str:
    """32 hex digits naming the replication of ``source`` to ``target`` by ``replicator``
    (the identity of who runs it, e.g. a server's uuid), with an optional filter."""
    material = [
        REPLICATION_ID_VERSION,
        replicator,
        _endpoint_key(source),
        _endpoint_key(target),
        _filter_key(doc_ids, selector),
    ]
    canonical = orjson.dumps(material, option=orjson.OPT_SORT_KEYS)
    return hashlib.md5(canonical, usedforsecurity=False).hexdigest()


def job_id(rep_id: str, *, continuous: bool, create_target: bool) -> str:
    """CouchDB's job id: the replication id with ``+continuous`` and ``+create_target``."""
    return (
        rep_id + ("+continuous" if continuous else "") + ("+create_target" if create_target else "")
    )


def checkpoint_doc_id(rep_id: str) -> str:
    return "_local/" + rep_id
