"""The server-signed ``visit_request`` document and its outbox.

A request's document is rebuilt and signed in the transaction of every change the devices
must see (dispatch, reassignment, cancellation): ``hall_visit_request.document`` holds the
signed JSON at ``version``. :func:`publish_visit_requests` then writes each row whose
``published_version`` lags into ``/sync/field`` as a new revision of ``visit_request:<id>``
(channels ``grid:<grid>`` and ``agent:<assigned agent>``: the grid's devices pull it), and
records the version it wrote. As with the case events' outbox, the store takes its own write
lock, so publishing is at-least-once and idempotent: a revision already carrying the signed
body is only marked, a conflict (another worker wrote first) is read again next round.

A cancelled request becomes a **tombstone** (``_deleted: true``) whose body is its last
signed document, so the deletion reaches the same channels and devices drop the request; the
signature covers the body without ``_deleted``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from sqlalchemy import update
from sqlmodel import Session, col, select

from fieldhall.field_app_api.keys import sealing_key
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.sealing import seal_document_fields
from fieldhall.schemas.signatures import rfc3339_utc
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.policy import ADMIN

from ..context import Tx
from ..tables import utc
from .tables import HallVisitRequest

__all__ = ["build_visit_request", "publish_visit_requests", "sign_request"]

log = logging.getLogger("fieldhall.hall.visits")

PUBLISH_BATCH = 100
PUBLISH_ROUNDS = 5  # conflicts (another worker) are re-read at most this often per call


def build_visit_request(request: HallVisitRequest, session: Session) -> dict[str, Any]:
    """The unsigned ``visit_request`` (contract v1), ``resident.phone`` sealed to the hall."""
    resident: dict[str, Any] = {
        "name": request.resident_name,
        "address": request.resident_address,
    }
    if request.resident_phone:
        resident["phone"] = request.resident_phone
    on_site_by = utc(request.on_site_by)
    doc: dict[str, Any] = {
        "_id": request.id,
        "type": "visit_request",
        "contract": 1,
        "request_id": request.id,
        "source": request.source,
        "urgency": request.urgency,
        "resident": resident,
        "matter_id": request.matter_id,
        "deadlines": {
            "take_by": _stamp(request.take_by),
            "on_site_by": rfc3339_utc(on_site_by) if on_site_by else None,
            "close_by": _stamp(request.close_by),
        },
        "grid_id": request.grid_id,
        "assigned_agent_id": request.assigned_agent_id,
        "note": request.note,
        "created_at": _stamp(request.created_at),
    }
    public, _ = sealing_key(session)
    return seal_document_fields(doc, b64url_decode(public))


def sign_request(tx: Tx, request: HallVisitRequest) -> None:
    """Sign the request's document anew; the outbox publishes the new version."""
    signed = tx.signer.sign(build_visit_request(request, tx.session), tx.at)
    request.document = orjson.dumps(signed).decode()
    request.version += 1
    tx.session.add(request)


def publish_visit_requests(field: FieldService, *, batch: int = PUBLISH_BATCH) -> int:
    """Write every request whose document changed into ``/sync/field``; returns how many."""
    published = 0
    for _ in range(PUBLISH_ROUNDS):
        with field.read_session() as session:
            rows = session.exec(
                select(HallVisitRequest.id, HallVisitRequest.version, HallVisitRequest.document)
                .where(
                    col(HallVisitRequest.published_version) < col(HallVisitRequest.version),
                    col(HallVisitRequest.document).is_not(None),
                )
                .order_by(col(HallVisitRequest.created_at))
                .limit(batch)
            ).all()
            deleted = set(
                session.exec(
                    select(HallVisitRequest.id).where(
                        col(HallVisitRequest.id).in_([r[0] for r in rows]),
                        col(HallVisitRequest.deleted).is_(True),
                    )
                )
            )
        if not rows:
            return published
        done, retry = _write(field, rows, deleted)
        for request_id, version in done:
            _mark(field, request_id, version)
        published += len(done)
        if not retry and len(rows) < batch:
            return published
    return published


def _write(
    field: FieldService, rows: Any, deleted: set[str]
) -> tuple[list[tuple[str, int]], list[str]]:
    store = field.store
    states = store.documents(FIELD_DB, [r[0] for r in rows])
    current = store.revisions(FIELD_DB, [(s.doc_id, s.winner) for s in states.values()])
    done: list[tuple[str, int]] = []
    docs = []
    versions: dict[str, int] = {}
    for request_id, version, document in rows:
        doc = orjson.loads(document)
        state = states.get(request_id)
        if state is not None:
            record = current.get((request_id, state.winner))
            stored = record.body.get("signature", {}) if record else {}
            if stored.get("sig") == doc["signature"]["sig"] and (
                record is not None and record.deleted == (request_id in deleted)
            ):
                done.append((request_id, version))  # written before the mark (a crash)
                continue
            doc["_rev"] = state.winner
        if request_id in deleted:
            doc["_deleted"] = True
        docs.append(parse_incoming(doc, new_edits=True))
        versions[request_id] = version
    retry: list[str] = []
    if docs:
        for result in store.bulk_docs(FIELD_DB, docs, principal=ADMIN):
            if result.error is None:
                done.append((result.doc_id, versions[result.doc_id]))
            elif result.error.error_name == "conflict":
                retry.append(result.doc_id)  # another worker wrote first: read it again
            else:
                log.error("visit request %s not published: %s", result.doc_id, result.to_json())
    return done, retry


def _mark(field: FieldService, request_id: str, version: int) -> None:
    with field.session() as session:
        session.connection().execute(
            update(HallVisitRequest)
            .where(
                col(HallVisitRequest.id) == request_id,
                col(HallVisitRequest.published_version) < version,
            )
            .values(published_version=version)
        )


def _stamp(moment: Any) -> str:
    value = utc(moment)
    assert value is not None  # the columns are NOT NULL
    return rfc3339_utc(value)
