"""The public face of ``fieldhall.server.hall.timelimits`` is exactly the intended names."""

from __future__ import annotations

import fieldhall.server.hall.timelimits as timelimits
from fieldhall.server.hall.timelimits import errors

INTENDED = {
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
}


def test_exported_names_are_exactly_the_intended_ones() -> None:
    assert set(timelimits.__all__) == INTENDED
    assert all(hasattr(timelimits, name) for name in INTENDED)


def test_every_error_has_a_stable_code_and_one_base() -> None:
    codes = {cls.code for cls in (errors.InvalidClockInput, errors.AnnouncementInvalid)}
    assert codes == {"timelimits.invalid_input", "calendar.announcement_invalid"}
    assert issubclass(errors.InvalidClockInput, errors.TimeLimitError)
    assert issubclass(errors.AnnouncementInvalid, errors.TimeLimitError)
    assert str(errors.InvalidClockInput("x")) == "timelimits.invalid_input: x"
