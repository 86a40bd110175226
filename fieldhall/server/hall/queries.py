"""Finding cases: the inbox list with its filters and keyset paging.

Cases are listed newest first by ``received_order`` (the store sequence at which each case
arrived: unique and increasing), and a page's cursor is the last order it showed, so a page
costs what it returns however deep it is and rows arriving meanwhile never shift a page.

``overdue`` means: not concluded, not final, and past the promised limit (承诺时限, the
hall's own commitment, never later than the legal one) — the supervisors' red list.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from .errors import BadRequest
from .search import is_complete, like_pattern, query_terms, rarest_term
from .tables import HallCase, HallCaseTerm

__all__ = ["MAX_PAGE", "CaseFilter", "decode_cursor", "encode_cursor", "iter_cases", "list_cases"]

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class CaseFilter:
    state: str | None = None
    matter: str | None = None
    grid: str | None = None
    station: str | None = None
    overdue: bool | None = None
    text: str | None = None


def encode_cursor(order: int) -> str:
    return base64.urlsafe_b64encode(str(order).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return int(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("case.bad_cursor", "the cursor is not one this server gave") from None


def _query(session: Session, filters: CaseFilter, now: datetime) -> tuple[Any, Any]:
    """The query and the column it is ordered (and paged) by."""
    query = select(HallCase)
    order = col(HallCase.received_order)
    if filters.state:
        query = query.where(HallCase.state == filters.state)
    if filters.matter:
        query = query.where(HallCase.matter_id == filters.matter)
    if filters.grid:
        query = query.where(HallCase.grid_id == filters.grid)
    if filters.station:
        query = query.where(HallCase.station_id == filters.station)
    if filters.overdue is not None:
        late = (
            col(HallCase.closed).is_(False)
            & col(HallCase.concluded_at).is_(None)
            & col(HallCase.promised_due_at).is_not(None)
            & (col(HallCase.promised_due_at) <= now)
        )
        query = query.where(late if filters.overdue else ~late)
    if filters.text and filters.text.strip():
        query = query.where(col(HallCase.search_text).like(like_pattern(filters.text), escape="\\"))
        terms = query_terms(filters.text)
        if terms:
            term, postings = rarest_term(session, terms)
            if postings or is_complete(terms):
                # Walk the rarest term's postings newest first; LIKE confirms each.
                query = query.join(
                    HallCaseTerm,
                    (col(HallCaseTerm.term) == term)
                    & (col(HallCaseTerm.received_order) == col(HallCase.received_order)),
                )
                order = col(HallCaseTerm.received_order)
    return query, order


def list_cases(
    session: Session,
    filters: CaseFilter,
    now: datetime,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[HallCase], str | None]:
    """A page of cases (newest first) and the cursor of the next page (None at the end)."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest("case.bad_limit", f"limit is 1 to {MAX_PAGE}")
    query, order = _query(session, filters, now)
    if cursor:
        query = query.where(order < decode_cursor(cursor))
    rows = list(session.exec(query.order_by(order.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].received_order) if more and rows else None


def iter_cases(
    session: Session, filters: CaseFilter, now: datetime, *, batch: int = MAX_PAGE
) -> Iterator[HallCase]:
    """Every matching case, newest first, read page by page (for exports)."""
    cursor: str | None = None
    while True:
        rows, cursor = list_cases(session, filters, now, limit=batch, cursor=cursor)
        yield from rows
        if cursor is None:
            return
