"""Deadlines in working days: legal and promised limits (法定时限 / 承诺时限), suspension, status.

The rules, as a hall counts them:

* **Counted from the day after acceptance.** The acceptance day never counts, whatever the
  hour; the first day that can count is the next one. Days are Asia/Shanghai dates and end
  at midnight there; instants are stored in UTC (``localday``).
* **Only working days count** (``WorkingCalendar``: holidays and 调休 included).
* **The due instant** of a limit of *N* working days is the end of the *N*-th counted day:
  the following midnight in Asia/Shanghai, as a UTC instant. A case concluded *strictly
  before* it is on time; at that instant it is overdue. ``N = 0`` (即办, concluded on the
  day of acceptance) is due at the end of the acceptance day itself.
* **Suspension** (补正期间, the clock stops while the hall waits for the applicant) is a list
  of half-open intervals ``[start, end)``; ``end=None`` means still waiting. Overlaps merge.
* **Partial days — a working day counts if and only if the clock was running when it
  began** (at 00:00 Asia/Shanghai). So the day a correction notice goes out counts (the hall
  worked that morning) and the day the applicant's materials arrive does not (the hall gets
  that afternoon free), which on balance gives the hall one day for two partial days, and
  never charges it for a day the applicant held the file. A suspension that begins and ends
  within one day changes nothing. A suspension from exactly 00:00 removes that day; one
  ending exactly at 00:00 leaves that day counting. Suspensions cannot rescue a case already
  overdue: days after the due day do not move it.
* **Used and left.** At an instant ``now``, *used* is the number of counted days that have
  ended; *left* is ``N - used`` (so on the due day itself one day is left: today), never
  below zero; *overdue_days* is the number of counted days that have ended after the due
  day (zero on the first day overdue — the escalation ladder's measure).
* **Status**: ``overdue`` from the due instant on; otherwise ``warning`` when *left* is at
  most ``WarningPolicy.days_left`` or at most ``WarningPolicy.percent_left`` of *N*;
  otherwise ``on_time``. While the clock is stopped with days in hand there is no due
  instant (``due_at is None``) and a case cannot become overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from fieldhall.server.hall.timelimits.calendar import CalendarWarning, WorkingCalendar
from fieldhall.server.hall.timelimits.errors import InvalidClockInput
from fieldhall.server.hall.timelimits.localday import day_end, day_start, hall_date, require_aware

__all__ = [
    "DEFAULT_WARNING_POLICY",
    "CaseDeadlines",
    "ClockReading",
    "ClockStatus",
    "Deadline",
    "Suspension",
    "WarningPolicy",
    "compute_case_deadlines",
    "compute_deadline",
]


class ClockStatus(StrEnum):
    ON_TIME = "on_time"
    WARNING = "warning"  # 预警
    OVERDUE = "overdue"  # 超期


@dataclass(frozen=True, slots=True)
class Suspension:
    """The clock stopped from ``start`` (inclusive) to ``end`` (exclusive; None: still)."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "suspension start"))
        if self.end is not None:
            end = require_aware(self.end, "suspension end")
            if end < self.start:
                raise InvalidClockInput(f"suspension ends ({end}) before it starts ({self.start})")
            object.__setattr__(self, "end", end)

    def covers(self, instant: datetime) -> bool:
        return self.start <= instant and (self.end is None or instant < self.end)

    def stopped_days(self) -> tuple[date, date | None] | None:
        """The first and last day whose beginning falls inside; None if none, last None if open."""
        first = hall_date(self.start)
        if day_start(first) < self.start:
            first += timedelta(days=1)
        if self.end is None:
            return first, None
        # The last day beginning strictly before ``end``.
        last = hall_date(self.end - timedelta(microseconds=1))
        return (first, last) if first <= last else None


@dataclass(frozen=True, slots=True)
class WarningPolicy:
    """Warn when at most ``days_left`` working days or ``percent_left`` % of the limit remain."""

    days_left: int = 1
    percent_left: int = 20

    def __post_init__(self) -> None:
        if self.days_left < 0 or not 0 <= self.percent_left <= 100:
            raise InvalidClockInput("warning thresholds: days_left >= 0, 0 <= percent_left <= 100")

    def warns(self, left: int, limit: int) -> bool:
        # Integer arithmetic: 20 % of 15 days is exactly 3, never 3.0000000000000004.
        return left <= self.days_left or left * 100 <= self.percent_left * limit


DEFAULT_WARNING_POLICY = WarningPolicy()


@dataclass(frozen=True, slots=True)
class ClockReading:
    """A deadline read at one instant."""

    at: datetime
    status: ClockStatus
    used: int
    left: int
    overdue_days: int
    suspended: bool  # the clock is stopped at ``at``
    due_at: datetime | None
    warnings: tuple[CalendarWarning, ...]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A limit of ``working_days`` counted from ``accepted_at`` (build with compute_deadline)."""

    accepted_at: datetime
    working_days: int
    suspensions: tuple[Suspension, ...]
    # The last counted day (Asia/Shanghai) and the UTC instant it ends; None while the
    # clock is stopped before the limit is used up.
    due_date: date | None
    due_at: datetime | None
    # Working days the suspensions took out, up to the due day (or, while the clock is
    # stopped for good, up to the stop).
    stopped_working_days: int
    warnings: tuple[CalendarWarning, ...]
    calendar: WorkingCalendar = field(repr=False, compare=False)

    @property
    def accepted_on(self) -> date:
        return hall_date(self.accepted_at)

    def reading(
        self, now: datetime, policy: WarningPolicy = DEFAULT_WARNING_POLICY
    ) -> ClockReading:
        """The clock at ``now``: used, left, overdue days and status (module doc)."""
        now = require_aware(now, "now")
        today = hall_date(now)
        stopped = _stopped_ranges(self.suspensions)
        used = _counted(self.calendar, stopped, self.accepted_on, today - timedelta(days=1))
        n = self.working_days
        if self.due_at is not None and now >= self.due_at:
            status = ClockStatus.OVERDUE
        elif policy.warns(max(0, n - used), n):
            status = ClockStatus.WARNING
        else:
            status = ClockStatus.ON_TIME
        horizon = today if self.due_date is None else max(today, self.due_date)
        return ClockReading(
            at=now,
            status=status,
            used=used,
            left=max(0, n - used),
            overdue_days=max(0, used - n),
            suspended=any(s.covers(now) for s in self.suspensions),
            due_at=self.due_at,
            warnings=self.calendar.warnings_between(self.accepted_on, horizon),
        )

    def status(self, now: datetime, policy: WarningPolicy = DEFAULT_WARNING_POLICY) -> ClockStatus:
        return self.reading(now, policy).status

    def concluded_on_time(self, concluded_at: datetime) -> bool:
        """Whether a case concluded at ``concluded_at`` met this limit.

        Strictly before the due instant; or with the clock stopped and days in hand.
        """
        concluded_at = require_aware(concluded_at, "concluded_at")
        return self.due_at is None or concluded_at < self.due_at


@dataclass(frozen=True, slots=True)
class CaseDeadlines:
    """A case's two clocks; None for a limit the matter does not set."""

    legal: Deadline | None
    promised: Deadline | None


def compute_deadline(
    calendar: WorkingCalendar,
    accepted_at: datetime,
    working_days: int,
    suspensions: Iterable[Suspension] = (),
) -> Deadline:
    """The deadline of ``working_days`` counted from the day after ``accepted_at``."""
    accepted_at = require_aware(accepted_at, "accepted_at")
    if isinstance(working_days, bool) or working_days < 0:
        raise InvalidClockInput(f"a limit of {working_days} working days; it must be >= 0")
    held = tuple(suspensions)
    accepted_on = hall_date(accepted_at)
    stopped = _stopped_ranges(held)
    due_date = _due_date(calendar, stopped, accepted_on, working_days)
    if due_date is not None:
        horizon = due_date
        taken = calendar.working_days_between(accepted_on, due_date) - working_days
    else:
        # Stopped for good before the limit ran out: report up to the stop.
        open_from = stopped[-1][0]
        horizon = max(open_from, accepted_on)
        taken = calendar.working_days_between(accepted_on, horizon) - _counted(
            calendar, stopped, accepted_on, horizon
        )
    return Deadline(
        accepted_at=accepted_at,
        working_days=working_days,
        suspensions=held,
        due_date=due_date,
        due_at=day_end(due_date) if due_date is not None else None,
        stopped_working_days=taken,
        warnings=calendar.warnings_between(accepted_on, horizon),
        calendar=calendar,
    )


def compute_case_deadlines(
    calendar: WorkingCalendar,
    accepted_at: datetime,
    *,
    legal_days: int | None,
    promised_days: int | None,
    suspensions: Iterable[Suspension] = (),
) -> CaseDeadlines:
    """The legal and the promised deadline of one case, under the same suspensions."""
    if legal_days is not None and promised_days is not None and promised_days > legal_days:
        raise InvalidClockInput(
            f"the promised limit ({promised_days}) exceeds the legal one ({legal_days})"
        )
    held = tuple(suspensions)

    def clock(days: int | None) -> Deadline | None:
        return None if days is None else compute_deadline(calendar, accepted_at, days, held)

    return CaseDeadlines(legal=clock(legal_days), promised=clock(promised_days))


# A stopped range: the first and last day (None: open-ended) whose start the clock missed.
_Range = tuple[date, date | None]


def _stopped_ranges(suspensions: Iterable[Suspension]) -> list[_Range]:
    """The suspensions' stopped days as sorted, disjoint, non-adjacent ranges."""
    ranges = sorted(
        (span for span in (s.stopped_days() for s in suspensions) if span is not None),
        key=lambda span: span[0],
    )
    merged: list[_Range] = []
    for first, last in ranges:
        if merged:
            top_first, top_last = merged[-1]
            if top_last is None:
                break
            if first <= top_last + timedelta(days=1):
                new_last = None if last is None else max(top_last, last)
                merged[-1] = (top_first, new_last)
                continue
        merged.append((first, last))
    return merged


def _counted(calendar: WorkingCalendar, stopped: list[_Range], after: date, upto: date) -> int:
    """Working days *d* with ``after < d <= upto`` that the clock ran into."""
    if upto <= after:
        return 0
    total = calendar.working_days_between(after, upto)
    for first, last in stopped:
        low = max(after, first - timedelta(days=1))
        high = upto if last is None else min(upto, last)
        if high > low:
            total -= calendar.working_days_between(low, high)
    return total


def _due_date(
    calendar: WorkingCalendar, stopped: list[_Range], accepted_on: date, n: int
) -> date | None:
    if n == 0:
        return accepted_on
    if stopped and stopped[-1][1] is None:
        # Days after an open suspension never count: the limit must run out before it.
        open_from = stopped[-1][0]
        if _counted(calendar, stopped, accepted_on, open_from - timedelta(days=1)) < n:
            return None
    # The answer is at least ``deficit`` working days past any candidate that falls short,
    # so this jumps straight to it when nothing is suspended and converges in a few steps
    # otherwise; the last jump lands on working days that all count, so on a counted day.
    candidate = accepted_on
    deficit = n
    while deficit > 0:
        candidate = calendar.add_working_days(candidate, deficit)
        deficit = n - _counted(calendar, stopped, accepted_on, candidate)
    return candidate
