"""Supervised clocks and their escalation: the complaint window, the hotline's visit timers,
and the four-step ladder (四步曲: 电话提醒、书面函告、会商约谈、现场督办).

**Complaint window** (办不成事, Dazhou): simple matters are handled at once (即收即转即办),
general ones answered within 3 working days, complex ones within 5. Counted like any
limit (``deadlines``): from the day after the complaint is received, days ending at
midnight Asia/Shanghai. "At once" is a limit of 0 working days: settled by the end of the
day the complaint was received (the window takes complaints on working days).

**Hotline visit requests** (12345, Hanbin): a simple ticket is dispatched within 5
minutes, taken within 30 minutes and closed within 5 working days; an urgent one has
someone on site within 2 hours and is closed within 12 hours. Every timer runs from the
request time. Minutes and hours are wall-clock time — the hotline answers every day and an
urgent ticket does not wait for Monday; "5 working days" is counted like a case's limit.

**Deadline semantics**, the same for every timer: a milestone reached strictly before
``due_at`` met it; from ``due_at`` on the timer is past due.

**The escalation ladder** turns how far past due a clock is into a step:

============================  ======================  ======================
step                          working-day clocks      minute/hour clocks
============================  ======================  ======================
1 phone reminder  电话提醒      the moment it is due    the moment it is due
2 written notice  书面函告      1 full working day      1 hour past due
3 talk            会商约谈      3 full working days     4 hours past due
4 on-site         现场督办      5 full working days     12 hours past due
============================  ======================  ======================

Why these: a phone call costs nothing, so it comes first and at once. A clock counted in
working days escalates on working days that have fully passed (a weekend or the Spring
Festival does not push a case up the ladder; a suspension after the deadline pauses it):
a written notice the next day, a talk after 3 (the "general" complaint window — what a
general problem may take), the supervisor on site after 5 (the "complex" window; a full
working week late). A minute/hour clock belongs to a live ticket: an hour late warrants a
written notice, half a working day a talk, and 12 hours — one whole urgent cycle — the
supervisor on site. All are fields of :class:`EscalationLadder`, for a hall to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from fieldhall.server.hall.timelimits.calendar import WorkingCalendar
from fieldhall.server.hall.timelimits.deadlines import ClockStatus, Deadline, compute_deadline
from fieldhall.server.hall.timelimits.errors import InvalidClockInput
from fieldhall.server.hall.timelimits.localday import require_aware

__all__ = [
    "COMPLAINT_WORKING_DAYS",
    "DEFAULT_LADDER",
    "ComplaintComplexity",
    "EscalationLadder",
    "EscalationStep",
    "Milestone",
    "Timer",
    "Urgency",
    "complaint_deadline",
    "escalation_step",
    "hotline_timers",
    "step_for_elapsed",
    "step_for_working_days",
]


class ComplaintComplexity(StrEnum):
    SIMPLE = "simple"  # 简单事项: 即收即转即办
    GENERAL = "general"  # 一般事项: 3个工作日内整改反馈
    COMPLEX = "complex"  # 复杂事项: 5个工作日内反馈


COMPLAINT_WORKING_DAYS = {
    ComplaintComplexity.SIMPLE: 0,
    ComplaintComplexity.GENERAL: 3,
    ComplaintComplexity.COMPLEX: 5,
}


class Urgency(StrEnum):
    SIMPLE = "simple"  # 简易事项
    URGENT = "urgent"  # 涉旅和紧急事项


class Milestone(StrEnum):
    DISPATCHED = "dispatched"  # 交办
    TAKEN = "taken"  # 承接
    ON_SITE = "on_site"  # 到场
    CLOSED = "closed"  # 办结
    ANSWERED = "answered"  # a complaint's feedback (反馈)


# The Hanbin hotline's rules (seed 000): "简易事项5分钟交办、30分钟内承接、5个工作日办结";
# urgent: "2小时到场、12小时办结".
SIMPLE_DISPATCH = timedelta(minutes=5)
SIMPLE_TAKE = timedelta(minutes=30)
SIMPLE_CLOSE_WORKING_DAYS = 5
URGENT_ON_SITE = timedelta(hours=2)
URGENT_CLOSE = timedelta(hours=12)


class EscalationStep(IntEnum):
    NONE = 0
    PHONE_REMINDER = 1
    WRITTEN_NOTICE = 2
    TALK = 3
    ONSITE_SUPERVISION = 4

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_LABELS_ZH = {
    EscalationStep.NONE: "未超期",
    EscalationStep.PHONE_REMINDER: "电话提醒",
    EscalationStep.WRITTEN_NOTICE: "书面函告",
    EscalationStep.TALK: "会商约谈",
    EscalationStep.ONSITE_SUPERVISION: "现场督办",
}


@dataclass(frozen=True, slots=True)
class EscalationLadder:
    """When steps 2–4 begin; step 1 begins the moment a clock is due (see module doc)."""

    written_notice_days: int = 1
    talk_days: int = 3
    onsite_days: int = 5
    written_notice_after: timedelta = timedelta(hours=1)
    talk_after: timedelta = timedelta(hours=4)
    onsite_after: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if not 0 < self.written_notice_days < self.talk_days < self.onsite_days:
            raise InvalidClockInput("escalation days must rise: 0 < written < talk < on-site")
        if not timedelta(0) < self.written_notice_after < self.talk_after < self.onsite_after:
            raise InvalidClockInput("escalation times must rise: 0 < written < talk < on-site")


DEFAULT_LADDER = EscalationLadder()


@dataclass(frozen=True, slots=True)
class Timer:
    """One milestone's deadline; ``deadline`` is set when it is counted in working days."""

    milestone: Milestone
    started_at: datetime
    due_at: datetime
    deadline: Deadline | None = None

    def met(self, reached_at: datetime) -> bool:
        return require_aware(reached_at, "reached_at") < self.due_at


def complaint_deadline(
    calendar: WorkingCalendar, received_at: datetime, complexity: ComplaintComplexity
) -> Timer:
    """The complaint window's answer-by timer for a complaint received at ``received_at``."""
    deadline = compute_deadline(calendar, received_at, COMPLAINT_WORKING_DAYS[complexity])
    return _working_day_timer(Milestone.ANSWERED, deadline)


def hotline_timers(
    calendar: WorkingCalendar, requested_at: datetime, urgency: Urgency
) -> tuple[Timer, ...]:
    """A visit request's timers, in the order the milestones are reached."""
    requested_at = require_aware(requested_at, "requested_at")
    if urgency is Urgency.URGENT:
        return (
            Timer(Milestone.ON_SITE, requested_at, requested_at + URGENT_ON_SITE),
            Timer(Milestone.CLOSED, requested_at, requested_at + URGENT_CLOSE),
        )
    close = compute_deadline(calendar, requested_at, SIMPLE_CLOSE_WORKING_DAYS)
    return (
        Timer(Milestone.DISPATCHED, requested_at, requested_at + SIMPLE_DISPATCH),
        Timer(Milestone.TAKEN, requested_at, requested_at + SIMPLE_TAKE),
        _working_day_timer(Milestone.CLOSED, close),
    )


def step_for_working_days(
    days_past_due: int, ladder: EscalationLadder = DEFAULT_LADDER
) -> EscalationStep:
    """The step for a clock already past due by ``days_past_due`` full working days."""
    if days_past_due >= ladder.onsite_days:
        return EscalationStep.ONSITE_SUPERVISION
    if days_past_due >= ladder.talk_days:
        return EscalationStep.TALK
    if days_past_due >= ladder.written_notice_days:
        return EscalationStep.WRITTEN_NOTICE
    return EscalationStep.PHONE_REMINDER


def step_for_elapsed(
    past_due: timedelta, ladder: EscalationLadder = DEFAULT_LADDER
) -> EscalationStep:
    """The step for a clock ``past_due`` beyond its due instant (negative: not yet due)."""
    if past_due < timedelta(0):
        return EscalationStep.NONE
    if past_due >= ladder.onsite_after:
        return EscalationStep.ONSITE_SUPERVISION
    if past_due >= ladder.talk_after:
        return EscalationStep.TALK
    if past_due >= ladder.written_notice_after:
        return EscalationStep.WRITTEN_NOTICE
    return EscalationStep.PHONE_REMINDER


def escalation_step(
    clock: Deadline | Timer, now: datetime, ladder: EscalationLadder = DEFAULT_LADDER
) -> EscalationStep:
    """How far up the ladder an unfinished clock is at ``now``."""
    now = require_aware(now, "now")
    deadline = clock if isinstance(clock, Deadline) else clock.deadline
    if deadline is not None:
        reading = deadline.reading(now)
        if reading.status is not ClockStatus.OVERDUE:
            return EscalationStep.NONE
        return step_for_working_days(reading.overdue_days, ladder)
    assert isinstance(clock, Timer)  # a Deadline always takes the branch above
    return step_for_elapsed(now - clock.due_at, ladder)


def _working_day_timer(milestone: Milestone, deadline: Deadline) -> Timer:
    # Without suspensions a working-day clock always has a due instant.
    assert deadline.due_at is not None
    return Timer(milestone, deadline.accepted_at, deadline.due_at, deadline)
