"""The time-limit errors: one base class, one stable code each.

Hierarchy::

    TimeLimitError          timelimits.error                 .code, .message
    ├── InvalidClockInput   timelimits.invalid_input         a value the clocks cannot count
    └── AnnouncementInvalid calendar.announcement_invalid    the hand-kept announcements
                                                             file cannot be read or breaks
                                                             a rule

Foreign exceptions (``tomllib.TOMLDecodeError``, ``OSError``) are caught where they arise
and re-raised as :class:`AnnouncementInvalid`, ``from`` the original.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["AnnouncementInvalid", "InvalidClockInput", "TimeLimitError"]


class TimeLimitError(Exception):
    """Raised when a time-limit computation cannot proceed; see the subclasses."""

    code: ClassVar[str] = "timelimits.error"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(f"{self.code}: {message}")


class InvalidClockInput(TimeLimitError):
    """Raised when an input cannot be counted: a naive datetime, a negative number of
    working days, a suspension that ends before it starts, a promised limit longer than the
    legal one, escalation thresholds out of order."""

    code = "timelimits.invalid_input"


class AnnouncementInvalid(TimeLimitError):
    """Raised when the announcements file cannot be read or parsed, or an announcement in
    it breaks a rule; the message names the file, the entry and the field."""

    code = "calendar.announcement_invalid"
