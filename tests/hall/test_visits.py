"""Home-visit requests: created by the window from a 12345 hotline ticket, dispatched to the
resident's grid as a server-signed ``visit_request``, progressed by the agent's signed
``visit_update`` documents, escalated by the sweep on the hotline's timers.

The hall runs without its background projector and sweep (``projector=False``): each test
projects and sweeps itself, the sweep at instants it chooses (no sleeping). bob and dan are
agents of grid-a, eve of grid-b; carol is the window clerk, sam the supervisor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.field_app_api.keys import sealing_key
from fieldhall.field_app_api.tables import StaffAccount
from fieldhall.schemas.sealing import is_sealed, open_field
from fieldhall.server.hall.audit import verify
from fieldhall.server.hall.tables import HallIdempotency
from fieldhall.server.hall.timelimits import EscalationStep, compute_deadline
from fieldhall.server.hall.visits import HallVisitRequest, VisitEscalation, VisitService
from fieldhall.server.hall.visits.ladder import ADDRESSEES
from fieldhall.server.hall.visits.service import MAX_AHEAD
from tests.hall.support import (
    LocalHall,
    create_visit,
    local_hall,
    visit_action,
    visit_detail,
    visit_requests_seen,
    visit_update,
)

pytestmark = pytest.mark.timeout(180)

RESIDENT = {"name": "张桂兰", "address": "汉滨区新城街道南环社区3号楼2单元", "phone": "13800000000"}


@dataclass
class World:
    hall: LocalHall
    bob: DeviceClient  # grid-a
    dan: DeviceClient  # grid-a
    eve: DeviceClient  # grid-b

    def project(self) -> None:
        self.hall.parts.projector.project_pending()
        self.hall.parts.visits.publish()

    def push(self, device: DeviceClient, doc: dict[str, Any]) -> None:
        (result,) = device.push([doc])
        assert result.get("ok"), result
        self.project()

    @property
    def visits(self) -> VisitService:
        service: VisitService = self.hall.parts.visits
        return service

    def request(self, request_id: str) -> HallVisitRequest:
        with self.hall.parts.field.read_session() as session:
            row = session.get(HallVisitRequest, request_id)
            assert row is not None
            return row


def make_world(hall: LocalHall) -> World:
    return World(
        hall,
        hall.hall.enroll("王建国", "grid-a"),
        hall.hall.enroll("李小红", "grid-a"),
        hall.hall.enroll("赵大海", "grid-b"),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with local_hall(tmp_path_factory.mktemp("visits") / "hall", projector=False) as hall:
        yield make_world(hall)


def agent_of(device: DeviceClient) -> str:
    return str(device.state.agent_id)


def created(world: World, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    response = create_visit(world.hall.staff("carol"), body, **kw)
    assert response.status_code == 201, response.text
    reply: dict[str, Any] = response.json()["visit_request"]
    return reply


def ticket(**fields: Any) -> dict[str, Any]:
    return {"source": "hotline", "urgency": "simple", "resident": dict(RESIDENT), **fields}


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def audit_actions(world: World, request_id: str) -> list[str]:
    from sqlalchemy import text

    with world.hall.parts.field.read_session() as session:
        rows = session.connection().execute(
            text("SELECT action FROM hall_audit_entry WHERE subject_id = :id ORDER BY seq"),
            {"id": request_id},
        )
        return [r[0] for r in rows]


# ---------------------------------------------------------------------- creation and dispatch


def test_a_hotline_ticket_reaches_the_grid_signed_with_the_phone_sealed(world: World) -> None:
    requested = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    visit = created(
        world,
        ticket(
            grid_id="grid-a",
            matter_id="senior_citizen_card",
            ticket="12345-2026-000871",
            requested_at=requested.isoformat(),
        ),
    )
    request_id = visit["id"]
    assert visit["state"] == "dispatched" and visit["grid_id"] == "grid-a"
    assert visit["assigned_agent_id"] is None
    # The hotline's timers run from the call, not from when the clerk typed it in.
    deadlines = visit["deadlines"]
    assert stamp(deadlines["dispatch_by"]) == requested + timedelta(minutes=5)
    assert stamp(deadlines["take_by"]) == requested + timedelta(minutes=30)
    assert deadlines["on_site_by"] is None
    calendar = world.visits.calendar
    assert stamp(deadlines["close_by"]) == compute_deadline(calendar, requested, 5).due_at
    dispatched = {t["milestone"]: t for t in visit["timers"]}["dispatched"]
    assert dispatched["met"] is True and dispatched["overdue"] is False

    # Both agents of grid-a pull it, signed by the server; grid-b's agent never sees it.
    for device in (world.bob, world.dan):
        doc = visit_requests_seen(device)[request_id]
        assert doc["grid_id"] == "grid-a" and doc["source"] == "hotline"
        assert doc["resident"]["name"] == RESIDENT["name"]
        assert stamp(doc["deadlines"]["take_by"]) == stamp(deadlines["take_by"])
        assert doc["signature"]["kid"].startswith("server:")
        assert is_sealed(doc["resident"]["phone"])
    assert request_id not in visit_requests_seen(world.eve)
    with world.hall.parts.field.read_session() as session:
        _, key = sealing_key(session)
    sealed = visit_requests_seen(world.bob)[request_id]["resident"]["phone"]
    assert open_field(sealed, key, request_id, "/resident/phone") == RESIDENT["phone"]

    detail = visit_detail(world.hall.staff("sam"), request_id)
    assert (
        detail["resident"]["phone"] == RESIDENT["phone"] and detail["ticket"] == "12345-2026-000871"
    )
    assert audit_actions(world, request_id) == ["visit.created", "visit.dispatched"]


def test_a_ticket_without_a_grid_waits_for_dispatch(world: World) -> None:
    visit = created(world, ticket())
    request_id = visit["id"]
    assert visit["state"] == "pending" and visit["document"]["version"] == 0
    assert request_id not in visit_requests_seen(world.bob)
    # An id guessed before dispatch takes nothing.
    world.push(world.bob, visit_update(world.bob, request_id, "taken"))
    assert world.request(request_id).state == "pending"

    carol = world.hall.staff("carol")
    bad = visit_action(carol, request_id, "reassign", {"grid_id": "grid-a"})
    assert error(bad) == (409, "visit.transition_not_allowed")
    dan = agent_of(world.dan)
    reply = visit_action(carol, request_id, "dispatch", {"agent_id": dan})
    assert reply.status_code == 200, reply.text
    body = reply.json()["visit_request"]
    assert body["state"] == "dispatched" and body["grid_id"] == "grid-a"
    assert body["assigned_agent_id"] == dan
    assert visit_requests_seen(world.dan)[request_id]["assigned_agent_id"] == dan
    assert request_id in visit_requests_seen(world.bob)  # the grid's channel
    timeline = visit_detail(carol, request_id)["timeline"]
    assert [(e["status"], e["outcome"]) for e in timeline] == [("taken", "not_dispatched")]


def test_reassigning_to_another_grid_moves_the_document(world: World) -> None:
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    assert request_id in visit_requests_seen(world.bob)
    eve = agent_of(world.eve)
    reply = visit_action(
        world.hall.staff("sam"), request_id, "reassign", {"agent_id": eve, "reason": "住址属B网格"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["visit_request"]["grid_id"] == "grid-b"
    assert visit_requests_seen(world.eve)[request_id]["assigned_agent_id"] == eve
    # A document never leaves a channel it was in: grid-a's phones get the new revision,
    # which tells them the request is no longer theirs.
    moved = visit_requests_seen(world.bob)[request_id]
    assert moved["grid_id"] == "grid-b" and moved["assigned_agent_id"] == eve
    assert audit_actions(world, request_id)[-1] == "visit.reassigned"


def test_cancelling_leaves_a_tombstone_in_the_grid(world: World) -> None:
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    carol = world.hall.staff("carol")
    missing = visit_action(carol, request_id, "cancel", {})
    assert error(missing) == (400, "visit.bad_request")
    reply = visit_action(carol, request_id, "cancel", {"reason": "居民已自行办理"})
    assert reply.status_code == 200, reply.text
    body = reply.json()["visit_request"]
    assert body["state"] == "cancelled" and body["open"] is False
    assert all(not t["overdue"] for t in body["timers"])
    docs, _ = world.bob.pull()
    (tombstone,) = [d for d in docs if d["_id"] == request_id]
    assert tombstone.get("_deleted") is True
    again = visit_action(carol, request_id, "cancel", {"reason": "again"})
    assert error(again) == (409, "visit.transition_not_allowed")
    # Devices' updates on a cancelled request change nothing, and are recorded.
    world.push(world.bob, visit_update(world.bob, request_id, "taken"))
    detail = visit_detail(carol, request_id)
    assert detail["state"] == "cancelled"
    assert [e["outcome"] for e in detail["timeline"]] == ["closed"]


# ---------------------------------------------------------------------- the API's edges


def test_roles_are_enforced(world: World) -> None:
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    for name in ("rhea", "root"):  # an approver, an admin
        staff = world.hall.staff(name)
        assert error(create_visit(staff, ticket(grid_id="grid-a"))) == (403, "staff.forbidden")
        assert staff.get("/api/v1/visit-requests").status_code == 403
        assert staff.get(f"/api/v1/visit-requests/{request_id}").status_code == 403
        refused = visit_action(staff, request_id, "cancel", {"reason": "x"})
        assert refused.status_code == 403
    import httpx

    anonymous = httpx.get(world.hall.url + "/api/v1/visit-requests", timeout=10)
    assert anonymous.status_code == 401
    assert world.hall.staff("sam").get("/api/v1/visit-requests").status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"source": "radio", "resident": RESIDENT}, "visit.bad_request"),
        (ticket(urgency="very"), "visit.bad_request"),
        (ticket(resident={**RESIDENT, "phone": "12345"}), "visit.bad_request"),
        (ticket(resident={"name": "张"}), "visit.bad_request"),
        (ticket(grid_id="grid-zz"), "visit.unknown_grid"),
        (ticket(assigned_agent_id="nobody"), "visit.unknown_agent"),
        (ticket(matter_id="no_such_matter"), "visit.unknown_matter"),
        (ticket(requested_at="2026-01-01T00:00:00"), "visit.bad_request"),  # no offset
        (ticket(extra=1), "visit.bad_request"),
    ],
)
def test_bad_requests_get_a_precise_400(world: World, body: dict[str, Any], code: str) -> None:
    assert error(create_visit(world.hall.staff("carol"), body)) == (400, code)


def test_more_bad_requests(world: World) -> None:
    carol = world.hall.staff("carol")
    future = (datetime.now(UTC) + MAX_AHEAD + timedelta(minutes=5)).isoformat()
    assert error(create_visit(carol, ticket(requested_at=future))) == (400, "visit.bad_request")
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    assert error(create_visit(carol, ticket(requested_at=old))) == (400, "visit.bad_request")
    eve = agent_of(world.eve)
    other = ticket(grid_id="grid-a", assigned_agent_id=eve)
    assert error(create_visit(carol, other)) == (400, "visit.agent_of_other_grid")
    assert error(carol.get("/api/v1/visit-requests/visit_request:nope")) == (404, "visit.not_found")
    assert error(visit_action(carol, "visit_request:nope", "cancel", {"reason": "x"})) == (
        404,
        "visit.not_found",
    )
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    assert error(visit_action(carol, request_id, "explode", {})) == (404, "visit.unknown_action")
    assert error(carol.get("/api/v1/visit-requests", cursor="!!")) == (400, "visit.bad_cursor")
    assert error(carol.get("/api/v1/visit-requests", state="lost")) == (400, "visit.bad_filter")
    assert error(carol.get("/api/v1/visit-requests", limit=0)) == (400, "visit.bad_limit")


def test_creation_is_idempotent_by_key(world: World) -> None:
    carol = world.hall.staff("carol")
    body = ticket(grid_id="grid-a", note="老人行动不便")
    first = create_visit(carol, body, key="call-7781")
    again = create_visit(carol, body, key="call-7781")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotency-Replayed") == "true"
    assert first.json()["visit_request"]["id"] == again.json()["visit_request"]["id"]
    other = create_visit(carol, {**body, "note": "另一张工单"}, key="call-7781")
    assert error(other) == (422, "idempotency.key_reused")
    with world.hall.parts.field.read_session() as session:
        count = len(
            session.exec(
                select(HallVisitRequest).where(HallVisitRequest.note == "老人行动不便")
            ).all()
        )
        assert count == 1
        stored = session.get(HallIdempotency, ("carol", "call-7781"))
        assert stored is not None and stored.action == "visit.create"


def test_the_list_filters_and_pages(world: World) -> None:
    carol = world.hall.staff("carol")
    ids = [created(world, ticket(grid_id="grid-b", urgency="urgent"))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"grid": "grid-b", "urgency": "urgent", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = carol.get("/api/v1/visit-requests", **params).json()
        seen += [r["id"] for r in page["visit_requests"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen[:5] == list(reversed(ids))  # newest first, each once
    assert len(seen) == len(set(seen))
    pending = carol.get("/api/v1/visit-requests", state="pending").json()["visit_requests"]
    assert all(r["state"] == "pending" for r in pending)
    # A ticket from three hours ago is overdue on its dispatch and take timers.
    late = created(world, ticket(requested_at=(datetime.now(UTC) - timedelta(hours=3)).isoformat()))
    overdue = carol.get("/api/v1/visit-requests", overdue="true", limit=200).json()
    assert late["id"] in [r["id"] for r in overdue["visit_requests"]]
    assert all(r["overdue"] for r in overdue["visit_requests"])
    on_time = carol.get("/api/v1/visit-requests", overdue="false", limit=200).json()
    assert late["id"] not in [r["id"] for r in on_time["visit_requests"]]


# ---------------------------------------------------------------------- the agent's updates


def test_updates_move_the_request_and_strangers_are_recorded(world: World) -> None:
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    # Taken by bob (nobody was assigned): he is assigned, and the grid sees it.
    world.push(world.bob, visit_update(world.bob, request_id, "taken"))
    row = world.request(request_id)
    assert row.state == "taken" and row.assigned_agent_id == agent_of(world.bob)
    assert row.version == 2 and row.published_version == 2
    assert visit_requests_seen(world.dan)[request_id]["assigned_agent_id"] == agent_of(world.bob)

    # eve (grid-b), dan (not assigned), a request that does not exist, a repeated "taken".
    world.push(world.eve, visit_update(world.eve, request_id, "done"))
    world.push(world.dan, visit_update(world.dan, request_id, "on_site"))
    world.push(
        world.bob, visit_update(world.bob, "visit_request:01JZZZZZZZZZZZZZZZZZZZZZZZ", "taken")
    )
    world.push(world.bob, visit_update(world.bob, request_id, "taken"))
    assert world.request(request_id).state == "taken"

    world.push(world.bob, visit_update(world.bob, request_id, "on_site", note="已到居民家"))
    world.push(world.bob, visit_update(world.bob, request_id, "done", note="已代办"))
    detail = visit_detail(world.hall.staff("carol"), request_id)
    assert detail["state"] == "done" and detail["open"] is False
    outcomes = [(e["status"], e["outcome"]) for e in detail["timeline"] if e["kind"] == "update"]
    assert outcomes == [
        ("taken", "applied"),
        ("done", "other_grid"),
        ("on_site", "not_assigned"),
        ("taken", "stale"),
        ("on_site", "applied"),
        ("done", "applied"),
    ]
    assert detail["timeline"][-1]["note"] == "已代办"
    timers = {t["milestone"]: t for t in detail["timers"]}
    assert timers["taken"]["met"] is True and timers["closed"]["met"] is True
    actions = audit_actions(world, request_id)
    assert actions[-3:] == ["visit.taken", "visit.on_site", "visit.done"]
    with world.hall.parts.field.read_session() as session:
        assert verify(session).ok


def test_cannot_complete_keeps_it_open_for_the_clerk(world: World) -> None:
    bob = agent_of(world.bob)
    request_id = created(world, ticket(assigned_agent_id=bob))["id"]
    world.push(world.bob, visit_update(world.bob, request_id, "cannot_complete", note="家中无人"))
    row = world.request(request_id)
    assert row.state == "cannot_complete" and row.is_open and row.taken_at is None
    dan = agent_of(world.dan)
    reply = visit_action(world.hall.staff("carol"), request_id, "reassign", {"agent_id": dan})
    assert reply.json()["visit_request"]["state"] == "dispatched"
    world.push(world.bob, visit_update(world.bob, request_id, "taken"))
    world.push(world.dan, visit_update(world.dan, request_id, "done"))
    row = world.request(request_id)
    assert row.state == "done" and row.taken_at is not None and row.on_site_at is not None
    outcomes = [
        e["outcome"] for e in visit_detail(world.hall.staff("carol"), request_id)["timeline"]
    ]
    assert outcomes == ["applied", "not_assigned", "applied"]


def test_an_update_signed_before_dispatch_counts_from_dispatch(world: World) -> None:
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    early = datetime.now(UTC) - timedelta(days=1)
    world.push(world.bob, visit_update(world.bob, request_id, "taken", at=early))
    row = world.request(request_id)
    assert row.taken_at is not None and row.dispatched_at is not None
    assert row.taken_at >= row.dispatched_at.replace(tzinfo=row.taken_at.tzinfo)


# ---------------------------------------------------------------------- the sweep


def test_the_sweep_climbs_the_ladder_once_per_step(world: World) -> None:
    requested = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    request_id = created(world, ticket(requested_at=requested.isoformat()))["id"]
    heard: list[VisitEscalation] = []
    world.visits.escalation_listeners.append(lambda tx, e: heard.append(e))
    try:

        def sweep(after: timedelta) -> list[tuple[str, int, str]]:
            made = world.visits.sweep(requested + after)
            return [
                (e.milestone, int(e.step), e.addressee) for e in made if e.request_id == request_id
            ]

        assert sweep(timedelta(minutes=4)) == []
        assert sweep(timedelta(minutes=6)) == [("dispatched", 1, "clerk")]
        assert sweep(timedelta(minutes=6)) == []  # twice at one instant: once
        assert sweep(timedelta(minutes=31)) == [("taken", 1, "clerk")]
        assert sweep(timedelta(minutes=66)) == [("dispatched", 2, "clerk")]
        # Now dispatched to grid-a: the ladder goes on, addressed to the grid.
        visit_action(world.hall.staff("carol"), request_id, "dispatch", {"grid_id": "grid-a"})
        assert sweep(timedelta(hours=4, minutes=31)) == [("taken", 3, "supervisor")]
        assert sweep(timedelta(hours=13)) == [("taken", 4, "leadership")]
        assert sweep(timedelta(hours=14)) == []
    finally:
        world.visits.escalation_listeners.clear()
    assert [e.request_id for e in heard].count(request_id) == 5
    detail = visit_detail(world.hall.staff("sam"), request_id)
    ladder = [(e["milestone"], e["step"], e["label"]) for e in detail["timeline"]]
    assert ladder == [
        ("dispatched", 1, "电话提醒"),
        ("taken", 1, "电话提醒"),
        ("dispatched", 2, "书面函告"),
        ("taken", 3, "会商约谈"),
        ("taken", 4, "现场督办"),
    ]
    assert detail["escalation_step"] == 4
    assert audit_actions(world, request_id).count("visit.escalated") == 5


def test_the_ladder_names_one_addressee_per_step() -> None:
    assert [ADDRESSEES[s] for s in sorted(ADDRESSEES)] == [
        "agent",
        "grid",
        "supervisor",
        "leadership",
    ]
    assert EscalationStep.ONSITE_SUPERVISION.label_zh == "现场督办"


def test_working_day_closure_skips_the_national_day_holiday(world: World) -> None:
    """A simple ticket called in on 2026-09-29 must be closed within 5 working days; the
    National Day holiday (Oct 1–7) does not count, nor push it up the ladder."""
    at = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    service = VisitService(world.hall.parts.field, clock=lambda: at, calendar=world.visits.calendar)
    with world.hall.parts.field.read_session() as session:
        carol = session.get(StaffAccount, "carol")
    assert carol is not None
    bob = agent_of(world.bob)
    visit = service.create(ticket(assigned_agent_id=bob), carol).body["visit_request"]
    close_by = stamp(visit["deadlines"]["close_by"])
    expected = compute_deadline(world.visits.calendar, at, 5).due_at
    assert close_by == expected and close_by > datetime(2026, 10, 8, tzinfo=UTC)
    world.push(world.bob, visit_update(world.bob, visit["id"], "taken", at=at))

    def closed_steps(now: datetime) -> list[int]:
        return [int(e.step) for e in service.sweep(now) if e.request_id == visit["id"]]

    assert closed_steps(datetime(2026, 10, 6, 2, tzinfo=UTC)) == []  # in the holiday
    assert closed_steps(close_by + timedelta(minutes=1)) == [1]
    assert closed_steps(close_by + timedelta(days=1, minutes=1)) == [2]


# ---------------------------------------------------------------------- roles, replays, races

ROLE_OF = {"admin": "root", "clerk": "carol", "approver": "rhea", "supervisor": "sam"}


@pytest.mark.parametrize(
    "operation", ["create", "list", "detail", "dispatch", "reassign", "cancel"]
)
@pytest.mark.parametrize("role", sorted(ROLE_OF))
def test_each_role_and_operation(world: World, role: str, operation: str) -> None:
    """A permitted role gets past the role check to the body check (400), or reads (200);
    a forbidden one gets 403 and the request is untouched."""
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    staff = world.hall.staff(ROLE_OF[role])
    if operation == "create":
        response = create_visit(staff, {"not_a_field": True})
    elif operation == "list":
        response = staff.get("/api/v1/visit-requests")
    elif operation == "detail":
        response = staff.get(f"/api/v1/visit-requests/{request_id}")
    else:
        response = visit_action(staff, request_id, operation, {"not_a_field": True})
    if role in ("clerk", "supervisor"):
        expected = 200 if operation in ("list", "detail") else 400
        assert response.status_code == expected, response.text
        if expected == 400:
            assert response.json()["error"] == "visit.bad_request"
    else:
        assert error(response) == (403, "staff.forbidden")
    assert world.request(request_id).state == "dispatched"


def test_the_cancelled_tombstone_still_verifies_without_its_deleted_flag(world: World) -> None:
    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    visit_action(world.hall.staff("carol"), request_id, "cancel", {"reason": "重复工单"})
    docs, _ = world.dan.pull()
    (tombstone,) = [d for d in docs if d["_id"] == request_id]
    assert tombstone["_deleted"] is True and tombstone["note"] == "已撤销：重复工单"
    world.dan.verify_server_document({k: v for k, v in tombstone.items() if k != "_deleted"})


def test_replaying_the_feed_projects_each_update_once(world: World) -> None:
    from fieldhall.server.hall.tables import ProjectorCheckpoint
    from fieldhall.server.hall.visits import HallVisitUpdate

    request_id = created(world, ticket(grid_id="grid-a"))["id"]
    world.push(world.bob, visit_update(world.bob, request_id, "taken"))
    world.push(world.bob, visit_update(world.bob, request_id, "done"))

    def rows() -> int:
        with world.hall.parts.field.read_session() as session:
            query = select(HallVisitUpdate).where(HallVisitUpdate.request_id == request_id)
            return len(session.exec(query).all())

    assert rows() == 2
    with world.hall.parts.field.session() as session:
        checkpoint = session.get(ProjectorCheckpoint, "hall")
        assert checkpoint is not None
        checkpoint.seq = 0
        session.add(checkpoint)
        session.commit()
    world.project()
    assert rows() == 2
    assert world.request(request_id).updates == 2
    assert audit_actions(world, request_id).count("visit.taken") == 1


def concurrent_sweeps_escalate_once(world: World) -> None:
    """Two workers sweeping the same instant at once record each step once between them."""
    import threading

    requested = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ids = [
        created(world, ticket(grid_id="grid-a", requested_at=requested.isoformat()))["id"]
        for _ in range(3)
    ]
    at = requested + timedelta(hours=1, minutes=10)
    results: list[list[VisitEscalation]] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            results.append(world.visits.sweep(at))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    made = [
        (e.request_id, e.milestone, int(e.step)) for r in results for e in r if e.request_id in ids
    ]
    assert sorted(made) == sorted((i, "taken", 1) for i in ids)  # 40 minutes late
    assert [e for e in world.visits.sweep(at) if e.request_id in ids] == []


def concurrent_retries_create_once(world: World) -> None:
    """The same creation retried at once under one key makes one request."""
    import threading

    carol = world.hall.staff("carol")
    body = ticket(grid_id="grid-a", note="并发重试")
    replies: list[Any] = []
    threads = [
        threading.Thread(target=lambda: replies.append(create_visit(carol, body, key="race-1")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r.status_code for r in replies] == [201] * 4
    assert len({r.json()["visit_request"]["id"] for r in replies}) == 1


def test_concurrent_sweeps_escalate_once(world: World) -> None:
    concurrent_sweeps_escalate_once(world)


def test_concurrent_retries_create_once(world: World) -> None:
    concurrent_retries_create_once(world)


# ---------------------------------------------------------------------- the parts


def test_who_each_step_is_addressed_to() -> None:
    from fieldhall.server.hall.visits.ladder import addressee_of

    def request(grid: str | None, agent: str | None) -> HallVisitRequest:
        return HallVisitRequest(grid_id=grid, assigned_agent_id=agent, created_by="carol")

    step = EscalationStep
    assert addressee_of(step.PHONE_REMINDER, request(None, None)) == ("clerk", "carol")
    assert addressee_of(step.WRITTEN_NOTICE, request(None, None)) == ("clerk", "carol")
    assert addressee_of(step.TALK, request(None, None)) == ("supervisor", None)
    assert addressee_of(step.PHONE_REMINDER, request("grid-a", None)) == ("grid", "grid-a")
    assert addressee_of(step.PHONE_REMINDER, request("grid-a", "a1")) == ("agent", "a1")
    assert addressee_of(step.WRITTEN_NOTICE, request("grid-a", "a1")) == ("grid", "grid-a")
    assert addressee_of(step.ONSITE_SUPERVISION, request("grid-a", "a1")) == ("leadership", None)


def test_the_state_table_is_closed() -> None:
    from fieldhall.server.hall.visits.machine import OPEN_STATES, STATES, TRANSITIONS

    for sources, target in TRANSITIONS.values():
        assert target in STATES and sources <= set(STATES)
    assert TRANSITIONS["cancel"][0] == OPEN_STATES
    assert not any("done" in s or "cancelled" in s for s, _ in TRANSITIONS.values())


def test_the_background_sweeper_escalates_on_its_own_clock(world: World) -> None:
    from fieldhall.server.hall.visits import HallVisitEscalation, VisitSweeper

    requested = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    request_id = created(world, ticket(requested_at=requested.isoformat()))["id"]
    service = VisitService(
        world.hall.parts.field,
        clock=lambda: requested + timedelta(days=1),
        calendar=world.visits.calendar,
    )
    sweeper = VisitSweeper(service, interval=0.05).start()
    try:
        for _ in range(200):
            with world.hall.parts.field.read_session() as session:
                rows = session.exec(
                    select(HallVisitEscalation).where(HallVisitEscalation.request_id == request_id)
                ).all()
            if len(rows) == 2:
                break
            threading_event_wait(0.05)
    finally:
        sweeper.stop()
    assert sorted((r.milestone, r.step) for r in rows) == [("dispatched", 4), ("taken", 4)]


def threading_event_wait(seconds: float) -> None:
    import threading

    threading.Event().wait(seconds)


def test_the_package_exports_a_small_face() -> None:
    import fieldhall.server.hall.visits as visits

    assert set(visits.__all__) == {
        "ADDRESSEES",
        "EscalationListener",
        "HallVisitCase",
        "HallVisitEscalation",
        "HallVisitRequest",
        "HallVisitUpdate",
        "VisitEscalation",
        "VisitFilter",
        "VisitOutcome",
        "VisitService",
        "VisitSweeper",
        "link_case",
        "list_requests",
        "receive_update",
        "request_detail",
    }
    assert all(hasattr(visits, name) for name in visits.__all__)
