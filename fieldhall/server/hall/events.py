"""Server-signed ``case_event`` documents and their outbox.

A transition writes its signed event into ``hall_case_event`` in the workflow's own
transaction (the outbox); :func:`publish_events` then writes the unpublished ones into
``/sync/field`` (the agent's channel, by the document's ``agent_id``) and marks them
published. The two cannot share a transaction — the sync store takes its own write lock — so
publishing is at-least-once and idempotent: an event already in the store (a crash between
the store write and the mark, or two workers publishing at once) answers ``conflict`` and is
marked published as well. The projector also marks the events it sees in the feed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from sqlmodel import Session, col, select
from ulid import ULID

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.keys import current_signing_key
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.schemas import sign_document, validate_document
from fieldhall.schemas.signatures import rfc3339_utc
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.policy import ADMIN

from .tables import HallEvent

__all__ = ["EventSigner", "build_case_event", "new_event_id", "publish_events"]

log = logging.getLogger("fieldhall.hall.events")

PUBLISH_BATCH = 200


def new_event_id() -> str:
    return f"case_event:{ULID()}"


def build_case_event(
    event_id: str,
    *,
    agent_id: str,
    case_id: str,
    event: str,
    by_role: str,
    at: datetime,
    items: Sequence[Mapping[str, Any]] | None = None,
    step: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``case_event`` (contract v1, ARCHITECTURE "Documents in /sync/field")."""
    when = rfc3339_utc(at)
    doc: dict[str, Any] = {
        "_id": event_id,
        "type": "case_event",
        "contract": 1,
        "agent_id": agent_id,
        "case_id": case_id,
        "event": event,
        "by_role": by_role,
        "at": when,
        "created_at": when,
    }
    if items is not None:
        doc["items"] = [dict(item) for item in items]
    if step is not None:
        doc["step"] = dict(step)
    if reason is not None:
        doc["reason"] = reason
    return doc


class EventSigner:
    """Signs events with the server's current key, read once per transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._key: tuple[str, Ed25519PrivateKey] | None = None

    def sign(self, doc: Mapping[str, Any], at: datetime) -> dict[str, Any]:
        if self._key is None:
            self._key = current_signing_key(self.session)
        key_id, key = self._key
        signed = sign_document(doc, key, f"server:{key_id}", at)
        # Our own output must be what the contract publishes: a bug here is a 500, never a
        # document devices would reject.
        validate_document(signed)
        return signed


def publish_events(field: FieldService, *, batch: int = PUBLISH_BATCH) -> int:
    """Write unpublished events into ``/sync/field``; returns how many were published."""
    published = 0
    while True:
        with field.read_session() as session:
            rows = session.exec(
                select(HallEvent.id, HallEvent.document)
                .where(col(HallEvent.published_at).is_(None), col(HallEvent.document).is_not(None))
                .order_by(col(HallEvent.at), col(HallEvent.ordinal))
                .limit(batch)
            ).all()
        if not rows:
            return published
        docs = [orjson.loads(document) for _, document in rows if document is not None]
        results = field.store.bulk_docs(
            FIELD_DB, [parse_incoming(doc, new_edits=True) for doc in docs], principal=ADMIN
        )
        done = [r.doc_id for r in results if r.error is None or r.error.error_name == "conflict"]
        failed = [r for r in results if r.doc_id not in done]
        for result in failed:
            log.error("case event %s not published: %s", result.doc_id, result.to_json())
        if done:
            mark_published(field, done)
            published += len(done)
        if failed or len(rows) < batch:
            return published


def mark_published(field: FieldService, event_ids: Sequence[str]) -> None:
    with field.session() as session:
        session.connection().execute(
            update(HallEvent)
            .where(col(HallEvent.id).in_(list(event_ids)), col(HallEvent.published_at).is_(None))
            .values(published_at=now())
        )
