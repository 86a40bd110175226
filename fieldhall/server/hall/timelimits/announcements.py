"""Hand-kept holiday announcements: a year the ``chinesecalendar`` package does not know yet.

Each December the State Council's General Office publishes the next year's holiday
arrangement (国务院办公厅关于××年部分节假日安排的通知). Until a ``chinesecalendar`` release
carries it, an operator copies the notice into ``announcements.toml`` (shipped next to this
module), one ``[[announcement]]`` per year and one ``[[announcement.holiday]]`` per holiday
as the notice lists it::

    [[announcement]]
    year = 2031
    source = "国办发明电〔2030〕7号"

    [[announcement.holiday]]
    name = "春节"
    first = 2031-01-22          # first and last day off, TOML dates, inclusive
    last = 2031-01-29
    working_days = [2031-01-19, 2031-02-08]   # 调休上班, each a Saturday or Sunday

The file is validated as a whole when it is loaded, and any broken rule refuses it with
:class:`AnnouncementInvalid` naming the file, the entry and the field: unknown keys
(a typo such as ``workdays`` must not be silently ignored), dates given as strings, a
period running backwards or longer than :data:`MAX_PERIOD_DAYS`, a date farther than
:data:`SPILL_DAYS` from the announced year, an adjusted working day on a weekday, a day
both off and working, overlapping periods, two announcements of one year.

A notice may name days just outside its year (New Year off from 30 December, a working
Saturday in the next January); each day applies to the date it names. For a year that the
package itself covers, the package wins and the calendar ignores hand-kept days (see
``WorkingCalendar.superseded_years``): upgrading ``chinesecalendar`` retires an entry
without editing the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

from fieldhall.server.hall.timelimits.errors import AnnouncementInvalid

__all__ = [
    "MAX_PERIOD_DAYS",
    "SHIPPED_FILE",
    "SPILL_DAYS",
    "Announcement",
    "HolidayPeriod",
    "load_announcements",
    "parse_announcements",
    "shipped_announcements",
]

SHIPPED_FILE = "announcements.toml"
# The longest arrangement so far is nine days (Spring Festival 2026); fifteen leaves room for
# an unusual special holiday while still catching a mistyped month (10-01 .. 12-07).
MAX_PERIOD_DAYS = 15
# A notice names days just outside its year (New Year from 30 December, a working Saturday
# in early January); a month either side is generous and still catches a mistyped year.
SPILL_DAYS = 31

_ANNOUNCEMENT_KEYS = frozenset({"year", "source", "holiday"})
_HOLIDAY_KEYS = frozenset({"name", "first", "last", "working_days"})
_TOP_KEYS = frozenset({"announcement"})


@dataclass(frozen=True, slots=True)
class HolidayPeriod:
    """One holiday of a notice: days off ``first``..``last`` and its adjusted working days."""

    name: str
    first: date
    last: date
    working_days: tuple[date, ...] = ()

    def days_off(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Announcement:
    """One year's holiday arrangement as the State Council announced it."""

    year: int
    source: str
    holidays: tuple[HolidayPeriod, ...]

    @property
    def days_off(self) -> frozenset[date]:
        return frozenset(day for period in self.holidays for day in period.days_off())

    @property
    def working_days(self) -> frozenset[date]:
        return frozenset(day for period in self.holidays for day in period.working_days)


def shipped_announcements() -> tuple[Announcement, ...]:
    """The announcements in the file shipped with this package."""
    shipped = resources.files(__package__ or __name__).joinpath(SHIPPED_FILE)
    try:
        text = shipped.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnnouncementInvalid(f"{SHIPPED_FILE}: cannot be read ({exc})") from exc
    return parse_announcements(text, origin=SHIPPED_FILE)


def load_announcements(path: Path) -> tuple[Announcement, ...]:
    """Read and validate an announcements file (UTF-8 TOML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnouncementInvalid(f"{path}: cannot be read ({exc})") from exc
    return parse_announcements(text, origin=str(path))


def parse_announcements(text: str, *, origin: str = "<string>") -> tuple[Announcement, ...]:
    """Validate announcements given as TOML text; ``origin`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AnnouncementInvalid(f"{origin}: not valid TOML ({exc})") from exc
    _no_unknown_keys(raw, _TOP_KEYS, origin)
    entries = raw.get("announcement", [])
    if not isinstance(entries, list):
        raise AnnouncementInvalid(f"{origin}: write each year as an [[announcement]] table")
    announcements = tuple(
        _announcement(entry, f"{origin}: announcement[{index}]")
        for index, entry in enumerate(entries)
    )
    _check_across(announcements, origin)
    return announcements


def _announcement(entry: Any, where: str) -> Announcement:
    if not isinstance(entry, dict):
        raise AnnouncementInvalid(f"{where}: must be a table")
    _no_unknown_keys(entry, _ANNOUNCEMENT_KEYS, where)
    year = entry.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1949 < year < 2200:
        raise AnnouncementInvalid(f"{where}: year must be an integer such as 2031")
    where = f"{where} (year {year})"
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise AnnouncementInvalid(
            f"{where}: source must name the notice (document number or address)"
        )
    periods = entry.get("holiday")
    if not isinstance(periods, list) or not periods:
        raise AnnouncementInvalid(f"{where}: list each holiday as an [[announcement.holiday]]")
    holidays = tuple(
        _period(period, year, f"{where} holiday[{index}]") for index, period in enumerate(periods)
    )
    _check_within(holidays, where)
    return Announcement(year=year, source=source.strip(), holidays=holidays)


def _period(raw: Any, year: int, where: str) -> HolidayPeriod:
    if not isinstance(raw, dict):
        raise AnnouncementInvalid(f"{where}: must be a table")
    _no_unknown_keys(raw, _HOLIDAY_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AnnouncementInvalid(f"{where}: name must be the holiday's name, such as 春节")
    where = f"{where} {name.strip()}"
    first = _date(raw.get("first"), year, f"{where}: first")
    last = _date(raw.get("last"), year, f"{where}: last")
    if last < first:
        raise AnnouncementInvalid(f"{where}: last ({last}) is before first ({first})")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise AnnouncementInvalid(
            f"{where}: {first}..{last} is longer than {MAX_PERIOD_DAYS} days; check the dates"
        )
    raw_working = raw.get("working_days", [])
    if not isinstance(raw_working, list):
        raise AnnouncementInvalid(f"{where}: working_days must be a list of dates")
    working = tuple(
        _date(value, year, f"{where}: working_days[{index}]")
        for index, value in enumerate(raw_working)
    )
    for day in working:
        if day.weekday() < 5:
            raise AnnouncementInvalid(
                f"{where}: working day {day} is a {day.strftime('%A')}; adjusted working days"
                " (调休上班) fall on a Saturday or Sunday"
            )
        if first <= day <= last:
            raise AnnouncementInvalid(f"{where}: {day} is both a day off and a working day")
    if len(set(working)) != len(working):
        raise AnnouncementInvalid(f"{where}: working_days lists a day twice")
    return HolidayPeriod(name=name.strip(), first=first, last=last, working_days=working)


def _date(value: Any, year: int, where: str) -> date:
    # tomllib gives a bare TOML date as ``date`` and a date-time as ``datetime`` (a subclass).
    if not isinstance(value, date) or isinstance(value, datetime):
        raise AnnouncementInvalid(f"{where}: write a bare TOML date such as {year}-10-01")
    earliest = date(year, 1, 1) - timedelta(days=SPILL_DAYS)
    latest = date(year, 12, 31) + timedelta(days=SPILL_DAYS)
    if not earliest <= value <= latest:
        raise AnnouncementInvalid(f"{where}: {value} is too far from the year {year}")
    return value


def _check_within(holidays: tuple[HolidayPeriod, ...], where: str) -> None:
    ordered = sorted(holidays, key=lambda period: period.first)
    for before, after in pairwise(ordered):
        if after.first <= before.last:
            raise AnnouncementInvalid(f"{where}: holidays {before.name} and {after.name} overlap")


def _check_across(announcements: tuple[Announcement, ...], origin: str) -> None:
    seen: dict[int, int] = {}
    off: set[date] = set()
    working: set[date] = set()
    for index, announcement in enumerate(announcements):
        if announcement.year in seen:
            raise AnnouncementInvalid(
                f"{origin}: announcement[{index}] repeats the year {announcement.year}"
                f" of announcement[{seen[announcement.year]}]"
            )
        seen[announcement.year] = index
        off |= announcement.days_off
        working |= announcement.working_days
    clash = sorted(off & working)
    if clash:
        raise AnnouncementInvalid(f"{origin}: {clash[0]} is announced both off and working")
    # Two notices naming the same day off (a spill-over repeated) are harmless; only a
    # contradiction is refused.


def _no_unknown_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise AnnouncementInvalid(
            f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )
