"""A case's clocks from its rows: the legal and promised limits of the catalog version it was
filed under, counted from acceptance, minus its suspensions (``timelimits`` does the
counting; this module only gathers the inputs)."""

from __future__ import annotations

from sqlmodel import Session, select

from fieldhall.schemas import Matter, load_catalog

from .tables import HallCase, HallSuspension, utc
from .timelimits import CaseDeadlines, Suspension, WorkingCalendar, compute_case_deadlines

__all__ = ["case_deadlines", "matter_of"]


def matter_of(case: HallCase) -> Matter:
    """The matter as the catalog version the case was filed under defines it."""
    return load_catalog(case.catalog_version).matter(case.matter_id)


def case_deadlines(
    session: Session, case: HallCase, calendar: WorkingCalendar
) -> CaseDeadlines | None:
    """The case's two deadlines, or None before acceptance (the clock has not started)."""
    accepted_at = utc(case.accepted_at)
    if accepted_at is None:
        return None
    suspensions = [
        Suspension(utc(s.started_at) or accepted_at, utc(s.ended_at))
        for s in session.exec(select(HallSuspension).where(HallSuspension.case_id == case.id))
    ]
    limits = matter_of(case).limits
    return compute_case_deadlines(
        calendar,
        accepted_at,
        legal_days=limits.legal_days,
        promised_days=limits.promised_days,
        suspensions=suspensions,
    )
