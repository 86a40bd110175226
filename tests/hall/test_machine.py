"""The state machine's table, checked as data: every event is one the contract publishes,
every state is reachable, final states are final, staff actions and device triggers are
kept apart."""

from __future__ import annotations

from fieldhall.schemas import document_schema
from fieldhall.server.hall.commands import COMMANDS
from fieldhall.server.hall.machine import (
    API_ACTIONS,
    FINAL_STATES,
    OVERLAYS,
    TRANSITIONS,
    State,
    Trigger,
    roles_for,
)


def test_events_are_the_contracts() -> None:
    published = set(document_schema("case_event")["properties"]["event"]["enum"])
    emitted = {t.event for t in TRANSITIONS.values() if t.event is not None}
    assert emitted <= published
    # Every event of the contract is emitted by some transition.
    assert emitted == published


def test_every_state_is_reachable_from_a_new_case() -> None:
    reached = {State.RECEIVED}
    frontier = [State.RECEIVED]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS.values():
            if state in t.sources:
                targets = {t.target} if t.target else {state}
                if t.returns:
                    targets = {State.RECEIVED, State.ACCEPTED, State.ACCEPTED_WITH_DEFICIENCIES}
                for target in targets - reached:
                    reached.add(target)
                    frontier.append(target)
    assert reached == set(State)


def test_final_states_have_no_way_out() -> None:
    for t in TRANSITIONS.values():
        assert not (t.sources & FINAL_STATES), t.name
    assert not (OVERLAYS["escalate_complaint"].sources & FINAL_STATES)


def test_staff_actions_and_device_triggers_are_apart() -> None:
    for name, t in TRANSITIONS.items():
        if t.trigger is Trigger.DEVICE:
            assert t.roles == {"system"} and name not in API_ACTIONS
        if t.trigger is Trigger.STAFF:
            assert "system" not in t.roles and name in API_ACTIONS
    assert set(API_ACTIONS) == set(COMMANDS)
    assert all(roles_for(a) for a in API_ACTIONS)


def test_approval_cannot_skip_deficiencies() -> None:
    assert TRANSITIONS["approve"].sources == {State.ACCEPTED}
    assert State.ACCEPTED_WITH_DEFICIENCIES in TRANSITIONS["deny"].sources
    assert TRANSITIONS["refuse"].sources.isdisjoint(
        {State.ACCEPTED, State.ACCEPTED_WITH_DEFICIENCIES}
    )
