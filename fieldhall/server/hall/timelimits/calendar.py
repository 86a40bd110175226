"""China's working days: public holidays and adjusted working weekends (调休).

Where each year comes from (:class:`CalendarSource`), in order of precedence:

1. ``chinese_calendar`` (the ``chinesecalendar`` package), for the years it covers — read
   from the package at start, never typed by hand. The range is detected, not assumed:
   ``min..max`` of the years in its holiday table.
2. A hand-kept :class:`Announcement` (``announcements.toml``) for a year the State Council
   has announced but the installed package does not know yet.
3. Otherwise **weekends only**: Monday to Friday are working days. Every answer that
   touches such a year can carry a :class:`CalendarWarning` for the UI and the API to show,
   because a deadline counted this way may be wrong by a whole holiday.

Counting convention: ``working_days_between(a, b)`` counts working days *d* with
``a < d <= b`` — the day after ``a`` is the first that counts, as the law counts a time
limit from the day after acceptance — and ``add_working_days(a, n)`` is the *n*-th working
day after ``a``; so ``working_days_between(a, add_working_days(a, n)) == n``.

Both run in logarithmic time: a working day is a weekday unless listed off, or a weekend
day listed working, so a count is a closed-form weekday count corrected by two sorted
exception lists.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path

import chinese_calendar

from fieldhall.server.hall.timelimits.announcements import (
    Announcement,
    load_announcements,
    shipped_announcements,
)
from fieldhall.server.hall.timelimits.errors import InvalidClockInput

__all__ = [
    "CalendarSource",
    "CalendarWarning",
    "WorkingCalendar",
    "default_calendar",
]

YEAR_NOT_ANNOUNCED = "calendar.year_not_announced"


class CalendarSource(StrEnum):
    """Where a year's working days come from."""

    PACKAGE = "chinese_calendar"
    ANNOUNCEMENT = "announcement"
    WEEKENDS_ONLY = "weekends_only"


@dataclass(frozen=True, slots=True)
class CalendarWarning:
    """A year counted Monday–Friday because its holidays are not known."""

    year: int
    code: str = YEAR_NOT_ANNOUNCED

    @property
    def message(self) -> str:
        return (
            f"The holiday arrangement for {self.year} is not known: working days in"
            f" {self.year} are counted as Monday to Friday; add the State Council's notice"
            " to announcements.toml or upgrade chinesecalendar."
        )

    @property
    def message_zh(self) -> str:
        return f"{self.year}年节假日安排尚未收录，暂按周一至周五计算工作日，期限可能有误。"


class WorkingCalendar:
    """Working days on the Chinese calendar; immutable once built, safe to share.

    ``package_years`` and ``package_version`` describe the installed ``chinesecalendar``;
    ``announcements`` are the hand-kept ones in use, ``superseded_years`` those ignored
    because the package now covers their year (for ``/health`` or an admin page to show).
    """

    def __init__(self, announcements: Iterable[Announcement] = ()) -> None:
        holidays: set[date] = set(chinese_calendar.holidays)
        workdays: set[date] = set(chinese_calendar.workdays)
        years = {day.year for day in holidays}
        self.package_years = range(min(years), max(years) + 1)
        self.package_version: str = str(chinese_calendar.__version__)

        announced = tuple(announcements)
        self.announcements = tuple(a for a in announced if a.year not in self.package_years)
        # A year the package now covers: the package wins, the hand-kept entry is retired.
        self.superseded_years = tuple(
            sorted(a.year for a in announced if a.year in self.package_years)
        )
        for announcement in self.announcements:
            holidays |= {d for d in announcement.days_off if d.year not in self.package_years}
            workdays |= {d for d in announcement.working_days if d.year not in self.package_years}
        self._announced_years = frozenset(a.year for a in self.announcements)

        # Only the exceptions to "Monday–Friday" matter: weekdays off, weekend days working.
        self._weekdays_off = frozenset(d for d in holidays if d.weekday() < 5)
        self._weekends_on = frozenset(d for d in workdays if d.weekday() >= 5)
        self._off_ordinals = sorted(d.toordinal() for d in self._weekdays_off)
        self._on_ordinals = sorted(d.toordinal() for d in self._weekends_on)

    @classmethod
    def from_file(cls, path: Path) -> WorkingCalendar:
        """A calendar with the announcements of ``path`` (validated, see ``announcements``)."""
        return cls(load_announcements(path))

    def source_of(self, year: int) -> CalendarSource:
        if year in self.package_years:
            return CalendarSource.PACKAGE
        if year in self._announced_years:
            return CalendarSource.ANNOUNCEMENT
        return CalendarSource.WEEKENDS_ONLY

    def warnings_between(self, first: date, last: date) -> tuple[CalendarWarning, ...]:
        """The warnings for the years from ``first`` to ``last`` (either order, inclusive)."""
        low, high = sorted((first.year, last.year))
        return tuple(
            CalendarWarning(year)
            for year in range(low, high + 1)
            if self.source_of(year) is CalendarSource.WEEKENDS_ONLY
        )

    def is_working_day(self, day: date) -> bool:
        if day.weekday() < 5:
            return day not in self._weekdays_off
        return day in self._weekends_on

    def working_days_between(self, start: date, end: date) -> int:
        """Working days *d* with ``start < d <= end``; negative when ``end < start``."""
        return self._working_upto(end.toordinal()) - self._working_upto(start.toordinal())

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start``; ``start`` itself when ``days == 0``."""
        if days < 0:
            raise InvalidClockInput(f"cannot add {days} working days; the count must be >= 0")
        if days == 0:
            return start
        origin = start.toordinal()
        target = self._working_upto(origin) + days
        # Widen until the target is reached, then bisect for the first day that reaches it:
        # the count rises by one exactly on each working day, so that day is working.
        span = days + 7
        while self._working_upto(origin + span) < target:
            span *= 2
        low, high = origin + 1, origin + span
        while low < high:
            middle = (low + high) // 2
            if self._working_upto(middle) < target:
                low = middle + 1
            else:
                high = middle
        return date.fromordinal(low)

    def next_working_day(self, day: date) -> date:
        """The first working day on or after ``day``."""
        return self.add_working_days(day - timedelta(days=1), 1)

    def _working_upto(self, ordinal: int) -> int:
        """Working days with ordinal ``<= ordinal`` (from 0001-01-01, a Monday)."""
        weeks, rest = divmod(ordinal, 7)
        weekdays = weeks * 5 + min(rest, 5)
        off = bisect_right(self._off_ordinals, ordinal)
        on = bisect_right(self._on_ordinals, ordinal)
        return weekdays - off + on


@cache
def default_calendar() -> WorkingCalendar:
    """The calendar with the announcements shipped in ``announcements.toml`` (built once)."""
    return WorkingCalendar(shipped_announcements())
