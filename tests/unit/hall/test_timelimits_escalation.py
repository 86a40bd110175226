"""The complaint window's clock, the hotline's visit timers and the four-step ladder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldhall.server.hall.timelimits import (
    ComplaintComplexity,
    EscalationLadder,
    EscalationStep,
    InvalidClockInput,
    Milestone,
    Suspension,
    Urgency,
    WorkingCalendar,
    complaint_deadline,
    compute_deadline,
    escalation_step,
    hotline_timers,
)
from fieldhall.server.hall.timelimits.escalation import step_for_elapsed, step_for_working_days

CAL = WorkingCalendar()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("complexity", "answer_by"),
    [
        (ComplaintComplexity.SIMPLE, date(2025, 9, 30)),  # at once: the day it is received
        (ComplaintComplexity.GENERAL, date(2025, 10, 11)),  # 9, 10, 11 (Sat, worked) Oct
        (ComplaintComplexity.COMPLEX, date(2025, 10, 14)),  # ... 13, 14 Oct
    ],
)
def test_the_complaint_window_clock_across_national_day(
    complexity: ComplaintComplexity, answer_by: date
) -> None:
    timer = complaint_deadline(CAL, sh(2025, 9, 30, 15), complexity)
    assert timer.milestone is Milestone.ANSWERED
    assert timer.deadline is not None and timer.deadline.due_date == answer_by
    assert timer.due_at == sh(*answer_by.timetuple()[:3], 0) + timedelta(days=1)


def test_a_simple_hotline_ticket_during_the_spring_festival() -> None:
    asked = sh(2025, 1, 28, 9)  # New Year's Eve, a holiday: the minutes still run
    dispatched, taken, closed = hotline_timers(CAL, asked, Urgency.SIMPLE)
    assert dispatched.milestone is Milestone.DISPATCHED
    assert dispatched.due_at == sh(2025, 1, 28, 9, 5)
    assert taken.milestone is Milestone.TAKEN and taken.due_at == sh(2025, 1, 28, 9, 30)
    # Closed within 5 working days: 5, 6, 7, 8 (Sat, worked), 10 Feb.
    assert closed.milestone is Milestone.CLOSED
    assert closed.deadline is not None and closed.deadline.due_date == date(2025, 2, 10)
    assert closed.due_at == datetime(2025, 2, 10, 16, tzinfo=UTC)
    assert all(t.started_at == asked for t in (dispatched, taken, closed))


def test_an_urgent_hotline_ticket_runs_on_the_wall_clock() -> None:
    asked = sh(2025, 10, 1, 22)  # National Day night
    on_site, closed = hotline_timers(CAL, asked, Urgency.URGENT)
    assert (on_site.milestone, on_site.due_at) == (Milestone.ON_SITE, sh(2025, 10, 2, 0))
    assert (closed.milestone, closed.due_at) == (Milestone.CLOSED, sh(2025, 10, 2, 10))
    assert on_site.deadline is None and closed.deadline is None


def test_a_milestone_meets_its_timer_strictly_before_the_due_instant() -> None:
    dispatched = hotline_timers(CAL, sh(2025, 3, 10, 9), Urgency.SIMPLE)[0]
    assert dispatched.met(sh(2025, 3, 10, 9, 4))
    assert not dispatched.met(sh(2025, 3, 10, 9, 5))


def test_the_ladder_on_a_working_day_clock_counts_whole_working_days() -> None:
    closed = hotline_timers(CAL, sh(2025, 2, 3), Urgency.SIMPLE)[2]
    assert closed.deadline is not None and closed.deadline.due_date == date(2025, 2, 10)
    expected = [
        (sh(2025, 2, 10, 23, 59), EscalationStep.NONE),
        (sh(2025, 2, 11, 0, 0), EscalationStep.PHONE_REMINDER),
        (sh(2025, 2, 11, 23, 59), EscalationStep.PHONE_REMINDER),
        (sh(2025, 2, 12, 0, 0), EscalationStep.WRITTEN_NOTICE),  # 11 Feb has passed
        (sh(2025, 2, 13, 23, 0), EscalationStep.WRITTEN_NOTICE),
        (sh(2025, 2, 14, 0, 0), EscalationStep.TALK),  # 11, 12, 13 Feb
        (sh(2025, 2, 16, 12, 0), EscalationStep.TALK),  # the weekend does not count
        (sh(2025, 2, 17, 23, 0), EscalationStep.TALK),
        (sh(2025, 2, 18, 0, 0), EscalationStep.ONSITE_SUPERVISION),  # 11–14, 17 Feb
    ]
    assert [escalation_step(closed, now) for now, _ in expected] == [s for _, s in expected]


def test_the_ladder_waits_out_a_holiday() -> None:
    timer = complaint_deadline(CAL, sh(2025, 9, 30), ComplaintComplexity.SIMPLE)
    assert escalation_step(timer, sh(2025, 10, 1, 0)) is EscalationStep.PHONE_REMINDER
    assert escalation_step(timer, sh(2025, 10, 8, 23)) is EscalationStep.PHONE_REMINDER
    assert escalation_step(timer, sh(2025, 10, 10, 0)) is EscalationStep.WRITTEN_NOTICE


def test_the_ladder_pauses_while_the_applicant_holds_a_late_case() -> None:
    late = compute_deadline(
        CAL, sh(2025, 3, 3), 5, [Suspension(sh(2025, 3, 11, 9), sh(2025, 3, 21, 9))]
    )
    assert late.due_date == date(2025, 3, 10)
    expected = [
        (sh(2025, 3, 11, 12), EscalationStep.PHONE_REMINDER),
        (sh(2025, 3, 12, 0), EscalationStep.WRITTEN_NOTICE),  # 11 Mar began on the clock
        (sh(2025, 3, 20, 12), EscalationStep.WRITTEN_NOTICE),  # 12–20 Mar: the applicant's
        (sh(2025, 3, 25, 0), EscalationStep.WRITTEN_NOTICE),  # 21 Mar theirs too; 24 counts
        (sh(2025, 3, 26, 0), EscalationStep.TALK),  # 11, 24, 25 Mar
    ]
    assert [escalation_step(late, now) for now, _ in expected] == [s for _, s in expected]


def test_the_ladder_on_a_minute_clock() -> None:
    on_site = hotline_timers(CAL, sh(2025, 3, 10, 10), Urgency.URGENT)[0]  # due 12:00
    expected = [
        (sh(2025, 3, 10, 11, 59), EscalationStep.NONE),
        (sh(2025, 3, 10, 12, 0), EscalationStep.PHONE_REMINDER),
        (sh(2025, 3, 10, 13, 0), EscalationStep.WRITTEN_NOTICE),
        (sh(2025, 3, 10, 16, 0), EscalationStep.TALK),
        (sh(2025, 3, 11, 0, 0), EscalationStep.ONSITE_SUPERVISION),
    ]
    assert [escalation_step(on_site, now) for now, _ in expected] == [s for _, s in expected]


def test_the_steps_as_plain_functions_and_a_hall_s_own_ladder() -> None:
    assert step_for_elapsed(timedelta(seconds=-1)) is EscalationStep.NONE
    assert step_for_elapsed(timedelta(0)) is EscalationStep.PHONE_REMINDER
    assert [step_for_working_days(d) for d in range(7)] == [1, 2, 2, 3, 3, 4, 4]
    strict = EscalationLadder(written_notice_days=2, talk_days=4, onsite_days=10)
    assert step_for_working_days(9, strict) is EscalationStep.TALK
    assert EscalationStep.ONSITE_SUPERVISION.label_zh == "现场督办"
    labels = [step.label_zh for step in EscalationStep][1:]
    assert labels == ["电话提醒", "书面函告", "会商约谈", "现场督办"]


@pytest.mark.parametrize(
    "ladder",
    [
        {"written_notice_days": 0},
        {"talk_days": 1},
        {"onsite_days": 3},
        {"written_notice_after": timedelta(0)},
        {"onsite_after": timedelta(hours=4)},
    ],
)
def test_a_ladder_out_of_order_is_refused(ladder: dict[str, object]) -> None:
    with pytest.raises(InvalidClockInput):
        EscalationLadder(**ladder)  # type: ignore[arg-type]


def test_a_naive_now_is_refused() -> None:
    timer = hotline_timers(CAL, sh(2025, 3, 10), Urgency.URGENT)[0]
    with pytest.raises(InvalidClockInput):
        escalation_step(timer, datetime(2025, 3, 10, 12))
    with pytest.raises(InvalidClockInput):
        hotline_timers(CAL, datetime(2025, 3, 10, 12), Urgency.URGENT)
