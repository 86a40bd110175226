"""The demo's home-visit plan before it meets a hall: every state a request can end in, the
steps in time order and in the past, each report allowed by the visit state machine, the
escalations the sweeps will find, and the one visit that files a case."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from fieldhall.schemas import load_catalog
from fieldhall.server.demo.people import AGENTS
from fieldhall.server.demo.plan import CATALOG_VERSION, DAY_MINUTES, PlanError
from fieldhall.server.demo.seeding import Timeline
from fieldhall.server.demo.visit_plan import (
    LIVE,
    VISITS,
    VisitPlan,
    VisitStep,
    build_visit_plan,
)
from fieldhall.server.hall.timelimits import (
    EscalationStep,
    Urgency,
    default_calendar,
    escalation_step,
    hotline_timers,
)
from fieldhall.server.hall.visits.machine import STATES, TRANSITIONS, allowed

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)  # a Wednesday, 20:00 in the hall


def instant(timeline: Timeline, step: VisitStep) -> datetime:
    if step.day == LIVE:
        return NOW + timedelta(minutes=step.minute)
    return timeline.instant(step.day, step.minute)


def final_state(plan: VisitPlan) -> str:
    """The state the plan's steps lead to, by the visit state machine."""
    first = plan.steps[0]
    state = "dispatched" if plan.assign else "pending"
    assert first.action == "create"
    for step in plan.steps[1:]:
        if step.action in ("sweep", "file_case"):
            continue
        assert allowed(step.action, state), (plan.number, step.action, state)
        state = TRANSITIONS[step.action][1]
    return state


def test_ten_requests_end_in_every_state_the_plan_says() -> None:
    plans = build_visit_plan()
    assert len(plans) == len(VISITS) == 10
    assert {p.expected for p in plans} == set(STATES)
    assert [final_state(p) for p in plans] == [p.expected for p in plans]
    assert Counter(p.source for p in plans) == {"hotline": 5, "family": 3, "community": 2}
    assert {p.urgency for p in plans} == {"simple", "urgent"}
    agents = {a.slug for a in AGENTS}
    assert {p.agent for p in plans} <= agents


def test_steps_are_in_time_order_and_in_the_past() -> None:
    timeline = Timeline(default_calendar(), NOW)
    for plan in build_visit_plan():
        called = instant(timeline, plan.called)
        moments = [instant(timeline, s) for s in plan.steps]
        assert called <= moments[0] and moments == sorted(moments), plan.number
        assert moments[-1] <= NOW, plan.number
        if plan.called.day != LIVE:
            assert all(0 <= s.minute <= DAY_MINUTES for s in plan.steps), plan.number


def test_the_sweeps_put_the_urgent_ticket_at_the_written_notice() -> None:
    timeline = Timeline(default_calendar(), NOW)
    (late,) = [p for p in build_visit_plan() if p.urgency == "urgent" and p.expected != "done"]
    called = instant(timeline, late.called)
    on_site, _ = hotline_timers(default_calendar(), called, Urgency.URGENT)
    sweeps = [instant(timeline, s) for s in late.steps if s.action == "sweep"]
    assert [escalation_step(on_site, at) for at in sweeps] == [
        EscalationStep.PHONE_REMINDER,
        EscalationStep.WRITTEN_NOTICE,
    ]
    # Still at step 2 when the demo is seeded (the hall's sweeper takes it on from there).
    assert escalation_step(on_site, NOW) == EscalationStep.WRITTEN_NOTICE


def test_one_done_visit_files_a_case_the_catalog_takes_at_home() -> None:
    catalog = load_catalog(CATALOG_VERSION)
    filing = [p for p in build_visit_plan() if any(s.action == "file_case" for s in p.steps)]
    assert len(filing) == 1 and filing[0].expected == "done"
    (plan,) = filing
    actions = [s.action for s in plan.steps]
    assert actions.index("on_site") < actions.index("file_case") < actions.index("done")
    assert plan.matter is not None
    assert "home_visit" in catalog.matter(plan.matter).channels


def test_a_plan_not_starting_with_create_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldhall.server.demo import visit_plan

    broken = (("wang-fang", "hotline", "simple", "grid", None, None, "x", "taken", 1, 60,
               ((0, "taken"),)),)  # fmt: skip
    monkeypatch.setattr(visit_plan, "VISITS", broken)
    with pytest.raises(PlanError, match="must start with create"):
        visit_plan.build_visit_plan()
