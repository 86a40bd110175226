"""The string formats of the contract, checked the same way in documents and forms.

Every timestamp is RFC 3339 with an explicit offset (``Z`` or ``±hh:mm``), upper-case ``T``
and ``Z``; ``signature.signed_at`` must be UTC (``Z``). The regular expressions below are also
written into the published schemas as ``pattern`` (ECMA-262 compatible: no ``\\d``), so a
third-party validator that ignores ``format`` still enforces the shape; ``format`` adds the
calendar check (no 30 February).

``jsonschema`` only checks ``date-time`` with an optional dependency, so the contract brings
its own :data:`FORMAT_CHECKER` with exactly the formats it allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from jsonschema import FormatChecker

__all__ = [
    "DATE_PATTERN",
    "DATE_TIME_PATTERN",
    "EMAIL_PATTERN",
    "FORMATS",
    "FORMAT_CHECKER",
    "FORMAT_CHECKS",
    "UTC_DATE_TIME_PATTERN",
    "is_date",
    "is_email",
    "is_rfc3339",
    "is_rfc3339_utc",
]

DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?"
DATE_TIME_PATTERN = DATE_PATTERN[:-1] + "T" + _TIME + r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
UTC_DATE_TIME_PATTERN = DATE_PATTERN[:-1] + "T" + _TIME + "Z$"
EMAIL_PATTERN = r"^[^@ ]+@[^@ ]+\.[^@ ]+$"

_DATE_TIME = re.compile(DATE_TIME_PATTERN)
_UTC_DATE_TIME = re.compile(UTC_DATE_TIME_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_FRACTION = re.compile(r"\.([0-9]+)")


def is_date(value: object) -> bool:
    """``YYYY-MM-DD`` naming a real calendar day."""
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_rfc3339(value: object) -> bool:
    """An RFC 3339 date-time with an explicit offset, naming a real moment."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return False
    return _parses(value)


def is_rfc3339_utc(value: object) -> bool:
    """An RFC 3339 date-time in UTC (ending ``Z``)."""
    if not isinstance(value, str) or not _UTC_DATE_TIME.match(value):
        return False
    return _parses(value)


def _parses(value: str) -> bool:
    # datetime takes at most 6 fraction digits; RFC 3339 allows more (nanosecond clocks).
    normalised = _FRACTION.sub(lambda m: "." + m.group(1)[:6], value.replace("Z", "+00:00"))
    try:
        datetime.fromisoformat(normalised)
    except ValueError:
        return False
    return True


def _strings_only(check: Callable[[object], bool]) -> Callable[[object], bool]:
    # JSON Schema: ``format`` constrains strings only; ``type`` reports anything else.
    return lambda value: not isinstance(value, str) or check(value)


def is_email(value: object) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value))


# The checks by format name: jsonschema's checker below and the fast validator
# (schemas/validation.py) are given the same functions, so they agree on every value.
FORMAT_CHECKS: dict[str, Callable[[object], bool]] = {
    "date": is_date,
    "date-time": is_rfc3339,
    "email": is_email,
}

FORMAT_CHECKER = FormatChecker(formats=())
for _name, _check in FORMAT_CHECKS.items():
    FORMAT_CHECKER.checks(_name)(_strings_only(_check))

# The ``format`` values a form schema may use; the checker above knows each of them.
FORMATS = frozenset(FORMAT_CHECKS)
