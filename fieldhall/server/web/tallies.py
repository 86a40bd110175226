"""Cases counted per state (the inbox's tabs), per grid and per matter (the supervision
page): one GROUP BY each.

This belongs with ``hall.reports`` (and a REST report of its own) when the reports module is
next extended; it lives here until then so no two helpers edit that module at once.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from ..hall.tables import HallCase

__all__ = ["cases_per_grid", "cases_per_matter", "cases_per_state"]


def cases_per_grid(session: Session, limit: int = 12) -> list[tuple[str | None, int]]:
    count = func.count(col(HallCase.id))
    rows = session.exec(
        select(HallCase.grid_id, count).group_by(HallCase.grid_id).order_by(count.desc())
    ).all()
    return [(grid, int(n)) for grid, n in rows[:limit]]


def cases_per_matter(session: Session) -> list[tuple[str, int]]:
    count = func.count(col(HallCase.id))
    rows = session.exec(
        select(HallCase.matter_id, count).group_by(HallCase.matter_id).order_by(count.desc())
    ).all()
    return [(matter, int(n)) for matter, n in rows]


def cases_per_state(session: Session) -> dict[str, int]:
    count = func.count(col(HallCase.id))
    rows = session.exec(select(HallCase.state, count).group_by(HallCase.state)).all()
    return {state: int(n) for state, n in rows}
