"""Deadlines: counted from the day after acceptance, days ending at midnight Asia/Shanghai,
suspension while waiting for the applicant, warnings, and the on-time verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldhall.server.hall.timelimits import (
    CalendarWarning,
    ClockStatus,
    InvalidClockInput,
    Suspension,
    WarningPolicy,
    WorkingCalendar,
    compute_case_deadlines,
    compute_deadline,
)
from fieldhall.server.hall.timelimits.localday import day_start

CAL = WorkingCalendar()  # the package's years; no hand-kept announcements
SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """An instant given as Asia/Shanghai wall time, returned in UTC (as stored)."""
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


def midnight_after(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 16, tzinfo=UTC)  # 00:00 +08:00 next day


# (accepted on, working days, last day of the limit)
ACROSS_HOLIDAYS = [
    # Spring Festival 2025: 28 Jan – 4 Feb off, Saturday 8 Feb worked.
    (date(2025, 1, 27), 5, date(2025, 2, 10)),
    (date(2025, 1, 24), 1, date(2025, 1, 26)),  # the worked Sunday
    (date(2025, 1, 24), 3, date(2025, 2, 5)),
    (date(2025, 1, 30), 1, date(2025, 2, 5)),  # accepted during the holiday
    (date(2025, 2, 7), 1, date(2025, 2, 8)),  # the worked Saturday
    # Qingming 2025: 4–6 Apr off.
    (date(2025, 4, 3), 1, date(2025, 4, 7)),
    # May Day 2025: 1–5 May off, Sunday 27 Apr worked.
    (date(2025, 4, 25), 3, date(2025, 4, 29)),
    (date(2025, 4, 25), 5, date(2025, 5, 6)),
    # Dragon Boat 2025: 31 May – 2 Jun off.
    (date(2025, 5, 30), 1, date(2025, 6, 3)),
    # National Day + Mid-Autumn 2025: 1–8 Oct off; Sunday 28 Sep, Saturday 11 Oct worked.
    (date(2025, 9, 26), 5, date(2025, 10, 10)),
    (date(2025, 9, 26), 6, date(2025, 10, 11)),
    (date(2025, 9, 30), 1, date(2025, 10, 9)),
    # New Year 2026: 1–3 Jan off, Sunday 4 Jan worked.
    (date(2025, 12, 31), 3, date(2026, 1, 6)),
    # Spring Festival 2026: 15–23 Feb off; Saturdays 14 and 28 Feb worked.
    (date(2026, 2, 13), 2, date(2026, 2, 24)),
    (date(2026, 2, 13), 5, date(2026, 2, 27)),
    (date(2026, 2, 13), 6, date(2026, 2, 28)),
    # National Day 2026: 1–7 Oct off; Saturday 10 Oct worked.
    (date(2026, 9, 30), 1, date(2026, 10, 8)),
    (date(2026, 9, 30), 3, date(2026, 10, 10)),
    # A legal limit of 20 working days over the whole 2025 National Day.
    (date(2025, 9, 15), 20, date(2025, 10, 17)),
]


@pytest.mark.parametrize(("accepted_on", "n", "last_day"), ACROSS_HOLIDAYS, ids=str)
def test_a_deadline_across_the_holidays(accepted_on: date, n: int, last_day: date) -> None:
    for hour in (0, 10, 23):  # the hour of acceptance never matters, only its date
        deadline = compute_deadline(CAL, sh(*accepted_on.timetuple()[:3], hour), n)
        assert deadline.due_date == last_day
        assert deadline.due_at == midnight_after(last_day)
        assert deadline.warnings == ()
        assert deadline.stopped_working_days == 0


def test_the_2025_spring_festival_example_in_utc() -> None:
    deadline = compute_deadline(CAL, datetime(2025, 1, 27, 2, 0, tzinfo=UTC), 5)
    assert deadline.due_at == datetime(2025, 2, 10, 16, 0, tzinfo=UTC)
    assert deadline.due_at.tzinfo is UTC


def test_acceptance_at_2359_and_0001_shanghai_fall_on_different_days() -> None:
    late = sh(2025, 3, 10, 23, 59)  # Monday night
    early = sh(2025, 3, 11, 0, 1)  # Tuesday, first minute
    assert late.date() == early.date() == date(2025, 3, 10)  # the same UTC date...
    assert compute_deadline(CAL, late, 5).due_date == date(2025, 3, 17)
    assert compute_deadline(CAL, early, 5).due_date == date(2025, 3, 18)  # ...not the same day
    # Across a holiday the two may land alike: 27 Jan 23:59 and 28 Jan 00:01 (a holiday).
    assert compute_deadline(CAL, sh(2025, 1, 27, 23, 59), 5).due_date == date(2025, 2, 10)
    assert compute_deadline(CAL, sh(2025, 1, 28, 0, 1), 5).due_date == date(2025, 2, 10)


def test_the_due_instant_is_the_next_midnight_in_shanghai() -> None:
    deadline = compute_deadline(CAL, sh(2025, 3, 10), 5)
    assert deadline.due_at is not None
    assert deadline.due_at.astimezone(SHANGHAI) == datetime(2025, 3, 18, tzinfo=SHANGHAI)
    assert deadline.concluded_on_time(deadline.due_at - timedelta(microseconds=1))
    assert not deadline.concluded_on_time(deadline.due_at)


def test_an_input_in_any_time_zone_is_read_as_its_instant() -> None:
    local = datetime(2025, 3, 11, 0, 1, tzinfo=SHANGHAI)
    assert compute_deadline(CAL, local, 5).accepted_at == local.astimezone(UTC)
    assert compute_deadline(CAL, local, 5).due_date == date(2025, 3, 18)


def test_a_zero_day_limit_is_due_at_the_end_of_the_acceptance_day() -> None:
    assert compute_deadline(CAL, sh(2025, 3, 10), 0).due_at == midnight_after(date(2025, 3, 10))
    # Accepted at a weekend mobile station: still the same day (即办, catalog "Limits").
    assert compute_deadline(CAL, sh(2025, 3, 15), 0).due_date == date(2025, 3, 15)
    assert compute_deadline(CAL, sh(2025, 3, 10), 0).status(sh(2025, 3, 10, 11)) == "warning"


# -- suspension (补正期间) ---------------------------------------------------------------

ACCEPTED = sh(2025, 9, 24)  # Wednesday; 5 working days: 25, 26, 28 (Sun), 29, 30 Sep


def test_without_suspension() -> None:
    assert compute_deadline(CAL, ACCEPTED, 5).due_date == date(2025, 9, 30)


def test_a_suspension_across_national_day_stops_only_working_days() -> None:
    # Notice out Friday 26 Sep 10:00, materials back Thursday 9 Oct 15:00.
    deadline = compute_deadline(
        CAL, ACCEPTED, 5, [Suspension(sh(2025, 9, 26, 10), sh(2025, 10, 9, 15))]
    )
    # 25 and 26 Sep count (the clock ran when they began); 28, 29, 30 Sep and 9 Oct do not;
    # the holiday never counted. Then 10, 11 (Sat, worked) and 13 Oct.
    assert deadline.due_date == date(2025, 10, 13)
    assert deadline.stopped_working_days == 4


def test_a_suspension_ending_exactly_at_midnight_leaves_that_day_counting() -> None:
    deadline = compute_deadline(
        CAL, ACCEPTED, 5, [Suspension(sh(2025, 9, 26, 10), sh(2025, 10, 9, 0, 0))]
    )
    assert deadline.due_date == date(2025, 10, 11)  # 25, 26 Sep, 9, 10, 11 Oct


def test_a_suspension_starting_exactly_at_midnight_takes_that_day() -> None:
    deadline = compute_deadline(
        CAL, ACCEPTED, 5, [Suspension(sh(2025, 9, 26, 0, 0), sh(2025, 9, 26, 18))]
    )
    assert deadline.due_date == date(2025, 10, 9)  # 25, 28, 29, 30 Sep, 9 Oct


def test_a_suspension_within_one_day_changes_nothing() -> None:
    deadline = compute_deadline(
        CAL, ACCEPTED, 5, [Suspension(sh(2025, 9, 25, 9), sh(2025, 9, 25, 17))]
    )
    assert deadline.due_date == date(2025, 9, 30)
    assert deadline.stopped_working_days == 0


def test_a_suspension_inside_the_holiday_changes_nothing() -> None:
    held = [Suspension(sh(2025, 10, 2), sh(2025, 10, 6))]
    assert compute_deadline(CAL, sh(2025, 9, 29), 3, held).due_date == date(2025, 10, 10)


def test_overlapping_suspensions_merge() -> None:
    held = [
        Suspension(sh(2025, 9, 26, 10), sh(2025, 9, 29, 12)),
        Suspension(sh(2025, 9, 29, 9), sh(2025, 10, 9, 15)),
    ]
    assert compute_deadline(CAL, ACCEPTED, 5, held).due_date == date(2025, 10, 13)


def test_an_open_suspension_has_no_due_instant_and_cannot_go_overdue() -> None:
    held = [Suspension(sh(2025, 9, 26, 10))]
    deadline = compute_deadline(CAL, ACCEPTED, 5, held)
    assert deadline.due_date is None and deadline.due_at is None
    reading = deadline.reading(sh(2025, 10, 20))
    assert reading.suspended and reading.used == 2 and reading.left == 3
    assert reading.status is ClockStatus.ON_TIME
    assert deadline.concluded_on_time(sh(2025, 12, 1))
    # The applicant answers on Monday 20 Oct at 10:00: that day is theirs, 21–23 Oct count.
    resumed = [Suspension(sh(2025, 9, 26, 10), sh(2025, 10, 20))]
    assert compute_deadline(CAL, ACCEPTED, 5, resumed).due_date == date(2025, 10, 23)


def test_an_open_suspension_after_the_limit_ran_out_does_not_hide_it() -> None:
    deadline = compute_deadline(CAL, ACCEPTED, 5, [Suspension(sh(2025, 10, 9))])
    assert deadline.due_date == date(2025, 9, 30)
    assert deadline.status(sh(2025, 10, 20)) is ClockStatus.OVERDUE


def test_a_suspension_after_the_deadline_does_not_rescue_a_late_case() -> None:
    held = [Suspension(sh(2025, 10, 9), sh(2025, 10, 15))]
    deadline = compute_deadline(CAL, ACCEPTED, 5, held)
    assert deadline.due_date == date(2025, 9, 30)
    assert not deadline.concluded_on_time(sh(2025, 10, 14))


def test_a_suspension_before_acceptance_is_harmless() -> None:
    held = [Suspension(sh(2025, 9, 20), sh(2025, 9, 24, 9))]
    assert compute_deadline(CAL, ACCEPTED, 5, held).due_date == date(2025, 9, 30)


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(InvalidClockInput):
        compute_deadline(CAL, datetime(2025, 1, 1), 5)  # naive
    with pytest.raises(InvalidClockInput):
        compute_deadline(CAL, ACCEPTED, -1)
    with pytest.raises(InvalidClockInput):
        Suspension(sh(2025, 9, 26), sh(2025, 9, 25))
    with pytest.raises(InvalidClockInput):
        Suspension(datetime(2025, 9, 26))
    with pytest.raises(InvalidClockInput):
        compute_deadline(CAL, ACCEPTED, 5).reading(datetime(2025, 9, 26))
    with pytest.raises(InvalidClockInput):
        compute_case_deadlines(CAL, ACCEPTED, legal_days=5, promised_days=6)
    with pytest.raises(InvalidClockInput):
        WarningPolicy(percent_left=120)


# -- reading the clock ------------------------------------------------------------------


def test_used_left_and_status_through_a_plain_week() -> None:
    deadline = compute_deadline(CAL, sh(2025, 3, 10), 5)  # Mon; due end of Mon 17 Mar
    at = deadline.reading
    assert (at(sh(2025, 3, 10, 18)).used, at(sh(2025, 3, 10, 18)).left) == (0, 5)
    assert (at(sh(2025, 3, 11)).used, at(sh(2025, 3, 11)).left) == (0, 5)  # today: left
    assert at(sh(2025, 3, 11)).status is ClockStatus.ON_TIME
    assert (at(sh(2025, 3, 14)).used, at(sh(2025, 3, 14)).left) == (3, 2)
    assert at(sh(2025, 3, 16)).left == 1  # Sunday: Monday is the last day
    assert at(sh(2025, 3, 16)).status is ClockStatus.WARNING
    last = at(sh(2025, 3, 17, 23, 59))
    assert (last.used, last.left, last.status) == (4, 1, ClockStatus.WARNING)
    due = at(sh(2025, 3, 18, 0, 0))
    assert (due.used, due.left, due.overdue_days, due.status) == (5, 0, 0, ClockStatus.OVERDUE)
    assert at(sh(2025, 3, 20)).overdue_days == 2
    assert not at(sh(2025, 3, 20)).suspended


def test_warning_thresholds_are_configurable() -> None:
    deadline = compute_deadline(CAL, sh(2025, 3, 10), 5)
    friday = sh(2025, 3, 14)  # 2 of 5 left
    assert deadline.status(friday) is ClockStatus.ON_TIME
    assert deadline.status(friday, WarningPolicy(days_left=2)) is ClockStatus.WARNING
    assert deadline.status(friday, WarningPolicy(days_left=0, percent_left=40)) == "warning"
    assert deadline.status(friday, WarningPolicy(days_left=0, percent_left=39)) == "on_time"
    # 20 % of 15 days is exactly 3.
    long = compute_deadline(CAL, sh(2025, 3, 10), 15)
    assert long.due_date == date(2025, 3, 31)
    assert long.reading(sh(2025, 3, 27)).left == 3  # 27, 28, 31 Mar
    assert long.status(sh(2025, 3, 27)) is ClockStatus.WARNING
    assert long.status(sh(2025, 3, 26)) is ClockStatus.ON_TIME


def test_legal_and_promised_limits_share_one_clock() -> None:
    clocks = compute_case_deadlines(
        CAL,
        sh(2025, 9, 24),
        legal_days=20,
        promised_days=5,
        suspensions=[Suspension(sh(2025, 9, 26, 10), sh(2025, 10, 9, 15))],
    )
    assert clocks.promised is not None and clocks.legal is not None
    assert clocks.promised.due_date == date(2025, 10, 13)
    assert clocks.legal.due_date == CAL.add_working_days(date(2025, 9, 24), 24)
    late = sh(2025, 10, 14)
    assert not clocks.promised.concluded_on_time(late) and clocks.legal.concluded_on_time(late)
    no_legal = compute_case_deadlines(CAL, sh(2025, 9, 24), legal_days=None, promised_days=3)
    assert no_legal.legal is None and no_legal.promised is not None


def test_a_deadline_reaching_an_unannounced_year_carries_the_warning() -> None:
    year = CAL.package_years.stop
    deadline = compute_deadline(CAL, sh(year - 1, 12, 28), 5)
    assert deadline.due_date is not None and deadline.due_date.year == year
    assert deadline.warnings == (CalendarWarning(year),)
    assert deadline.reading(sh(year - 1, 12, 29)).warnings == (CalendarWarning(year),)
    # The weekends-only fallback: the due day is the 5th Monday–Friday after 28 December.
    weekdays = [
        d
        for d in (date(year - 1, 12, 29) + timedelta(days=i) for i in range(14))
        if d.weekday() < 5
    ]
    assert deadline.due_date == weekdays[4]
    # The clock read later in that year still warns.
    assert compute_deadline(CAL, sh(2025, 3, 10), 5).reading(sh(year, 3, 1)).warnings != ()


# -- properties against a day-by-day oracle ---------------------------------------------


def walk(accepted_at: datetime, n: int, held: list[Suspension]) -> date | None:
    """The due day found by walking day by day (the rule stated plainly)."""
    day = accepted_at.astimezone(SHANGHAI).date()
    if n == 0:
        return day
    counted = 0
    for _ in range(800):
        day += timedelta(days=1)
        begins = day_start(day)
        if CAL.is_working_day(day) and not any(s.covers(begins) for s in held):
            counted += 1
            if counted == n:
                return day
    return None


def ended_and_counted(accepted_at: datetime, now: datetime, held: list[Suspension]) -> int:
    """Counted days that have ended by ``now``, walked day by day."""
    day = accepted_at.astimezone(SHANGHAI).date() + timedelta(days=1)
    counted = 0
    while day_start(day + timedelta(days=1)) <= now:
        begins = day_start(day)
        counted += CAL.is_working_day(day) and not any(s.covers(begins) for s in held)
        day += timedelta(days=1)
    return counted


instants = st.datetimes(
    min_value=datetime(2024, 11, 1), max_value=datetime(2027, 3, 1), timezones=st.just(UTC)
)


@st.composite
def suspensions(draw: st.DrawFn, accepted_at: datetime) -> Suspension:
    # Often snapped to a Shanghai midnight, to exercise the partial-day rule's edges.
    def instant(offset_minutes: int) -> datetime:
        moment = accepted_at + timedelta(minutes=offset_minutes)
        if draw(st.booleans()):
            moment = day_start(moment.astimezone(SHANGHAI).date())
        return moment

    start = instant(draw(st.integers(min_value=-3 * 1440, max_value=30 * 1440)))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return Suspension(start)
    end = instant(
        draw(st.integers(min_value=0, max_value=20 * 1440))
        + int((start - accepted_at).total_seconds() // 60)
    )
    return Suspension(start, max(start, end))


@st.composite
def cases(draw: st.DrawFn) -> tuple[datetime, int, list[Suspension]]:
    accepted_at = draw(instants)
    n = draw(st.integers(min_value=0, max_value=30))
    held = draw(st.lists(suspensions(accepted_at), max_size=4))
    return accepted_at, n, held


@settings(max_examples=300)
@given(case=cases())
def test_the_due_day_matches_walking_day_by_day(
    case: tuple[datetime, int, list[Suspension]],
) -> None:
    accepted_at, n, held = case
    deadline = compute_deadline(CAL, accepted_at, n, held)
    assert deadline.due_date == walk(accepted_at, n, held)
    if deadline.due_date is not None:
        assert deadline.due_at == day_start(deadline.due_date + timedelta(days=1))
        if n:
            assert CAL.is_working_day(deadline.due_date)
            assert deadline.due_date > deadline.accepted_on


@settings(max_examples=300)
@given(case=cases(), hours=st.integers(min_value=0, max_value=24 * 90))
def test_reading_agrees_with_the_due_instant(
    case: tuple[datetime, int, list[Suspension]], hours: int
) -> None:
    accepted_at, n, held = case
    deadline = compute_deadline(CAL, accepted_at, n, held)
    now = accepted_at + timedelta(hours=hours)
    reading = deadline.reading(now)
    overdue = deadline.due_at is not None and now >= deadline.due_at
    assert (reading.status is ClockStatus.OVERDUE) is overdue
    assert deadline.concluded_on_time(now) is not overdue
    assert reading.used == ended_and_counted(accepted_at, now, held)
    assert reading.used - reading.overdue_days + reading.left == n
    if not overdue:
        assert reading.overdue_days == 0
    # Used never decreases as time goes on.
    assert deadline.reading(now + timedelta(days=1)).used >= reading.used
