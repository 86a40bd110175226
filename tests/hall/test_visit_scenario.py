"""A home visit through all its timers, through the sync surface (Hanbin's 12345 hotline).

A simple ticket called in 50 minutes ago is typed in late and waits for dispatch: the sweep
reminds the clerk (电话提醒) of the lapsed dispatch timer; dispatched to grid-a, bob's phone
pulls the signed request, is reminded in writing (书面函告) when the take timer is an hour
late, takes it, is on site, files the 老年人优待证 case on the visit (its ``request_id``) and
reports it done; the closure timer is met and nothing escalates any more. An urgent ticket
assigned to dan climbs the whole ladder on its on-site timer — dan, the grid, the
supervisor, the hall's leadership — and its closure timer starts up the ladder too.

The hall runs without its background projector and sweep; the test projects after each push
and sweeps at the instants it names (no sleeping).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.server.hall.audit import verify
from fieldhall.server.hall.visits import HallVisitCase
from tests.field_fixtures import CATALOG_VERSION, jpeg, png
from tests.hall.support import (
    LocalHall,
    create_visit,
    local_hall,
    visit_action,
    visit_detail,
    visit_requests_seen,
    visit_update,
)

pytestmark = pytest.mark.timeout(300)

RESIDENT = {"name": "张桂兰", "address": "汉滨区新城街道南环社区3号楼", "phone": "13800000000"}


@pytest.fixture
def hall(tmp_path: Any) -> Iterator[LocalHall]:
    with local_hall(tmp_path / "hall", projector=False) as running:
        yield running


def project(hall: LocalHall) -> None:
    hall.parts.projector.project_pending()
    hall.parts.visits.publish()


def push(hall: LocalHall, device: DeviceClient, doc: dict[str, Any], files: Any = ()) -> None:
    (result,) = device.push([DeviceClient.with_attachments(doc, files)])
    assert result.get("ok"), result
    project(hall)


def sweep(hall: LocalHall, request_id: str, at: datetime) -> list[tuple[str, int, str]]:
    made = hall.parts.visits.sweep(at)
    return [(e.milestone, int(e.step), e.addressee) for e in made if e.request_id == request_id]


def case_on_visit(
    device: DeviceClient, request_id: str, seed: int
) -> tuple[dict[str, Any], list[Material]]:
    """The signed 老年人优待证 case the agent files at the resident's home, on the request."""
    return device.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={**RESIDENT, "id_number": "610902194501010023"},
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": RESIDENT["address"],
        },
        materials=[
            Material(f"id_front_{seed}.jpg", jpeg(seed), "image/jpeg", "id_card"),
            Material(f"portrait_{seed}.jpg", jpeg(seed + 1000), "image/jpeg", "photo"),
        ],
        consent=Material(f"consent_{seed}.png", png(seed), "image/png", "consent_signature"),
        request_id=request_id,
        location={"lat": 32.68, "lon": 109.03, "accuracy_m": 15},
    )


def timers(detail: dict[str, Any]) -> dict[str, bool | None]:
    return {t["milestone"]: t["met"] for t in detail["timers"]}


class SimulatedClock:
    """The hall's visit clock, set by the test (staff actions happen when it says)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_a_simple_ticket_through_all_its_timers(hall: LocalHall) -> None:
    bob = hall.hall.enroll("王建国", "grid-a")
    carol, sam = hall.staff("carol"), hall.staff("sam")
    called = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    clock = SimulatedClock(called + timedelta(minutes=50))
    hall.parts.visits.clock = clock
    response = create_visit(
        carol,
        {
            "source": "hotline",
            "urgency": "simple",
            "ticket": "12345-2026-004411",
            "resident": RESIDENT,
            "matter_id": "senior_citizen_card",
            "requested_at": called.isoformat(),
            "note": "老人行动不便，需上门办理老年人优待证",
        },
        key="hotline-004411",
    )
    assert response.status_code == 201, response.text
    request_id = response.json()["visit_request"]["id"]

    # Not dispatched in 5 minutes, not taken in 30: the window is phoned (step 1), once.
    assert sweep(hall, request_id, clock.at) == [
        ("dispatched", 1, "clerk"),
        ("taken", 1, "clerk"),
    ]
    assert sweep(hall, request_id, clock.at) == []

    clock.at = called + timedelta(minutes=55)
    reply = visit_action(carol, request_id, "dispatch", {"grid_id": "grid-a"})
    assert reply.status_code == 200, reply.text
    doc = visit_requests_seen(bob)[request_id]  # pulled and verified
    assert doc["matter_id"] == "senior_citizen_card" and doc["assigned_agent_id"] is None

    # The take timer an hour late: a written notice to the grid (step 2).
    late = called + timedelta(hours=1, minutes=31)
    assert sweep(hall, request_id, late) == [("taken", 2, "grid")]

    taken = called + timedelta(hours=1, minutes=40)
    push(hall, bob, visit_update(bob, request_id, "taken", at=taken))
    on_site = called + timedelta(hours=2)
    push(hall, bob, visit_update(bob, request_id, "on_site", at=on_site, note="已到张桂兰家"))
    filed, files = case_on_visit(bob, request_id, seed=41)
    push(hall, bob, filed, files)
    case_id = str(filed["_id"])
    done = called + timedelta(hours=2, minutes=30)
    push(hall, bob, visit_update(bob, request_id, "done", at=done, note="已代办，材料齐全"))
    clock.at = called + timedelta(hours=3)

    detail = visit_detail(sam, request_id)
    assert detail["state"] == "done" and detail["assigned_agent_id"] == bob.state.agent_id
    assert detail["cases"] == [
        {
            "case_id": case_id,
            "agent_id": bob.state.agent_id,
            "linked_at": detail["cases"][0]["linked_at"],
            "outcome": "linked",
        }
    ]
    assert hall.staff("carol").case(case_id)["request_id"] == request_id
    assert timers(detail) == {"dispatched": False, "taken": False, "closed": True}
    reached = {t["milestone"]: t["reached_at"] for t in detail["timers"]}
    assert [datetime.fromisoformat(reached[m]) for m in ("taken", "closed")] == [taken, done]
    assert [(e["kind"], e.get("status") or e.get("label")) for e in detail["timeline"]] == [
        ("escalation", "电话提醒"),
        ("escalation", "电话提醒"),
        ("escalation", "书面函告"),
        ("update", "taken"),
        ("update", "on_site"),
        ("update", "done"),
    ]
    # Closed: later sweeps find nothing, even past the working-day closure limit.
    assert sweep(hall, request_id, called + timedelta(days=15)) == []
    with hall.parts.field.read_session() as session:
        assert verify(session).ok
    actions = _audit(hall, request_id)
    assert actions == [
        "visit.created",
        "visit.escalated",
        "visit.escalated",
        "visit.dispatched",
        "visit.escalated",
        "visit.taken",
        "visit.on_site",
        "visit.case_filed",
        "visit.done",
    ]


def test_an_urgent_ticket_climbs_the_whole_ladder(hall: LocalHall) -> None:
    dan = hall.hall.enroll("李小红", "grid-a")
    called = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=15)
    response = create_visit(
        hall.staff("carol"),
        {
            "source": "family",
            "urgency": "urgent",
            "resident": RESIDENT,
            "assigned_agent_id": dan.state.agent_id,
            "requested_at": called.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    visit = response.json()["visit_request"]
    request_id = visit["id"]
    deadlines = visit["deadlines"]
    assert datetime.fromisoformat(deadlines["on_site_by"]) == called + timedelta(hours=2)
    assert deadlines["take_by"] == deadlines["on_site_by"]
    assert datetime.fromisoformat(deadlines["close_by"]) == called + timedelta(hours=12)
    assert visit_requests_seen(dan)[request_id]["deadlines"]["on_site_by"] is not None

    agent = dan.state.agent_id
    assert sweep(hall, request_id, called + timedelta(hours=1, minutes=59)) == []
    assert sweep(hall, request_id, called + timedelta(hours=2, minutes=1)) == [
        ("on_site", 1, "agent")
    ]
    assert sweep(hall, request_id, called + timedelta(hours=3, minutes=1)) == [
        ("on_site", 2, "grid")
    ]
    assert sweep(hall, request_id, called + timedelta(hours=6)) == [("on_site", 3, "supervisor")]
    assert sweep(hall, request_id, called + timedelta(hours=12, minutes=1)) == [
        ("closed", 1, "agent")
    ]
    assert sweep(hall, request_id, called + timedelta(hours=14, minutes=1)) == [
        ("on_site", 4, "leadership"),
        ("closed", 2, "grid"),
    ]
    detail = visit_detail(hall.staff("sam"), request_id)
    assert detail["escalation_step"] == 4 and detail["overdue"] is True
    escalated_to = [(e["addressee"], e["addressee_id"]) for e in detail["timeline"]]
    assert escalated_to[0] == ("agent", agent) and escalated_to[1] == ("grid", "grid-a")

    push(hall, dan, visit_update(dan, request_id, "on_site"))
    push(hall, dan, visit_update(dan, request_id, "done"))
    assert sweep(hall, request_id, called + timedelta(hours=30)) == []
    detail = visit_detail(hall.staff("sam"), request_id)
    assert detail["state"] == "done" and detail["overdue"] is False
    assert timers(detail) == {"on_site": False, "closed": False}


def test_a_case_naming_an_unknown_request_is_received_and_flagged(hall: LocalHall) -> None:
    bob = hall.hall.enroll("王建国", "grid-a")
    doc, files = case_on_visit(bob, "visit_request:01JZZZZZZZZZZZZZZZZZZZZZZZ", seed=5)
    push(hall, bob, doc, files)
    case = hall.staff("carol").case(str(doc["_id"]))
    assert case["state"] == "received"
    with hall.parts.field.read_session() as session:
        link = session.get(HallVisitCase, str(doc["_id"]))
        assert link is not None and link.outcome == "unknown_request"


def _audit(hall: LocalHall, request_id: str) -> list[str]:
    from sqlalchemy import text

    with hall.parts.field.read_session() as session:
        rows = session.connection().execute(
            text("SELECT action FROM hall_audit_entry WHERE subject_id = :id ORDER BY seq"),
            {"id": request_id},
        )
        return [r[0] for r in rows]


def test_a_phone_syncing_with_the_replicator_gets_and_drops_requests(
    hall: LocalHall, tmp_path: Any
) -> None:
    """The reference field app's own sync (three replications): a dispatched request lands
    in the phone's inbox and verifies; its reassignment arrives as a new revision; a
    cancelled one leaves the inbox."""
    agent = hall.hall.new_agent("王建国", "grid-a")
    bob = DeviceClient.enroll(
        hall.url, str(agent["enrollment_code"]), name="bob", state_path=tmp_path / "bob.json"
    )
    carol = hall.staff("carol")
    first = create_visit(carol, {"source": "community", "resident": RESIDENT, "grid_id": "grid-a"})
    second = create_visit(carol, {"source": "family", "resident": RESIDENT, "grid_id": "grid-a"})
    first_id = first.json()["visit_request"]["id"]
    second_id = second.json()["visit_request"]["id"]
    bob.sync()

    def inbox() -> dict[str, dict[str, Any]]:
        return {s.doc_id: s.doc for s in bob.inbox() if s.doc.get("type") == "visit_request"}

    assert set(inbox()) == {first_id, second_id}
    report = bob.verify()
    assert report.ok and report.verified >= 2

    visit_action(carol, first_id, "reassign", {"agent_id": bob.state.agent_id})
    visit_action(carol, second_id, "cancel", {"reason": "家属已到大厅办理"})
    bob.sync()
    assert set(inbox()) == {first_id}
    assert inbox()[first_id]["assigned_agent_id"] == bob.state.agent_id
    assert bob.verify().ok
