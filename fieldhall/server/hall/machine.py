"""The case workflow as one explicit state machine: every state, every transition, who may
trigger it and the ``case_event`` it emits — in the one table :data:`TRANSITIONS`.

Pure: no I/O. :mod:`fieldhall.server.hall.workflow` carries the transitions out (in the
database, audited, signed); nothing else decides whether a case may move.

::

    (device case) ──receive──▶ received ──pass_pre_review──▶ pre_review
                                 │  ▲                          │
                    issue_notice │  │ supplement_received      ├─accept──────────────▶ accepted ─┐
                                 ▼  │ (the device answers)     └─accept_with_deficiencies─▶ awd ─┤
                                notice ◀──── issue_notice (补正 during review) ──────────────────┤
                                                                                                 │
      decide_step (each department of each catalog step; parallel steps in any order) ◀────────┘
         ├─ the last approval, nothing outstanding ─▶ approved ─┐
         └─ any denial ─────────────────────────────▶ denied ───┴─mark_result_ready─▶ result_ready
      result_ready ──delivered (the agent's signed delivery) / record_delivery (mail, pickup)──▶
      delivered ──close──▶ closed
      refuse: received | pre_review | notice (before acceptance) ─▶ refused
      withdraw: any state before a decision ─▶ withdrawn

``awd`` is ``accepted_with_deficiencies`` (容缺受理): the clock runs, and the case cannot be
approved until the named materials arrive (``deficiencies_supplied`` moves it to
``accepted``). A notice (一次性告知) stops the clock until the supplement arrives.

Complaints (办不成事) do not move a case: they are :data:`OVERLAYS`, actions with their own
clock that any case not yet final can carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "API_ACTIONS",
    "FINAL_STATES",
    "OVERLAYS",
    "STAFF_ROLES",
    "TRANSITIONS",
    "Overlay",
    "State",
    "Transition",
    "Trigger",
    "roles_for",
    "sources_of",
    "transition",
]


class State(StrEnum):
    RECEIVED = "received"  # arrived; waiting for pre-review (预审)
    PRE_REVIEW = "pre_review"  # pre-review passed; waiting for the acceptance decision
    NOTICE = "notice"  # one-time notice (一次性告知) sent; clock stopped (补正)
    ACCEPTED = "accepted"  # 受理; in approval
    ACCEPTED_WITH_DEFICIENCIES = "accepted_with_deficiencies"  # 容缺受理; in approval
    REFUSED = "refused"  # 不予受理 (final)
    APPROVED = "approved"  # 办结: approved
    DENIED = "denied"  # 办结: denied
    RESULT_READY = "result_ready"  # the result (licence, card, decision letter) is ready
    DELIVERED = "delivered"  # 送达
    CLOSED = "closed"  # final
    WITHDRAWN = "withdrawn"  # final: the applicant withdrew


FINAL_STATES = frozenset({State.REFUSED, State.CLOSED, State.WITHDRAWN})
IN_APPROVAL = frozenset({State.ACCEPTED, State.ACCEPTED_WITH_DEFICIENCIES})
BEFORE_DECISION = frozenset({State.RECEIVED, State.PRE_REVIEW, State.NOTICE, *IN_APPROVAL})

STAFF_ROLES = ("admin", "clerk", "approver", "supervisor")
CLERK = frozenset({"clerk"})
APPROVER = frozenset({"approver"})
SYSTEM = frozenset({"system"})


class Trigger(StrEnum):
    STAFF = "staff"  # a staff action (POST /api/v1/cases/{id}/actions/{name})
    DEVICE = "device"  # a device document the projector received
    FOLLOWS = "follows"  # carried out right after another transition, by the same actor


@dataclass(frozen=True, slots=True)
class Transition:
    """``name`` moves a case from one of ``sources`` to ``target`` and emits ``event``.

    ``target`` None: the state does not change (a step decision). ``returns``: the target is
    the state the notice interrupted (``received`` before acceptance). ``event`` None: no
    ``case_event`` is emitted — the contract has none for it, or the device already holds
    the record (its own signed document and the server's receipt). ``roles`` may trigger it
    (``system`` for device-driven ones).
    """

    name: str
    sources: frozenset[State]
    target: State | None
    event: str | None
    roles: frozenset[str]
    trigger: Trigger
    returns: bool = False


def _t(
    name: str,
    sources: set[State] | frozenset[State],
    target: State | None,
    event: str | None,
    roles: frozenset[str],
    trigger: Trigger = Trigger.STAFF,
    *,
    returns: bool = False,
) -> Transition:
    return Transition(name, frozenset(sources), target, event, roles, trigger, returns)


S = State
TRANSITIONS: Mapping[str, Transition] = {
    t.name: t
    for t in (
        # The server's signed receipt (回执) already acknowledges the arrival to the device.
        _t("receive", set(), S.RECEIVED, None, SYSTEM, Trigger.DEVICE),
        _t("pass_pre_review", {S.RECEIVED}, S.PRE_REVIEW, "pre_review_passed", CLERK),
        _t("issue_notice", {S.RECEIVED, S.PRE_REVIEW, *IN_APPROVAL}, S.NOTICE, "notice", CLERK),
        _t(
            "supplement_received",
            {S.NOTICE},
            None,
            "received",
            SYSTEM,
            Trigger.DEVICE,
            returns=True,
        ),
        _t("accept", {S.PRE_REVIEW}, S.ACCEPTED, "accepted", CLERK),
        _t(
            "accept_with_deficiencies",
            {S.PRE_REVIEW},
            S.ACCEPTED_WITH_DEFICIENCIES,
            "accepted_with_deficiencies",
            CLERK,
        ),
        _t(
            "deficiencies_supplied",
            {S.ACCEPTED_WITH_DEFICIENCIES},
            S.ACCEPTED,
            "accepted",
            SYSTEM,
            Trigger.DEVICE,
        ),
        # Before acceptance only (a notice after acceptance ends in a decision, not here).
        _t("refuse", {S.RECEIVED, S.PRE_REVIEW, S.NOTICE}, S.REFUSED, "refused", CLERK),
        _t("decide_step", IN_APPROVAL, None, "step_decided", APPROVER),
        # Only from `accepted`: with deficiencies outstanding a case cannot be approved.
        _t("approve", {S.ACCEPTED}, S.APPROVED, "approved", APPROVER, Trigger.FOLLOWS),
        _t("deny", IN_APPROVAL, S.DENIED, "denied", APPROVER, Trigger.FOLLOWS),
        _t("mark_result_ready", {S.APPROVED, S.DENIED}, S.RESULT_READY, "result_ready", CLERK),
        _t("delivered", {S.RESULT_READY}, S.DELIVERED, None, SYSTEM, Trigger.DEVICE),
        _t("record_delivery", {S.RESULT_READY}, S.DELIVERED, None, CLERK),
        _t("close", {S.DELIVERED}, S.CLOSED, "closed", CLERK),
        _t("withdraw", BEFORE_DECISION, S.WITHDRAWN, "withdrawn", CLERK),
    )
}


@dataclass(frozen=True, slots=True)
class Overlay:
    """A staff action on a case that leaves its state alone (a complaint and its answer)."""

    name: str
    sources: frozenset[State]
    roles: frozenset[str]


NOT_FINAL = frozenset(State) - FINAL_STATES
OVERLAYS: Mapping[str, Overlay] = {
    o.name: o
    for o in (
        Overlay("escalate_complaint", NOT_FINAL, frozenset({"clerk", "supervisor"})),
        Overlay("answer_complaint", frozenset(State), frozenset({"supervisor"})),
    )
}

# Every action a staff member can ask for, in the order the API documents them.
API_ACTIONS: tuple[str, ...] = (
    *(name for name, t in TRANSITIONS.items() if t.trigger is Trigger.STAFF),
    *OVERLAYS,
)


def transition(name: str) -> Transition:
    return TRANSITIONS[name]


def sources_of(name: str) -> frozenset[State]:
    """The states in which transition or overlay ``name`` may happen."""
    return OVERLAYS[name].sources if name in OVERLAYS else TRANSITIONS[name].sources


def roles_for(action: str) -> frozenset[str]:
    """The staff roles that may ask for ``action`` (empty for an unknown one)."""
    if action in OVERLAYS:
        return OVERLAYS[action].roles
    found = TRANSITIONS.get(action)
    if found is None or found.trigger is not Trigger.STAFF:
        return frozenset()
    return found.roles
