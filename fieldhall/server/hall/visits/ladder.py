"""A visit request's timers and the four-step escalation ladder, in one place.

The timers are the Hanbin hotline's (``timelimits.escalation.hotline_timers``): a simple
ticket is dispatched within 5 minutes, taken within 30 minutes and closed within 5 working
days; an urgent one has someone on site within 2 hours and is closed within 12 hours, all
counted from ``requested_at`` (when the resident asked). How far past due a timer is picks
the step (``timelimits.escalation.escalation_step``); this module says **who** each step is
addressed to (四步曲, seed 000):

=====  ==========================  ===========================================================
step   action                      addressed to
=====  ==========================  ===========================================================
1      电话提醒 phone reminder      ``agent``: the assigned agent (the grid's agents if none)
2      书面函告 written notice      ``grid``: the grid's leader, through the window clerk
3      会商约谈 talk                ``supervisor``: e-supervision (电子监察) meets the grid
4      现场督办 on-site supervision ``leadership``: the hall's leadership goes on site (red card)
=====  ==========================  ===========================================================

While a request is not dispatched yet (no grid), steps 1 and 2 go to the ``clerk`` who
created it: dispatching is the window's job, not an agent's.

An urgent ticket has no dispatch or take timer of its own ("电话交办": it is phoned through
at once); its document's ``take_by`` is its ``on_site_by`` — whoever is on site has taken it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fieldhall.field_app_api.clock import rfc3339

from ..tables import utc
from ..timelimits import (
    EscalationStep,
    Milestone,
    Timer,
    Urgency,
    WorkingCalendar,
    escalation_step,
    hotline_timers,
)
from .tables import HallVisitRequest

__all__ = [
    "ADDRESSEES",
    "Addressee",
    "TimerReading",
    "addressee_of",
    "reached_at",
    "refresh_due",
    "request_timers",
    "timer_readings",
]

Addressee = str  # "agent" | "grid" | "clerk" | "supervisor" | "leadership"

ADDRESSEES: dict[EscalationStep, Addressee] = {
    EscalationStep.PHONE_REMINDER: "agent",
    EscalationStep.WRITTEN_NOTICE: "grid",
    EscalationStep.TALK: "supervisor",
    EscalationStep.ONSITE_SUPERVISION: "leadership",
}


def addressee_of(step: EscalationStep, request: HallVisitRequest) -> tuple[Addressee, str | None]:
    """Who a step is addressed to, and their id where the request names one."""
    addressee = ADDRESSEES[step]
    if request.grid_id is None and addressee in ("agent", "grid"):
        return "clerk", request.created_by
    if addressee == "agent":
        if request.assigned_agent_id:
            return addressee, request.assigned_agent_id
        return "grid", request.grid_id  # nobody assigned: the grid's agents are reminded
    if addressee == "grid":
        return addressee, request.grid_id
    return addressee, None


def request_timers(
    calendar: WorkingCalendar, requested_at: datetime, urgency: str
) -> tuple[Timer, ...]:
    return hotline_timers(calendar, requested_at, Urgency(urgency))


def reached_at(request: HallVisitRequest, milestone: Milestone) -> datetime | None:
    """When the request reached ``milestone`` (None: not yet)."""
    value = {
        Milestone.DISPATCHED: request.dispatched_at,
        Milestone.TAKEN: request.taken_at,
        Milestone.ON_SITE: request.on_site_at,
        Milestone.CLOSED: request.closed_at,
    }.get(milestone)
    return utc(value)


@dataclass(frozen=True, slots=True)
class TimerReading:
    timer: Timer
    reached_at: datetime | None
    step: EscalationStep  # NONE once reached or while not due

    @property
    def milestone(self) -> Milestone:
        return self.timer.milestone

    def to_json(self) -> dict[str, object]:
        reached = self.reached_at
        return {
            "milestone": self.timer.milestone.value,
            "due_at": rfc3339(self.timer.due_at),
            "reached_at": rfc3339(reached),
            "met": None if reached is None else self.timer.met(reached),
            "overdue": self.step is not EscalationStep.NONE,
            "escalation_step": int(self.step),
            "escalation_label": self.step.label_zh,
        }


def timer_readings(
    calendar: WorkingCalendar, request: HallVisitRequest, now: datetime
) -> list[TimerReading]:
    """Each timer of the request, when it was met, and its step at ``now`` (a cancelled
    request's timers stop)."""
    readings = []
    stopped = not request.is_open
    for timer in request_timers(calendar, utc(request.requested_at) or now, request.urgency):
        reached = reached_at(request, timer.milestone)
        step = (
            EscalationStep.NONE if reached is not None or stopped else escalation_step(timer, now)
        )
        readings.append(TimerReading(timer, reached, step))
    return readings


def refresh_due(calendar: WorkingCalendar, request: HallVisitRequest, at: datetime) -> None:
    """The earliest due instant of a timer the request has not met (None once closed)."""
    if not request.is_open:
        request.next_due_at = None
        return
    pending = [
        r.timer.due_at for r in timer_readings(calendar, request, at) if r.reached_at is None
    ]
    request.next_due_at = min(pending) if pending else None
