"""Time limits in working days on the Chinese calendar (ARCHITECTURE, "Hall system").

Pure: no I/O but reading its own ``announcements.toml`` (or a file handed to it), no web
framework, no database. Modules, one concept each: ``calendar`` (working days, holidays and
调休, the weekends-only fallback and its warning), ``announcements`` (hand-kept State Council
notices), ``localday`` (days end at midnight Asia/Shanghai, instants in UTC), ``deadlines``
(legal and promised limits, suspension, status), ``escalation`` (the complaint window, the
hotline timers, the four-step ladder), ``reports`` (the on-time rate), ``errors``.
"""

from __future__ import annotations

from fieldhall.server.hall.timelimits.calendar import (
    CalendarSource,
    CalendarWarning,
    WorkingCalendar,
    default_calendar,
)
from fieldhall.server.hall.timelimits.deadlines import (
    CaseDeadlines,
    ClockReading,
    ClockStatus,
    Deadline,
    Suspension,
    WarningPolicy,
    compute_case_deadlines,
    compute_deadline,
)
from fieldhall.server.hall.timelimits.errors import (
    AnnouncementInvalid,
    InvalidClockInput,
    TimeLimitError,
)
from fieldhall.server.hall.timelimits.escalation import (
    ComplaintComplexity,
    EscalationLadder,
    EscalationStep,
    Milestone,
    Timer,
    Urgency,
    complaint_deadline,
    escalation_step,
    hotline_timers,
)
from fieldhall.server.hall.timelimits.reports import CaseOutcome, OnTimeReport, on_time_rate

__all__ = [
    "AnnouncementInvalid",
    "CalendarSource",
    "CalendarWarning",
    "CaseDeadlines",
    "CaseOutcome",
    "ClockReading",
    "ClockStatus",
    "ComplaintComplexity",
    "Deadline",
    "EscalationLadder",
    "EscalationStep",
    "InvalidClockInput",
    "Milestone",
    "OnTimeReport",
    "Suspension",
    "TimeLimitError",
    "Timer",
    "Urgency",
    "WarningPolicy",
    "WorkingCalendar",
    "complaint_deadline",
    "compute_case_deadlines",
    "compute_deadline",
    "default_calendar",
    "escalation_step",
    "hotline_timers",
    "on_time_rate",
]
