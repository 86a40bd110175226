"""The working calendar: China's 2025–2026 holidays and 调休 as the package states them, the
weekends-only fallback for a year not announced yet, and hand-kept announcements."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldhall.server.hall.timelimits import (
    AnnouncementInvalid,
    CalendarSource,
    CalendarWarning,
    InvalidClockInput,
    WorkingCalendar,
    default_calendar,
)
from fieldhall.server.hall.timelimits.announcements import (
    parse_announcements,
    shipped_announcements,
)

CAL = default_calendar()
BARE = WorkingCalendar()  # no hand-kept announcements at all
# The first year the installed package does not know: detected, never hard-coded, so these
# tests keep their meaning when a newer chinesecalendar arrives.
UNANNOUNCED = CAL.package_years.stop

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

# (day, works?, weekday, holiday as the package names it) — each fact checked against the
# package itself and against WorkingCalendar.
FACTS = [
    # Spring Festival 2025: 28 Jan – 4 Feb off; Sunday 26 Jan and Saturday 8 Feb worked.
    (date(2025, 1, 26), True, SUN, "Spring Festival"),
    (date(2025, 1, 27), True, MON, None),
    *[(date(2025, 1, 28) + timedelta(days=i), False, None, "Spring Festival") for i in range(8)],
    (date(2025, 2, 5), True, WED, None),
    (date(2025, 2, 8), True, SAT, "Spring Festival"),
    (date(2025, 2, 9), False, SUN, None),
    # Qingming 2025: Friday 4 Apr – Sunday 6 Apr, no working weekend.
    (date(2025, 4, 4), False, FRI, "Tomb-sweeping Day"),
    (date(2025, 4, 7), True, MON, None),
    # May Day 2025: 1–5 May off, Sunday 27 Apr worked.
    (date(2025, 4, 27), True, SUN, "Labour Day"),
    *[(date(2025, 5, 1) + timedelta(days=i), False, None, "Labour Day") for i in range(5)],
    (date(2025, 5, 6), True, TUE, None),
    # Dragon Boat 2025: Saturday 31 May – Monday 2 Jun.
    (date(2025, 6, 2), False, MON, "Dragon Boat Festival"),
    (date(2025, 6, 3), True, TUE, None),
    # National Day + Mid-Autumn 2025: 1–8 Oct off; Sunday 28 Sep and Saturday 11 Oct worked.
    (date(2025, 9, 28), True, SUN, "National Day"),
    *[(date(2025, 10, 1) + timedelta(days=i), False, None, None) for i in range(8)],
    (date(2025, 10, 6), False, MON, "Mid-autumn Festival"),
    (date(2025, 10, 9), True, THU, None),
    (date(2025, 10, 11), True, SAT, "National Day"),
    (date(2025, 10, 12), False, SUN, None),
    # New Year 2026: 1–3 Jan off, Sunday 4 Jan worked.
    (date(2026, 1, 1), False, THU, "New Year's Day"),
    (date(2026, 1, 2), False, FRI, "New Year's Day"),
    (date(2026, 1, 4), True, SUN, "New Year's Day"),
    # Spring Festival 2026: 15–23 Feb off; Saturdays 14 and 28 Feb worked.
    (date(2026, 2, 14), True, SAT, "Spring Festival"),
    *[(date(2026, 2, 15) + timedelta(days=i), False, None, "Spring Festival") for i in range(9)],
    (date(2026, 2, 24), True, TUE, None),
    (date(2026, 2, 28), True, SAT, "Spring Festival"),
    # Qingming 2026: Monday 6 Apr off. May Day 2026: Saturday 9 May worked.
    (date(2026, 4, 6), False, MON, "Tomb-sweeping Day"),
    (date(2026, 5, 9), True, SAT, "Labour Day"),
    # National Day 2026: 1–7 Oct off; Sunday 20 Sep and Saturday 10 Oct worked.
    (date(2026, 9, 20), True, SUN, "National Day"),
    *[(date(2026, 10, 1) + timedelta(days=i), False, None, "National Day") for i in range(7)],
    (date(2026, 10, 8), True, THU, None),
    (date(2026, 10, 10), True, SAT, "National Day"),
]


@pytest.mark.parametrize(("day", "works", "weekday", "name"), FACTS, ids=lambda v: str(v))
def test_a_2025_2026_fact_holds_in_the_package_and_in_the_calendar(
    day: date, works: bool, weekday: int | None, name: str | None
) -> None:
    assert chinese_calendar.is_workday(day) is works
    if weekday is not None:
        assert day.weekday() == weekday
    if name is not None:
        assert chinese_calendar.get_holiday_detail(day)[1] == name
    assert CAL.is_working_day(day) is works
    assert CAL.source_of(day.year) is CalendarSource.PACKAGE


def test_every_day_the_package_knows_agrees_with_the_calendar() -> None:
    day, last = date(CAL.package_years.start, 1, 1), date(CAL.package_years.stop - 1, 12, 31)
    while day <= last:
        assert CAL.is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_counting_across_the_2025_holidays() -> None:
    # 28 Jan – 4 Feb off: the five working days after 27 Jan are 5, 6, 7, 8 (Sat), 10 Feb.
    assert CAL.add_working_days(date(2025, 1, 27), 5) == date(2025, 2, 10)
    assert CAL.working_days_between(date(2025, 1, 27), date(2025, 2, 10)) == 5
    # The Sunday before counts: 24 Jan (Fri) + 1 working day is Sunday 26 Jan.
    assert CAL.add_working_days(date(2025, 1, 24), 1) == date(2025, 1, 26)
    # National Day: 30 Sep + 1 is 9 Oct; + 3 is Saturday 11 Oct.
    assert CAL.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert CAL.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert CAL.working_days_between(date(2025, 10, 11), date(2025, 9, 30)) == -3
    assert CAL.next_working_day(date(2025, 10, 1)) == date(2025, 10, 9)
    assert CAL.next_working_day(date(2025, 10, 9)) == date(2025, 10, 9)
    assert CAL.add_working_days(date(2025, 10, 3), 0) == date(2025, 10, 3)


def test_counting_across_the_2026_holidays() -> None:
    assert CAL.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)  # Sunday, worked
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)  # 14 Feb, then 24
    assert CAL.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # 8, 9, Sat 10


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(InvalidClockInput):
        CAL.add_working_days(date(2025, 1, 1), -1)


# -- the year nobody has announced yet --------------------------------------------------


def test_the_package_range_is_detected_from_the_package() -> None:
    chinese_calendar.is_workday(date(UNANNOUNCED - 1, 12, 31))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(UNANNOUNCED, 1, 1))
    assert CAL.package_version == chinese_calendar.__version__


def test_an_unannounced_year_counts_weekends_only_with_a_warning() -> None:
    year = UNANNOUNCED
    assert BARE.source_of(year) is CalendarSource.WEEKENDS_ONLY
    for offset in range(366):
        day = date(year, 1, 1) + timedelta(days=offset)
        assert BARE.is_working_day(day) is (day.weekday() < 5)
    warnings = BARE.warnings_between(date(year - 1, 12, 1), date(year, 1, 31))
    assert warnings == (CalendarWarning(year),)
    assert warnings[0].code == "calendar.year_not_announced"
    assert str(year) in warnings[0].message and str(year) in warnings[0].message_zh
    assert CAL.warnings_between(date(2025, 1, 1), date(2026, 12, 31)) == ()


def _announcement_text(year: int) -> str:
    saturday = date(year, 1, 4)
    while saturday.weekday() != SAT:
        saturday += timedelta(days=1)
    return f"""
[[announcement]]
year = {year}
source = "test notice"

[[announcement.holiday]]
name = "元旦"
first = {year}-01-01
last = {year}-01-03
working_days = [{saturday.isoformat()}]

[[announcement.holiday]]
name = "国庆节"
first = {year}-10-01
last = {year}-10-07
"""


def test_a_hand_added_announcement_overrides_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "announcements.toml"
    path.write_text(_announcement_text(UNANNOUNCED), encoding="utf-8")
    calendar = WorkingCalendar.from_file(path)

    assert calendar.source_of(UNANNOUNCED) is CalendarSource.ANNOUNCEMENT
    assert calendar.warnings_between(date(UNANNOUNCED, 1, 1), date(UNANNOUNCED, 12, 31)) == ()
    assert not any(calendar.is_working_day(date(UNANNOUNCED, 1, d)) for d in (1, 2, 3))
    assert not any(calendar.is_working_day(date(UNANNOUNCED, 10, d)) for d in range(1, 8))
    (announcement,) = calendar.announcements
    (saturday,) = announcement.working_days
    assert saturday.weekday() == SAT and calendar.is_working_day(saturday)
    assert not BARE.is_working_day(saturday)
    # Counting over the new year now skips the announced days off.
    end = calendar.add_working_days(date(UNANNOUNCED - 1, 12, 31), 5)
    expected = [
        d
        for d in (date(UNANNOUNCED, 1, 1) + timedelta(days=i) for i in range(14))
        if (d.weekday() < 5 and d.day > 3) or d == saturday
    ][4]
    assert end == expected
    # The year after stays weekends-only and warned.
    assert calendar.source_of(UNANNOUNCED + 1) is CalendarSource.WEEKENDS_ONLY


def test_an_announcement_for_a_year_the_package_knows_is_ignored() -> None:
    text = """
[[announcement]]
year = 2025
source = "stale"
[[announcement.holiday]]
name = "不存在"
first = 2025-03-03
last = 2025-03-04
"""
    calendar = WorkingCalendar(parse_announcements(text))
    assert calendar.superseded_years == (2025,)
    assert calendar.announcements == ()
    assert calendar.is_working_day(date(2025, 3, 3))


def test_the_shipped_file_loads_and_only_adds_unknown_years() -> None:
    shipped = shipped_announcements()
    assert all(a.year not in CAL.package_years for a in CAL.announcements)
    assert {a.year for a in shipped} == {a.year for a in CAL.announcements} | set(
        CAL.superseded_years
    )


# -- validation at load ----------------------------------------------------------------

_HEAD = '[[announcement]]\nyear = 2031\nsource = "x"\n'
_HOLIDAY = '[[announcement.holiday]]\nname = "春节"\n'

INVALID = {
    "not toml": "year = ",
    "unknown top key": 'announcements = "x"\n',
    "unknown announcement key": _HEAD + "notes = 1\n" + _HOLIDAY + "first=2031-01-22\n"
    "last=2031-01-23\n",
    "no year": '[[announcement]]\nsource = "x"\n',
    "year as string": '[[announcement]]\nyear = "2031"\nsource = "x"\n',
    "no source": "[[announcement]]\nyear = 2031\n",
    "no holidays": _HEAD,
    "typo workdays": _HEAD + _HOLIDAY + "first = 2031-01-22\nlast = 2031-01-23\n"
    "workdays = [2031-01-19]\n",
    "string date": _HEAD + _HOLIDAY + 'first = "2031-01-22"\nlast = 2031-01-23\n',
    "datetime": _HEAD + _HOLIDAY + "first = 2031-01-22T00:00:00\nlast = 2031-01-23\n",
    "backwards": _HEAD + _HOLIDAY + "first = 2031-01-23\nlast = 2031-01-22\n",
    "too long": _HEAD + _HOLIDAY + "first = 2031-10-01\nlast = 2031-12-07\n",
    "wrong year": _HEAD + _HOLIDAY + "first = 2013-01-22\nlast = 2013-01-23\n",
    "weekday worked": _HEAD + _HOLIDAY + "first = 2031-01-22\nlast = 2031-01-23\n"
    "working_days = [2031-01-20]\n",  # a Monday
    "worked inside": _HEAD + _HOLIDAY + "first = 2031-01-24\nlast = 2031-01-27\n"
    "working_days = [2031-01-25]\n",
    "overlap": _HEAD + _HOLIDAY + "first = 2031-01-22\nlast = 2031-01-25\n"
    '[[announcement.holiday]]\nname = "又一个"\nfirst = 2031-01-25\nlast = 2031-01-26\n',
    "off in one, worked in another": _HEAD + _HOLIDAY + "first = 2031-01-22\nlast = 2031-01-23\n"
    'working_days = [2031-02-08]\n[[announcement.holiday]]\nname = "x"\n'
    "first = 2031-02-08\nlast = 2031-02-09\n",
    "repeated year": (_HEAD + _HOLIDAY + "first = 2031-01-22\nlast = 2031-01-23\n") * 2,
}


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_a_broken_announcement_is_refused_at_load(text: str) -> None:
    with pytest.raises(AnnouncementInvalid) as caught:
        parse_announcements(text, origin="ops.toml")
    assert caught.value.code == "calendar.announcement_invalid"
    assert caught.value.message.startswith("ops.toml")


def test_an_unreadable_file_is_refused_with_the_cause(tmp_path: Path) -> None:
    with pytest.raises(AnnouncementInvalid) as caught:
        WorkingCalendar.from_file(tmp_path / "missing.toml")
    assert isinstance(caught.value.__cause__, OSError)
    with pytest.raises(AnnouncementInvalid) as caught:
        parse_announcements("year = ")
    assert caught.value.__cause__ is not None


def test_a_valid_announcement_parses_to_values() -> None:
    text = _HEAD + _HOLIDAY + "first = 2031-01-22\nlast = 2031-01-29\n"
    text += "working_days = [2031-01-19, 2031-02-08]\n"
    (announcement,) = parse_announcements(text)
    assert announcement.year == 2031 and announcement.source == "x"
    assert len(announcement.days_off) == 8
    assert announcement.working_days == {date(2031, 1, 19), date(2031, 2, 8)}


# -- properties ------------------------------------------------------------------------

days = st.dates(min_value=date(2003, 6, 1), max_value=date(2031, 12, 31))


@given(start=days, n=st.integers(min_value=0, max_value=400))
def test_adding_n_then_counting_back_gives_n(start: date, n: int) -> None:
    end = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, end) == n
    if n:
        assert end > start and CAL.is_working_day(end)
        # ...and it is the first such day.
        assert CAL.working_days_between(start, end - timedelta(days=1)) == n - 1


@given(start=days, span=st.integers(min_value=-60, max_value=400))
def test_counting_matches_walking_day_by_day(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    low, high = sorted((start, end))
    walked = sum(CAL.is_working_day(low + timedelta(days=i + 1)) for i in range((high - low).days))
    assert CAL.working_days_between(start, end) == (walked if end >= start else -walked)


@given(day=days)
def test_the_next_working_day_is_working_and_nothing_before_it_is(day: date) -> None:
    found = CAL.next_working_day(day)
    assert CAL.is_working_day(found)
    assert all(not CAL.is_working_day(day + timedelta(days=i)) for i in range((found - day).days))
