"""Time as the field side stores and shows it: aware UTC datetimes, RFC 3339 with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["now", "rfc3339"]


def now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive values; we only ever store UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
