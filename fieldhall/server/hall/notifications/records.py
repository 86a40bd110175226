"""Notification records: raising one (:func:`notify`), in the caller's transaction, and
reading them back.

A notification is a row of ``hall_notification`` written in the same transaction as what it
reports — a transition, a clock's warning, a home-visit escalation — so it exists exactly when
that did, and a staff action or the projector never waits for a receiver: delivery is the
background dispatcher's business (:mod:`.dispatcher`), at least once, recorded per row.

Calling it from another module::

    from fieldhall.server.hall.notifications import notify

    notify(tx, "escalation", Subject("visit_request", request_id), {"step": 2, ...},
           key=f"visit:{request_id}:escalation:2")

``tx`` is the caller's :class:`~fieldhall.server.hall.context.Tx` (or a plain ``Session``);
``key`` makes raising idempotent — the same key again returns the row already raised, so a
retried batch or a sweep that runs every minute raises each thing once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fieldhall.field_app_api.clock import now, rfc3339

from ..audit import Actor, Subject, append
from ..context import Tx
from ..errors import BadRequest, Conflict, NotFound
from ..tables import HallCase, HallEvent, HallNotification, utc

__all__ = [
    "DECISION_EVENTS",
    "MAX_PAYLOAD",
    "PENDING",
    "decision_payload",
    "envelope",
    "list_notifications",
    "notification_json",
    "notify",
    "raise_decision",
    "requeue",
]

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATES = (PENDING, DELIVERED, FAILED)

# The case events that are decisions someone outside the hall acts on (the applicant's SMS,
# the agent's team lead, e-supervision); ``received``, ``pre_review_passed`` and each
# department's ``step_decided`` are steps of the work, not decisions on the application.
DECISION_EVENTS = frozenset(
    {
        "notice",
        "accepted",
        "accepted_with_deficiencies",
        "refused",
        "approved",
        "denied",
        "result_ready",
        "closed",
        "withdrawn",
    }
)

MAX_PAYLOAD = 64 * 1024  # bytes of JSON: a notification points at things, it does not carry them
_KIND = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")


def notify(
    tx: Tx | Session,
    kind: str,
    subject: Subject | tuple[str, str],
    payload: Mapping[str, Any],
    *,
    key: str | None = None,
    at: datetime | None = None,
) -> HallNotification:
    """Raise a notification of ``kind`` about ``subject`` in the caller's transaction.

    ``kind`` is a short lower-case name (``decision``, ``warning``, ``overdue``,
    ``escalation``…); ``payload`` a JSON object of at most :data:`MAX_PAYLOAD` bytes, with
    no personal data beyond what a receiver needs (receivers look the rest up). With ``key``
    the notification is raised once: the row already raised under it is returned.
    """
    session = tx.session if isinstance(tx, Tx) else tx
    moment = at or (tx.at if isinstance(tx, Tx) else now())
    row = _new_row(kind, subject, payload, key, moment)
    if key is not None:
        existing = _by_key(session, key)
        if existing is not None:
            return existing
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another transaction raised the same key in between: theirs stands.
        existing = _by_key(session, key) if key is not None else None
        if existing is None:
            raise
        return existing
    return row


def notify_many(
    session: Session,
    notices: Sequence[tuple[str, Subject | tuple[str, str], Mapping[str, Any], str]],
    at: datetime,
) -> int:
    """Raise many keyed notifications, ``(kind, subject, payload, key)`` each, as
    :func:`notify` would one by one, but in one multi-row insert when none of the keys is
    taken (a sweep's burst); returns how many were raised."""
    rows = [_new_row(kind, subject, payload, key, at) for kind, subject, payload, key in notices]
    taken = taken_keys(session, [key for _, _, _, key in notices])
    rows = [row for row in rows if row.key not in taken]
    try:
        with session.begin_nested():
            session.add_all(rows)
        return len(rows)
    except IntegrityError:
        pass  # another worker raised some of them meanwhile: one by one, theirs stand
    fresh = {row.key for row in rows}
    raised = 0
    for kind, subject, payload, key in notices:
        if key in fresh:
            raised += notify(session, kind, subject, payload, key=key, at=at).created_at is at
    return raised


def taken_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` were raised already (in chunks: SQLite bounds a statement's
    parameters)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        found.update(
            key
            for key in session.exec(
                select(HallNotification.key).where(col(HallNotification.key).in_(chunk))
            )
            if key is not None
        )
    return found


def _new_row(
    kind: str,
    subject: Subject | tuple[str, str],
    payload: Mapping[str, Any],
    key: str | None,
    at: datetime,
) -> HallNotification:
    if not _KIND.match(kind):
        raise ValueError(f"notification kind {kind!r}: 1-40 of a-z, 0-9, '_', '.'")
    body = orjson.dumps(dict(payload))
    if len(body) > MAX_PAYLOAD:
        raise ValueError(f"notification payload of {len(body)} bytes (at most {MAX_PAYLOAD})")
    subject_type, subject_id = (
        (subject.type, subject.id) if isinstance(subject, Subject) else subject
    )
    return HallNotification(
        key=key,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=body.decode(),
        created_at=at,
        state=PENDING,
        next_attempt_at=at,
    )


def _by_key(session: Session, key: str) -> HallNotification | None:
    return session.exec(select(HallNotification).where(HallNotification.key == key)).first()


def decision_payload(case: HallCase, event: HallEvent) -> dict[str, Any]:
    """What a decision notification says: the case, the event, who decided and why."""
    return {
        "case_id": case.id,
        "event": event.event,
        "event_id": event.id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "matter_id": case.matter_id,
        "agent_id": case.agent_id,
        "grid_id": case.grid_id,
        "station_id": case.station_id,
        "by_role": event.by_role,
        "actor": event.actor_id,
        "department": event.department,
        "reason": event.reason,
        "legal_basis": event.legal_basis,
        "items": orjson.loads(event.items) if event.items else None,
        "at": rfc3339(utc(event.at)),
    }


def raise_decision(tx: Tx, case: HallCase, event: HallEvent) -> HallNotification | None:
    """The decision notification of a transition, if its event is a decision."""
    if event.event not in DECISION_EVENTS:
        return None
    return notify(
        tx,
        "decision",
        Subject("case", case.id),
        decision_payload(case, event),
        key=f"decision:{event.id}",
    )


def envelope(row: HallNotification) -> dict[str, Any]:
    """The notification as notifiers send it (the webhook's JSON body)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": {"type": row.subject_type, "id": row.subject_id},
        "created_at": rfc3339(utc(row.created_at)),
        "payload": orjson.loads(row.payload),
    }


def notification_json(row: HallNotification) -> dict[str, Any]:
    """The notification with its delivery state (the staff API)."""
    return {
        **envelope(row),
        "delivery": {
            "state": row.state,
            "notifier": row.notifier,
            "attempts": row.attempts,
            "next_attempt_at": rfc3339(utc(row.next_attempt_at)) if row.state == PENDING else None,
            "last_status": row.last_status,
            "last_error": row.last_error,
            "delivered_at": rfc3339(utc(row.delivered_at)),
        },
    }


def list_notifications(
    session: Session,
    *,
    kind: str | None = None,
    state: str | None = None,
    subject_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[HallNotification], str | None]:
    """Newest first, keyset-paged by id; the second value is the next page's cursor."""
    if not 1 <= limit <= 500:
        raise BadRequest("notification.bad_request", "limit is 1 to 500")
    if state is not None and state not in STATES:
        raise BadRequest("notification.bad_request", f"state is one of {', '.join(STATES)}")
    query = select(HallNotification)
    if kind:
        query = query.where(HallNotification.kind == kind)
    if state:
        query = query.where(HallNotification.state == state)
    if subject_id:
        query = query.where(HallNotification.subject_id == subject_id)
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 18:
            raise BadRequest("notification.bad_cursor", "not a cursor of this list")
        query = query.where(col(HallNotification.id) < int(cursor))
    rows = list(session.exec(query.order_by(col(HallNotification.id).desc()).limit(limit + 1)))
    following = str(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], following


def requeue(session: Session, notification_id: int, by: str) -> HallNotification:
    """Make a notification that failed for good pending again, its attempts counted afresh
    (audited: who sent it again)."""
    row = session.exec(
        select(HallNotification).where(HallNotification.id == notification_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound("notification.not_found", f"no notification {notification_id}")
    if row.state != FAILED:
        raise Conflict("notification.not_failed", f"the notification is {row.state}, not failed")
    at = now()
    row.state = PENDING
    row.attempts = 0
    row.next_attempt_at = at
    row.claimed_until = None
    session.add(row)
    session.flush()
    append(
        session,
        Actor.staff(by),
        "notification.requeued",
        Subject("notification", str(notification_id)),
        {"kind": row.kind, "last_error": row.last_error},
        at=at,
    )
    return row
