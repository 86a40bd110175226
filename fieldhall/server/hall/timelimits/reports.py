"""The on-time rate (按期办结率) over a set of cases, as of one instant.

Each case is a :class:`CaseOutcome`: its due instant under the limit being reported (legal
or promised — the caller picks one and says which), and when it concluded, if it has.

* **On time**: concluded strictly before its due instant, or concluded while its clock was
  stopped with days in hand (``due_at is None``; see ``deadlines``).
* **Late**: concluded at or after its due instant.
* **Overdue and still open**: counted as late. Waiting cannot make such a case on time, and
  leaving late cases unconcluded must not keep the rate at 100 %; they are also reported
  separately so the e-supervision page can list them.
* **Pending**: open and not yet due (or stopped with days in hand) — outcome unknown, left
  out of the rate.
* **Excluded**: a matter without that limit — left out and counted.
* A conclusion after ``as_of`` is treated as not concluded yet, so a report as of a past
  instant reproduces what it showed then.

``rate = on_time / (on_time + late + overdue_open)``, None when that is zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fieldhall.server.hall.timelimits.deadlines import Deadline
from fieldhall.server.hall.timelimits.localday import require_aware

__all__ = ["CaseOutcome", "OnTimeReport", "on_time_rate"]


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """One case under one limit: ``has_limit=False`` when the matter sets none."""

    due_at: datetime | None
    concluded_at: datetime | None = None
    has_limit: bool = True

    @classmethod
    def of(cls, deadline: Deadline | None, concluded_at: datetime | None = None) -> CaseOutcome:
        if deadline is None:
            return cls(due_at=None, concluded_at=concluded_at, has_limit=False)
        return cls(due_at=deadline.due_at, concluded_at=concluded_at)


@dataclass(frozen=True, slots=True)
class OnTimeReport:
    as_of: datetime
    on_time: int
    late: int
    overdue_open: int
    pending: int
    excluded: int

    @property
    def judged(self) -> int:
        """The rate's denominator: concluded cases plus open cases already overdue."""
        return self.on_time + self.late + self.overdue_open

    @property
    def rate(self) -> float | None:
        return self.on_time / self.judged if self.judged else None


def on_time_rate(outcomes: Iterable[CaseOutcome], as_of: datetime) -> OnTimeReport:
    as_of = require_aware(as_of, "as_of")
    on_time = late = overdue_open = pending = excluded = 0
    for outcome in outcomes:
        due_at = None if outcome.due_at is None else require_aware(outcome.due_at, "due_at")
        concluded_at = outcome.concluded_at
        if concluded_at is not None and require_aware(concluded_at, "concluded_at") > as_of:
            concluded_at = None
        if not outcome.has_limit:
            excluded += 1
        elif concluded_at is not None:
            if due_at is None or concluded_at < due_at:
                on_time += 1
            else:
                late += 1
        elif due_at is not None and as_of >= due_at:
            overdue_open += 1
        else:
            pending += 1
    return OnTimeReport(
        as_of=as_of,
        on_time=on_time,
        late=late,
        overdue_open=overdue_open,
        pending=pending,
        excluded=excluded,
    )
