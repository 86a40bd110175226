"""The UI's names for the machine's states, actions, channels, clocks and checks.

Marked with ``N_`` so the extractor finds them; pages translate them when they render.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ACTIONS",
    "ADDRESSEES",
    "CASE_LINKS",
    "CHANNELS",
    "CHECKS",
    "CLOCKS",
    "EVENTS",
    "MILESTONES",
    "N_",
    "ROLES",
    "SOURCES",
    "STATES",
    "STATION_ACTIONS",
    "STATION_PHASES",
    "STEPS",
    "UPDATE_OUTCOMES",
    "URGENCIES",
    "VISIT_ACTIONS",
    "VISIT_STATES",
]


def N_(message: str) -> str:
    return message


STATES: Mapping[str, str] = {
    "received": N_("Received"),
    "pre_review": N_("Pre-review passed"),
    "notice": N_("Notice issued"),
    "accepted": N_("Accepted"),
    "accepted_with_deficiencies": N_("Accepted with deficiencies"),
    "refused": N_("Refused"),
    "approved": N_("Approved"),
    "denied": N_("Denied"),
    "result_ready": N_("Result ready"),
    "delivered": N_("Delivered"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}

ACTIONS: Mapping[str, str] = {
    "pass_pre_review": N_("Pass pre-review"),
    "issue_notice": N_("One-time notice"),
    "accept": N_("Accept"),
    "accept_with_deficiencies": N_("Accept with deficiencies"),
    "refuse": N_("Refuse"),
    "decide_step": N_("Approval decision"),
    "mark_result_ready": N_("Result ready"),
    "record_delivery": N_("Record delivery"),
    "close": N_("Close"),
    "withdraw": N_("Withdraw"),
    "escalate_complaint": N_("Escalate a complaint"),
    "answer_complaint": N_("Answer a complaint"),
}

# What the timeline calls each transition, the device's and the system's included.
EVENTS: Mapping[str, str] = {
    **ACTIONS,
    "receive": N_("Filed by the device"),
    "supplement_received": N_("Supplement received"),
    "deficiencies_supplied": N_("Deferred materials supplied"),
    "approve": N_("Approved"),
    "deny": N_("Denied"),
    "delivered": N_("Delivered by the agent"),
}

CHANNELS: Mapping[str, str] = {
    "hall": N_("At the hall"),
    "home_visit": N_("Home visit"),
    "hospital": N_("In hospital"),
    "mobile_station": N_("Mobile station"),
}

DECISIONS: Mapping[str, str] = {"approved": N_("Approved"), "denied": N_("Denied")}

ITEM_KINDS: Mapping[str, str] = {"notice": N_("One-time notice"), "deficiency": N_("Deficiency")}

DELIVERY_METHODS: Mapping[str, str] = {
    "mail": N_("By mail"),
    "pickup": N_("Picked up at the hall"),
    "agent": N_("Handed over by the agent"),
}

# What became of a document the device sent after the case (arrivals.py).
OUTCOMES: Mapping[str, str] = {
    "answered_notice": N_("answers the notice"),
    "answered_deficiency": N_("supplies a deferred material"),
    "stale": N_("arrived too late: nothing was waiting for it"),
    "unmatched": N_("names no notice of this case"),
    "applied": N_("recorded"),
    "ignored": N_("ignored: the case was not waiting for it"),
}

CLOCKS: Mapping[str, str] = {
    "on_time": N_("On time"),
    "warning": N_("Warning"),
    "overdue": N_("Overdue"),
}

CHECKS: Mapping[str, str] = {
    "signature": N_("Signature"),
    "chain": N_("Hash chain"),
    "attachments": N_("Attachment hashes"),
    "receipt": N_("Receipt"),
}

ROLES: Mapping[str, str] = {
    "admin": N_("Administrator"),
    "clerk": N_("Clerk"),
    "approver": N_("Approver"),
    "supervisor": N_("Supervisor"),
}


# ---------------------------------------------------------------------- home visits

# In the board's order: a request moves left to right (hall.visits.machine).
VISIT_STATES: Mapping[str, str] = {
    "pending": N_("Waiting for dispatch"),
    "dispatched": N_("Dispatched"),
    "taken": N_("Taken"),
    "on_site": N_("On site"),
    "cannot_complete": N_("Could not complete"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
}

VISIT_ACTIONS: Mapping[str, str] = {
    "create": N_("New visit request"),
    "dispatch": N_("Dispatch"),
    "reassign": N_("Reassign"),
    "cancel": N_("Cancel the request"),
}

SOURCES: Mapping[str, str] = {
    "hotline": N_("12345 hotline"),
    "community": N_("Community"),
    "family": N_("Family member"),
    "resident": N_("The resident"),
    "hall": N_("At the hall"),
}

URGENCIES: Mapping[str, str] = {"simple": N_("Routine"), "urgent": N_("Urgent")}

# The hotline's timers, by the milestone each waits for (hall.visits.ladder).
MILESTONES: Mapping[str, str] = {
    "dispatched": N_("Dispatch by"),
    "taken": N_("Take by"),
    "on_site": N_("On site by"),
    "closed": N_("Close by"),
}

# The four-step escalation ladder (四步曲), by step number.
STEPS: Mapping[int, str] = {
    1: N_("Phone reminder"),
    2: N_("Written notice"),
    3: N_("Supervisor talk"),
    4: N_("On-site supervision"),
}

ADDRESSEES: Mapping[str, str] = {
    "agent": N_("the agent"),
    "grid": N_("the grid"),
    "clerk": N_("the clerk"),
    "supervisor": N_("e-supervision"),
    "leadership": N_("the hall's leadership"),
}

# What became of an agent's visit_update (hall.visits.arrivals).
UPDATE_OUTCOMES: Mapping[str, str] = {
    "applied": N_("recorded"),
    "stale": N_("too late for the request's state"),
    "unknown_request": N_("names no request"),
    "other_grid": N_("from another grid's agent"),
    "not_assigned": N_("from an agent it is not assigned to"),
    "closed": N_("the request was already closed"),
    "not_dispatched": N_("the request was not dispatched"),
}

# Why a case naming a visit request was not linked to it (hall.visits.arrivals.link_case).
CASE_LINKS: Mapping[str, str] = {
    "unknown_request": N_("names no request"),
    "other_grid": N_("filed by another grid's agent"),
}

# A station event's phase now, in the order the stations page lists them.
STATION_PHASES: Mapping[str, str] = {
    "ongoing": N_("Running now"),
    "upcoming": N_("Upcoming"),
    "ended": N_("Past"),
    "cancelled": N_("Cancelled (station event)"),
}

STATION_ACTIONS: Mapping[str, str] = {
    "create": N_("Create the event"),
    "change": N_("Change the event"),
    "cancel": N_("Cancel the event"),
}
