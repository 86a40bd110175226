"""The hall's day: dates are Asia/Shanghai calendar dates, instants are stored in UTC.

A day begins and ends at midnight in Asia/Shanghai (UTC+8 all year: China has kept no
daylight saving time since 1991). Every instant that enters this package must be aware;
every instant it returns is in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fieldhall.server.hall.timelimits.errors import InvalidClockInput

__all__ = ["HALL_TZ", "day_end", "day_start", "hall_date", "require_aware"]

HALL_TZ = ZoneInfo("Asia/Shanghai")


def require_aware(instant: datetime, what: str) -> datetime:
    """Return ``instant`` in UTC; raise :class:`InvalidClockInput` if it is naive."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidClockInput(f"{what} must be an aware datetime (UTC), got a naive one")
    return instant.astimezone(UTC)


def hall_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date on which ``instant`` falls."""
    return require_aware(instant, "instant").astimezone(HALL_TZ).date()


def day_start(day: date) -> datetime:
    """The UTC instant at which ``day`` begins (00:00 Asia/Shanghai)."""
    return datetime.combine(day, time(0), tzinfo=HALL_TZ).astimezone(UTC)


def day_end(day: date) -> datetime:
    """The UTC instant at which ``day`` ends: the next midnight in Asia/Shanghai."""
    return day_start(day + timedelta(days=1))
