"""Writing station events into ``/sync/field``, where the station's devices pull them.

An event is one document, revised in place: each hall revision is written as a new CouchDB
revision on top of the stored one (``_rev`` of the current winner), so a replicating device
ends up with the latest and nothing else. Like the case events' outbox
(:mod:`~fieldhall.server.hall.events`) it cannot share the hall's transaction — the store takes
its own write lock — so it is at-least-once and idempotent: a stored document whose
``revision`` is already the hall's marks the row published; a conflict (another worker wrote
first) is left for the next round, which reads the new winner.
"""

from __future__ import annotations

import logging

import orjson
from sqlalchemy import func, update
from sqlmodel import col, select

from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.policy import ADMIN

from ..tables import HallStationEvent

__all__ = ["publish_station_events", "unpublished_station_events"]

log = logging.getLogger("fieldhall.hall.stations")

PUBLISH_BATCH = 100


def publish_station_events(field: FieldService, *, batch: int = PUBLISH_BATCH) -> int:
    """Write the events whose current revision is not in the store yet; returns how many."""
    with field.read_session() as session:
        rows = session.exec(
            select(HallStationEvent.id, HallStationEvent.revision, HallStationEvent.document)
            .where(col(HallStationEvent.published_revision) < col(HallStationEvent.revision))
            .order_by(col(HallStationEvent.updated_at))
            .limit(batch)
        ).all()
    if not rows:
        return 0
    store = field.store
    states = store.documents(FIELD_DB, [event_id for event_id, _, _ in rows])
    stored = store.revisions(FIELD_DB, [(s.doc_id, s.winner) for s in states.values()])
    done: list[tuple[str, int]] = []
    writes = []
    for event_id, revision, document in rows:
        state = states.get(event_id)
        record = stored.get((event_id, state.winner)) if state is not None else None
        written = 0 if record is None or record.deleted else record.body.get("revision") or 0
        if int(written) >= revision:
            done.append((event_id, revision))  # written before the mark (a crash, a race)
            continue
        doc = orjson.loads(document)
        if state is not None:
            doc["_rev"] = state.winner
        writes.append((event_id, revision, doc))
    if writes:
        results = store.bulk_docs(
            FIELD_DB, [parse_incoming(doc, new_edits=True) for _, _, doc in writes], principal=ADMIN
        )
        for (event_id, revision, _), result in zip(writes, results, strict=True):
            if result.error is None:
                done.append((event_id, revision))
            else:
                log.warning("station event %s not published yet: %s", event_id, result.to_json())
    if done:
        with field.session() as session:
            for event_id, revision in done:
                session.connection().execute(
                    update(HallStationEvent)
                    .where(
                        col(HallStationEvent.id) == event_id,
                        col(HallStationEvent.published_revision) < revision,
                    )
                    .values(published_revision=revision)
                )
    return len(done)


def unpublished_station_events(field: FieldService) -> int:
    with field.read_session() as session:
        unpublished = col(HallStationEvent.published_revision) < col(HallStationEvent.revision)
        return int(
            session.exec(
                select(func.count()).select_from(HallStationEvent).where(unpublished)
            ).one()
        )
