"""The hall's relational tables (SQLModel), kept by the projector and the case workflow.

The sync store holds what devices sent, signed and immutable; these tables are the hall's
working view of it and the hall's own decisions:

* ``hall_document`` — every device document the projector has seen (the projector's
  idempotency key: a document is projected once) and the receipt the server issued for it;
* ``hall_case``, ``hall_material`` — one row per case, its state and clocks; one per file;
* ``hall_supplement``, ``hall_delivery`` — supplements and deliveries, and what they did;
* ``hall_case_event`` — every transition (who, when, why) with the server-signed
  ``case_event`` it emits; ``published_at`` is the outbox flag (written to ``/sync/field``);
* ``hall_case_item`` — the items of a one-time notice or of an acceptance with deficiencies;
* ``hall_step_decision`` — each department's decision on an approval step;
* ``hall_suspension`` — the clock's stops (补正期间);
* ``hall_complaint`` — complaint escalations (办不成事) and their own clock;
* ``hall_idempotency`` — staff actions by ``Idempotency-Key``, with the reply they got;
* ``hall_projector_checkpoint`` — the projector's position in the changes feed;
* ``hall_station_event`` — mobile service station events (流动服务站) and the signed
  ``station_event`` each revision publishes (outbox: ``published_revision``);
* ``hall_notification`` — warnings and decisions raised for the notifier, with their
  delivery state (the notifier's outbox);
* the home-visit tables ``hall_visit_*``, in :mod:`.visits.tables`.

Every instant is stored as an aware UTC timestamp (SQLite gives them back naive:
:func:`utc` restores the zone). Tables are created with ``SQLModel.metadata.create_all``
for now; Alembic migrations replace that in a later step.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

__all__ = [
    "HallCase",
    "HallCaseTerm",
    "HallComplaint",
    "HallDelivery",
    "HallDocument",
    "HallEvent",
    "HallIdempotency",
    "HallItem",
    "HallMaterial",
    "HallNotification",
    "HallStationEvent",
    "HallStepDecision",
    "HallSupplement",
    "HallSuspension",
    "ProjectorCheckpoint",
    "create_hall_tables",
    "utc",
]


def utc(moment: datetime | None) -> datetime | None:
    """``moment`` as an aware UTC datetime (SQLite hands back naive values; we store UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _instant(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index),
    )


def _text(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=nullable))


class HallDocument(SQLModel, table=True):
    """A device document as the projector saw it (once), and its receipt."""

    __tablename__ = "hall_document"
    doc_id: str = Field(primary_key=True, max_length=200)
    type: str = Field(max_length=32)
    case_id: str | None = Field(default=None, max_length=200, index=True)
    rev: str = Field(max_length=200)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    agent_id: str = Field(max_length=200, index=True)
    device_id: str = Field(max_length=200)
    device_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    signed_sha256: str = Field(max_length=64)  # chain hash: SHA-256 of the signed bytes
    received_at: datetime = _instant(nullable=False)
    receipt_id: str | None = Field(default=None, max_length=200)


class HallCase(SQLModel, table=True):
    __tablename__ = "hall_case"
    # Every inbox filter has an index that ends in received_order, so a page walks it newest
    # first and stops after a page instead of sorting every match (bench/hall_bench.py).
    __table_args__ = (
        Index("ix_hall_case_state_order", "state", "received_order"),
        Index("ix_hall_case_matter_order", "matter_id", "received_order"),
        Index("ix_hall_case_grid_order", "grid_id", "received_order"),
        Index("ix_hall_case_station_order", "station_id", "received_order"),
        # The overdue list: open, not concluded, past the promised limit.
        Index("ix_hall_case_open_due", "closed", "concluded_at", "promised_due_at"),
    )
    id: str = Field(primary_key=True, max_length=200)
    # The store sequence at which the case first arrived: the inbox order and its keyset.
    received_order: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    rev: str = Field(max_length=200)
    matter_id: str = Field(max_length=64)
    catalog_version: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    agent_id: str = Field(max_length=200, index=True)
    device_id: str = Field(max_length=200)
    grid_id: str | None = Field(default=None, max_length=200)
    station_id: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(default=None, max_length=200)
    applicant_name: str = Field(max_length=100)
    applicant_address: str | None = Field(default=None, max_length=500)
    search_text: str = _text(nullable=False)  # lower-cased: id, name, address, matter
    filed_at: datetime = _instant(nullable=False)  # the device's created_at
    received_at: datetime = _instant(nullable=False)  # projected
    state: str = Field(max_length=40, index=True)
    state_changed_at: datetime = _instant(nullable=False)
    closed: bool = False  # a final state: refused, closed, withdrawn
    # Where a notice issued after acceptance returns the case when the supplement arrives.
    resume_state: str | None = Field(default=None, max_length=40)
    notices_issued: int = 0
    accepted_at: datetime | None = _instant()
    concluded_at: datetime | None = _instant()  # 办结: approved or denied
    result_ready_at: datetime | None = _instant()
    delivered_at: datetime | None = _instant()
    closed_at: datetime | None = _instant()
    current_step: int | None = None  # index into the matter's steps while in approval
    legal_due_at: datetime | None = _instant()
    promised_due_at: datetime | None = _instant()
    suspended: bool = False
    open_deficiencies: int = 0
    trips: int = 0  # 跑动次数: times the applicant had to come to the hall
    delivery_method: str | None = Field(default=None, max_length=16)
    rating: int | None = None
    open_complaints: int = 0
    events: int = 0  # number of transitions so far (the next event's ordinal)


class HallCaseTerm(SQLModel, table=True):
    """The inbox's text index (``search``): a bigram or whole word of a case's search text."""

    __tablename__ = "hall_case_term"
    term: str = Field(primary_key=True, max_length=200)
    received_order: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class HallMaterial(SQLModel, table=True):
    __tablename__ = "hall_material"
    __table_args__ = (UniqueConstraint("doc_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=200, index=True)
    doc_id: str = Field(max_length=200)  # the case or supplement that brought it
    name: str = Field(max_length=255)
    material_id: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    length: int = Field(sa_column=Column(BigInteger, nullable=False))
    content_type: str = Field(max_length=200)
    captured_at: str | None = Field(default=None, max_length=64)


class HallSupplement(SQLModel, table=True):
    __tablename__ = "hall_supplement"
    doc_id: str = Field(primary_key=True, max_length=200)
    case_id: str = Field(max_length=200, index=True)
    answers_event: str = Field(max_length=200)
    note: str | None = _text()
    received_at: datetime = _instant(nullable=False)
    # answered_notice | answered_deficiency | unmatched (no such case or event) | stale
    outcome: str = Field(max_length=32)
    resolved_items: int = 0


class HallDelivery(SQLModel, table=True):
    __tablename__ = "hall_delivery"
    id: str = Field(primary_key=True, max_length=200)  # the delivery doc id, or staff:<ulid>
    case_id: str = Field(max_length=200, index=True)
    source: str = Field(max_length=16)  # device | staff
    method: str = Field(max_length=16)
    delivered_at: datetime = _instant(nullable=False)
    recipient_name: str | None = Field(default=None, max_length=100)
    recipient_relation: str | None = Field(default=None, max_length=32)
    tracking_number: str | None = Field(default=None, max_length=100)
    rating: int | None = None
    comment: str | None = _text()
    received_at: datetime = _instant(nullable=False)
    outcome: str = Field(max_length=32)  # applied | ignored


class HallEvent(SQLModel, table=True):
    """One transition of a case, and the signed ``case_event`` it emits (if any)."""

    __tablename__ = "hall_case_event"
    __table_args__ = (
        UniqueConstraint("case_id", "ordinal"),
        Index("ix_hall_case_event_unpublished", "published_at", "at"),
    )
    id: str = Field(primary_key=True, max_length=200)  # case_event:<ULID> (or transition:…)
    case_id: str = Field(max_length=200, index=True)
    ordinal: int  # 1, 2, 3… per case
    action: str = Field(max_length=40)
    event: str | None = Field(default=None, max_length=40)  # the contract's event name
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str = Field(max_length=40)
    actor_kind: str = Field(max_length=16)  # staff | device | system
    actor_id: str = Field(max_length=200)
    by_role: str = Field(max_length=32)
    department: str | None = Field(default=None, max_length=64)
    reason: str | None = _text()
    legal_basis: str | None = _text()
    items: str | None = _text()  # JSON list, as in the signed document
    step_id: str | None = Field(default=None, max_length=64)
    decision: str | None = Field(default=None, max_length=16)
    at: datetime = _instant(nullable=False)
    document: str | None = _text()  # the signed case_event, JSON; None: no event emitted
    published_at: datetime | None = _instant()


class HallItem(SQLModel, table=True):
    """An item of a notice (补正) or of an acceptance with deficiencies (容缺)."""

    __tablename__ = "hall_case_item"
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=200, index=True)
    event_id: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=16)  # notice | deficiency
    material_id: str | None = Field(default=None, max_length=64)
    problem: str = Field(max_length=500)
    due: date | None = Field(default=None, sa_column=Column(Date))
    resolved_at: datetime | None = _instant()
    resolved_by: str | None = Field(default=None, max_length=200)  # the supplement


class HallStepDecision(SQLModel, table=True):
    __tablename__ = "hall_step_decision"
    __table_args__ = (UniqueConstraint("case_id", "step_id", "department"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=200, index=True)
    step_index: int
    step_id: str = Field(max_length=64)
    department: str = Field(max_length=64)
    decision: str = Field(max_length=16)  # approved | denied
    decided_by: str = Field(max_length=100)
    reason: str | None = _text()
    at: datetime = _instant(nullable=False)
    event_id: str = Field(max_length=200)


class HallSuspension(SQLModel, table=True):
    __tablename__ = "hall_suspension"
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=200, index=True)
    started_at: datetime = _instant(nullable=False)
    ended_at: datetime | None = _instant()
    started_by_event: str = Field(max_length=200)
    ended_by: str | None = Field(default=None, max_length=200)  # the supplement


class HallComplaint(SQLModel, table=True):
    """A complaint escalation (办不成事) with its own answer-by clock."""

    __tablename__ = "hall_complaint"
    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(max_length=200, index=True)
    complexity: str = Field(max_length=16)  # simple | general | complex
    reason: str = _text(nullable=False)
    opened_by: str = Field(max_length=100)
    opened_at: datetime = _instant(nullable=False)
    due_at: datetime = _instant(nullable=False)
    answered_at: datetime | None = _instant()
    answered_by: str | None = Field(default=None, max_length=100)
    answer: str | None = _text()


class HallIdempotency(SQLModel, table=True):
    """A staff action done under an ``Idempotency-Key``, and the reply it got."""

    __tablename__ = "hall_idempotency"
    username: str = Field(primary_key=True, max_length=100)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)  # SHA-256 of the canonical request
    case_id: str = Field(max_length=200)
    action: str = Field(max_length=40)
    status: int
    response: str = _text(nullable=False)  # JSON
    created_at: datetime = _instant(nullable=False)


class ProjectorCheckpoint(SQLModel, table=True):
    __tablename__ = "hall_projector_checkpoint"
    name: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _instant(nullable=False)


class HallStationEvent(SQLModel, table=True):
    """A mobile service station's event; ``document`` is the signed ``station_event`` of the
    current ``revision``, written into ``/sync/field`` once ``published_revision`` catches up."""

    __tablename__ = "hall_station_event"
    __table_args__ = (Index("ix_hall_station_event_station_start", "station_id", "starts_at"),)
    id: str = Field(primary_key=True, max_length=200)  # station_event:<ULID>
    station_id: str = Field(max_length=64)
    revision: int = 1
    status: str = Field(max_length=16)  # scheduled | cancelled
    title: str = Field(max_length=200)
    place_name: str = Field(max_length=200)
    place_address: str = Field(max_length=500)
    location: str | None = _text()  # JSON {"lat", "lon", "accuracy_m"}
    starts_at: datetime = _instant(nullable=False)
    ends_at: datetime = _instant(nullable=False)
    catalog_version: str = Field(max_length=32)
    departments: str = _text(nullable=False)  # JSON list of department ids
    matters: str = _text(nullable=False)  # JSON list of matter ids
    staff: str = _text(nullable=False)  # JSON list of {"agent_id", "name"}
    devices: str = _text(nullable=False)  # JSON list of device ids
    note: str | None = _text()
    cancel_reason: str | None = _text()
    created_by: str = Field(max_length=100)
    created_at: datetime = _instant(nullable=False)
    updated_by: str = Field(max_length=100)
    updated_at: datetime = _instant(nullable=False)
    document: str = _text(nullable=False)  # the signed station_event, JSON
    published_revision: int = Field(default=0, index=True)


class HallNotification(SQLModel, table=True):
    """A warning or decision raised for the notifier, and how its delivery went."""

    __tablename__ = "hall_notification"
    __table_args__ = (Index("ix_hall_notification_due", "state", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    # Raised once per key (a clock's warning, a transition's decision): a retried or repeated
    # raise is a no-op.
    key: str | None = Field(default=None, max_length=300, unique=True)
    kind: str = Field(max_length=40, index=True)  # decision | warning | overdue | …
    subject_type: str = Field(max_length=40)
    subject_id: str = Field(max_length=200, index=True)
    payload: str = _text(nullable=False)  # JSON
    created_at: datetime = _instant(nullable=False)
    state: str = Field(max_length=16)  # pending | delivered | failed
    notifier: str | None = Field(default=None, max_length=32)  # log | webhook
    attempts: int = 0
    next_attempt_at: datetime | None = _instant()
    claimed_until: datetime | None = _instant()  # a worker is delivering it until then
    last_error: str | None = _text()
    last_status: int | None = None  # the webhook's last HTTP status
    delivered_at: datetime | None = _instant()


HALL_TABLES = (
    HallDocument,
    HallCase,
    HallCaseTerm,
    HallMaterial,
    HallSupplement,
    HallDelivery,
    HallEvent,
    HallItem,
    HallStepDecision,
    HallSuspension,
    HallComplaint,
    HallIdempotency,
    ProjectorCheckpoint,
    HallStationEvent,
    HallNotification,
)


def create_hall_tables(engine: Engine) -> None:
    """Create the hall's tables that do not exist yet (until Alembic migrations replace it)."""
    from .visits.tables import VISIT_TABLES  # imported here: the visits' tables import this

    SQLModel.metadata.create_all(
        engine,
        tables=[model.__table__ for model in (*HALL_TABLES, *VISIT_TABLES)],  # type: ignore[union-attr]
    )
