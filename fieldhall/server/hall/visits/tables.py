"""The home-visit tables (SQLModel), created with the hall's (``create_hall_tables``):

* ``hall_visit_request`` — one row per request: who asked, for whom, the grid and agent it
  is dispatched to, its state, when each milestone was reached, its due instants, and the
  server-signed ``visit_request`` document with its outbox counters (``version`` is the
  document's version, ``published_version`` the one written into ``/sync/field``);
* ``hall_visit_update`` — every ``visit_update`` a device sent, and what it did (``outcome``:
  applied, or why not);
* ``hall_visit_escalation`` — each step of the four-step ladder a lapsed timer reached;
  unique per (request, milestone, step), which makes the sweep idempotent;
* ``hall_visit_case`` — the cases filed on a visit (the case's ``request_id``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..tables import _instant, _text

__all__ = [
    "VISIT_TABLES",
    "HallVisitCase",
    "HallVisitEscalation",
    "HallVisitRequest",
    "HallVisitUpdate",
]


class HallVisitRequest(SQLModel, table=True):
    __tablename__ = "hall_visit_request"
    __table_args__ = (
        Index("ix_hall_visit_request_order", "created_at", "id"),
        Index("ix_hall_visit_request_open_due", "is_open", "next_due_at"),
    )
    id: str = Field(primary_key=True, max_length=200)  # visit_request:<ULID>, the doc id
    source: str = Field(max_length=16)  # hotline | community | family | resident | hall
    urgency: str = Field(max_length=16)  # simple | urgent
    ticket: str | None = Field(default=None, max_length=100)  # the hotline's ticket number
    resident_name: str = Field(max_length=100)
    resident_address: str = Field(max_length=500)
    resident_phone: str | None = Field(default=None, max_length=32)  # sealed in the document
    matter_id: str | None = Field(default=None, max_length=64)
    note: str | None = _text()
    grid_id: str | None = Field(default=None, max_length=200, index=True)
    assigned_agent_id: str | None = Field(default=None, max_length=200, index=True)
    state: str = Field(max_length=20, index=True)
    is_open: bool = True  # not done, not cancelled: its timers run
    created_by: str = Field(max_length=100)
    requested_at: datetime = _instant(nullable=False)  # when the resident asked: timers start
    created_at: datetime = _instant(nullable=False)
    dispatched_at: datetime | None = _instant()
    taken_at: datetime | None = _instant()
    on_site_at: datetime | None = _instant()
    closed_at: datetime | None = _instant()  # done
    cancelled_at: datetime | None = _instant()
    cancel_reason: str | None = _text()
    dispatch_by: datetime | None = _instant()
    take_by: datetime = _instant(nullable=False)
    on_site_by: datetime | None = _instant()
    close_by: datetime = _instant(nullable=False)
    next_due_at: datetime | None = _instant()  # earliest due instant of an unmet timer
    escalation_step: int = 0  # the highest step any of its timers reached
    updates: int = 0  # visit updates applied
    version: int = 0  # of the signed document; 0 while not dispatched
    published_version: int = 0
    document: str | None = _text()  # the signed visit_request (JSON) at ``version``
    deleted: bool = False  # the document is a tombstone (cancelled)


class HallVisitUpdate(SQLModel, table=True):
    __tablename__ = "hall_visit_update"
    doc_id: str = Field(primary_key=True, max_length=200)  # the visit_update document
    request_id: str = Field(max_length=200, index=True)
    agent_id: str = Field(max_length=200)
    device_id: str = Field(max_length=200)
    status: str = Field(max_length=20)
    at: datetime = _instant(nullable=False)  # as the device signed it
    note: str | None = _text()
    location: str | None = _text()  # JSON
    received_at: datetime = _instant(nullable=False)
    # applied | unknown_request | other_grid | not_assigned | closed | not_dispatched
    outcome: str = Field(max_length=20)


class HallVisitEscalation(SQLModel, table=True):
    __tablename__ = "hall_visit_escalation"
    __table_args__ = (UniqueConstraint("request_id", "milestone", "step"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=200, index=True)
    milestone: str = Field(max_length=16)  # dispatched | taken | on_site | closed
    step: int  # 1..4, EscalationStep
    addressee: str = Field(max_length=16)  # agent | grid | clerk | supervisor | leadership
    addressee_id: str | None = Field(default=None, max_length=200)
    due_at: datetime = _instant(nullable=False)
    at: datetime = _instant(nullable=False)


class HallVisitCase(SQLModel, table=True):
    __tablename__ = "hall_visit_case"
    case_id: str = Field(primary_key=True, max_length=200)
    request_id: str = Field(max_length=200, index=True)
    agent_id: str = Field(max_length=200)
    linked_at: datetime = _instant(nullable=False)
    outcome: str = Field(max_length=20)  # linked | unknown_request | other_grid


VISIT_TABLES = (HallVisitRequest, HallVisitUpdate, HallVisitEscalation, HallVisitCase)
