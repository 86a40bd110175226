"""Checkpoints: where a replication resumes.

After each batch the replicator records how far it got in a ``_local/<replication id>``
document on *both* peers::

    {"session_id": "<this run>", "source_last_seq": <seq>, "replication_id_version": 1,
     "replicator": "fieldhall", "history": [{"session_id", "recorded_seq", "start_last_seq",
     "end_last_seq", "start_time", "end_time", "docs_read", ...}, ...]}

At start both documents are read and compared (:func:`compare_logs`, after CouchDB's
``compare_replication_logs``): if they carry the same ``session_id``, the last run wrote both
and its ``source_last_seq`` is safe to resume from. Otherwise one write was lost (a crash
between the two writes, a peer restored from a backup, a database recreated) and the two
histories are searched for the newest session both peers recorded; failing that, the
replication starts from the beginning — always correct, because replication is idempotent,
only slower.

Everything here but :func:`read_log` and :func:`write_log` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .client import PeerClient, doc_path
from .errors import TransientError
from .ids import REPLICATION_ID_VERSION

__all__ = [
    "CHECKPOINT_HISTORY_SIZE",
    "LOWEST_SEQ",
    "ReplicationLog",
    "Seq",
    "StartPoint",
    "compare_histories",
    "compare_logs",
    "next_log_body",
    "read_log",
    "write_log",
]

Seq = str | int | list[Any]
"""A peer's update sequence: opaque (CouchDB 2+: ``"12-g1AAAA…"``, 1.x and PouchDB: ``12``).
We store it, send it back as ``since`` and compare it for equality only."""

LOWEST_SEQ: Seq = 0
"""Where a replication without a usable checkpoint starts: the beginning of the feed."""

CHECKPOINT_HISTORY_SIZE = 50
"""Sessions kept in a checkpoint's ``history`` (CouchDB keeps 50 too). The history is what
lets two peers whose latest records disagree still find a session both recorded, instead of
starting over; each entry is ~300 bytes, so 50 keep the document small while covering many
interrupted runs (PouchDB keeps 5, and loses the common ancestor sooner)."""

REPLICATOR = "fieldhall"


@dataclass(frozen=True, slots=True)
class ReplicationLog:
    """A checkpoint document as read from one peer (``rev`` is ``None`` when it is absent)."""

    doc_id: str
    rev: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.rev is not None

    @property
    def session_id(self) -> str | None:
        value = self.body.get("session_id")
        return value if isinstance(value, str) else None

    @property
    def source_last_seq(self) -> Seq:
        return _seq(self.body.get("source_last_seq"))

    @property
    def history(self) -> tuple[Mapping[str, Any], ...]:
        history = self.body.get("history")
        if not isinstance(history, list):
            return ()
        return tuple(entry for entry in history if isinstance(entry, Mapping))


@dataclass(frozen=True, slots=True)
class StartPoint:
    """Where to resume, and the history the new session's entries are prepended to."""

    seq: Seq
    history: tuple[Mapping[str, Any], ...] = ()


def _seq(value: object) -> Seq:
    if isinstance(value, str | int | list) and not isinstance(value, bool):
        return value
    return LOWEST_SEQ


def _recorded_seq(entry: Mapping[str, Any]) -> Seq:
    # CouchDB records `recorded_seq`; PouchDB-style entries carry `last_seq`.
    return _seq(entry.get("recorded_seq", entry.get("last_seq")))


def compare_logs(source: ReplicationLog, target: ReplicationLog) -> StartPoint:
    """The sequence to resume from, given the checkpoint found on each peer."""
    if not source.exists or not target.exists:
        return StartPoint(LOWEST_SEQ)
    if source.session_id is not None and source.session_id == target.session_id:
        return StartPoint(source.source_last_seq, source.history)
    return compare_histories(source.history, target.history)


def compare_histories(
    source: Sequence[Mapping[str, Any]], target: Sequence[Mapping[str, Any]]
) -> StartPoint:
    """The newest session recorded in both histories (newest first), walking both in step as
    CouchDB's ``compare_rep_history`` does; the beginning when there is none."""
    target_ids = [entry.get("session_id") for entry in target]
    source_ids = [entry.get("session_id") for entry in source]
    for index in range(min(len(source), len(target))):
        candidate = source[index].get("session_id")
        if candidate is not None and candidate in target_ids[index:]:
            return StartPoint(_recorded_seq(source[index]), tuple(source[index:]))
        candidate = target[index].get("session_id")
        if candidate is not None and candidate in source_ids[index + 1 :]:
            return StartPoint(_recorded_seq(target[index]), tuple(target[index:]))
    return StartPoint(LOWEST_SEQ)


def next_log_body(
    *,
    session_id: str,
    recorded_seq: Seq,
    start_seq: Seq,
    started_at: str,
    ended_at: str,
    stats: Mapping[str, int],
    history: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The checkpoint to write after a batch: this session's entry on top of the history the
    session started from (so repeated checkpoints of one session replace its entry)."""
    entry = {
        "session_id": session_id,
        "start_time": started_at,
        "end_time": ended_at,
        "start_last_seq": start_seq,
        "end_last_seq": recorded_seq,
        "recorded_seq": recorded_seq,
        **stats,
    }
    older = [dict(h) for h in history if h.get("session_id") != session_id]
    return {
        "session_id": session_id,
        "source_last_seq": recorded_seq,
        "replication_id_version": REPLICATION_ID_VERSION,
        "replicator": REPLICATOR,
        "history": [entry, *older][:CHECKPOINT_HISTORY_SIZE],
    }


async def read_log(client: PeerClient, doc_id: str) -> ReplicationLog:
    reply = await client.request("GET", doc_path(doc_id), expect=(200, 404))
    if reply.status == 404:
        return ReplicationLog(doc_id)
    data = reply.json()
    if not isinstance(data, dict):
        return ReplicationLog(doc_id)
    rev = data.get("_rev")
    body = {k: v for k, v in data.items() if not k.startswith("_")}
    return ReplicationLog(doc_id, rev if isinstance(rev, str) else "0-0", body)


async def write_log(
    client: PeerClient, log: ReplicationLog, body: Mapping[str, Any]
) -> ReplicationLog:
    """Store ``body`` as the checkpoint; return the log with its new rev.

    A conflict means our previous write succeeded but its reply was lost (we retried), or
    another job of the same replication wrote meanwhile: if the stored body is ours, that is
    success; otherwise write over it once, as PouchDB does.
    """
    current = log
    for _ in range(2):
        doc = {**body, "_id": log.doc_id}
        if current.rev is not None:
            doc["_rev"] = current.rev
        reply = await client.request("PUT", doc_path(log.doc_id), json=doc, expect=(200, 201, 409))
        if reply.status != 409:
            data = reply.json()
            rev = data.get("rev") if isinstance(data, dict) else None
            return ReplicationLog(log.doc_id, rev if isinstance(rev, str) else "0-1", dict(body))
        current = await read_log(client, log.doc_id)
        if current.exists and dict(current.body) == dict(body):
            return current
    raise TransientError(
        f"checkpoint {log.doc_id} on {client.url} keeps conflicting", url=client.url
    )
