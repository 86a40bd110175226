"""The on-time rate (按期办结率)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fieldhall.server.hall.timelimits import (
    CaseOutcome,
    Suspension,
    WorkingCalendar,
    compute_deadline,
    on_time_rate,
)

DUE = datetime(2025, 3, 17, 16, tzinfo=UTC)
AS_OF = datetime(2025, 4, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_each_kind_of_case_lands_in_its_own_count() -> None:
    report = on_time_rate(
        [
            CaseOutcome(DUE, DUE - SECOND),  # on time
            CaseOutcome(DUE, DUE - timedelta(days=3)),  # on time
            CaseOutcome(DUE, DUE),  # late: concluded at the due instant
            CaseOutcome(DUE),  # open and overdue
            CaseOutcome(AS_OF + SECOND),  # open, not yet due
            CaseOutcome(None),  # open, clock stopped with days in hand
            CaseOutcome(None, DUE, has_limit=False),  # matter without this limit
            CaseOutcome(None, AS_OF - SECOND),  # concluded while stopped: on time
        ],
        as_of=AS_OF,
    )
    assert (report.on_time, report.late, report.overdue_open) == (3, 1, 1)
    assert (report.pending, report.excluded) == (2, 1)
    assert report.judged == 5 and report.rate == 3 / 5


def test_a_report_as_of_a_past_instant_ignores_later_conclusions() -> None:
    outcome = CaseOutcome(DUE, DUE + timedelta(days=2))
    before_due = on_time_rate([outcome], as_of=DUE - SECOND)
    assert (before_due.pending, before_due.rate) == (1, None)
    overdue = on_time_rate([outcome], as_of=DUE + SECOND)
    assert (overdue.overdue_open, overdue.rate) == (1, 0.0)
    after = on_time_rate([outcome], as_of=AS_OF)
    assert (after.late, after.overdue_open) == (1, 0)


def test_an_empty_set_has_no_rate() -> None:
    report = on_time_rate([], as_of=AS_OF)
    assert report.judged == 0 and report.rate is None


def test_outcomes_from_deadlines() -> None:
    cal = WorkingCalendar()
    accepted = datetime(2025, 3, 10, 2, tzinfo=UTC)
    met = compute_deadline(cal, accepted, 5)
    stopped = compute_deadline(cal, accepted, 5, [Suspension(accepted + timedelta(days=1))])
    report = on_time_rate(
        [
            CaseOutcome.of(met, met.due_at - SECOND if met.due_at else None),
            CaseOutcome.of(stopped),
            CaseOutcome.of(None, AS_OF - SECOND),
        ],
        as_of=AS_OF,
    )
    assert (report.on_time, report.pending, report.excluded, report.rate) == (1, 1, 1, 1.0)
