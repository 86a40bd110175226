"""Mobile service stations (流动服务站): sam the supervisor plans a station event at Wuyue Plaza
(the seeds' mall in Hanbin); zhou's station phone receives it signed, revised and cancelled,
and no other device sees it; bad plans are refused with precise codes and store nothing; the
event's summary counts the cases the station filed during it, by matter and by department.

The people: **zhou** runs the station ``station-wuyue`` (his agent is in grid-a too, so his
phone may file cases), **qian** staffs another station, **bob** is a grid agent.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.schemas import validate_document
from fieldhall.schemas.signatures import rfc3339_utc
from tests.field_fixtures import CATALOG_VERSION, jpeg, png
from tests.hall.support import HallClient, LocalHall, local_hall, push, wait_projected

pytestmark = pytest.mark.timeout(300)

ROLE_OF = {"admin": "root", "clerk": "carol", "approver": "rhea", "supervisor": "sam"}


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(tmp_path_factory.mktemp("stations")) as running:
        yield running


def _at(delta: timedelta) -> str:
    """An instant to the second, as events are kept."""
    return rfc3339_utc((datetime.now(UTC) + delta).replace(microsecond=0))


def event_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "政务服务进商圈",
        "place": {
            "name": "吾悦广场一楼中庭",
            "address": "安康市汉滨区吾悦广场购物中心一楼",
            "location": {"lat": 32.69, "lon": 109.02},
        },
        "starts_at": _at(timedelta(days=3)),
        "ends_at": _at(timedelta(days=3, hours=8)),
        "departments": ["market_regulation", "housing_fund_center", "civil_affairs"],
        "matters": ["enterprise_establishment", "housing_fund_withdrawal", "senior_citizen_card"],
        "catalog_version": CATALOG_VERSION,
    }
    body.update(changes)
    return body


def create(hall: LocalHall, station: str, body: dict[str, Any], who: str = "sam") -> Any:
    with hall.staff(who).client() as client:
        return client.post(f"/api/v1/stations/{station}/events", json=body)


def created(hall: LocalHall, station: str, body: dict[str, Any]) -> dict[str, Any]:
    response = create(hall, station, body)
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()
    return event


def station_docs(device: DeviceClient) -> list[dict[str, Any]]:
    docs, _ = device.pull()
    return [d for d in docs if d.get("type") == "station_event"]


def test_an_event_reaches_the_station_devices_signed_revised_and_cancelled(
    hall: LocalHall,
) -> None:
    zhou = hall.hall.enroll("周站长", "grid-a", "station-wuyue")
    zhou_spare = hall.hall.enroll("周站长备用机", "grid-a", "station-wuyue")
    qian = hall.hall.enroll("钱站员", "grid-b", "station-park")
    bob = hall.hall.enroll("王建国", "grid-a")
    body = event_body(staff=[zhou.state.agent_id], devices=[zhou.state.device_id])
    event = created(hall, "station-wuyue", body)
    assert event["revision"] == 1 and event["status"] == "scheduled"
    assert event["channel"] == "station:station-wuyue" and event["phase"] == "upcoming"
    assert event["staff"] == [{"agent_id": zhou.state.agent_id, "name": "周站长"}]
    assert event["published"] is True

    (doc,) = station_docs(zhou)
    zhou.verify_server_document(doc)
    validate_document({k: v for k, v in doc.items() if k != "_rev"})
    assert doc["_id"] == event["id"] and doc["revision"] == 1
    assert doc["matters"] == body["matters"] and doc["departments"] == body["departments"]
    assert doc["devices"] == [zhou.state.device_id] and doc["starts_at"] == body["starts_at"]
    assert doc["signature"]["kid"].startswith("server:")
    # Every device of the station reads its channel; nobody else does.
    assert [d["_id"] for d in station_docs(zhou_spare)] == [event["id"]]
    assert station_docs(qian) == [] and station_docs(bob) == []

    sam = hall.staff("sam")
    with sam.client() as client:
        changed = client.patch(
            f"/api/v1/station-events/{event['id']}",
            json={"revision": 1, "title": "政务服务进商圈（第十期）", "note": "公积金窗口下午到"},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["revision"] == 2
        (doc,) = station_docs(zhou)
        zhou.verify_server_document(doc)
        assert (doc["revision"], doc["title"], doc["note"]) == (
            2,
            "政务服务进商圈（第十期）",
            "公积金窗口下午到",
        )
        assert doc["place"] == body["place"] and doc["matters"] == body["matters"]

        cancelled = client.post(
            f"/api/v1/station-events/{event['id']}/cancel",
            json={"reason": "暴雨红色预警，活动延期"},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["phase"] == "cancelled"
        (doc,) = station_docs(zhou)
        zhou.verify_server_document(doc)
        assert (doc["revision"], doc["status"], doc["cancel_reason"]) == (
            3,
            "cancelled",
            "暴雨红色预警，活动延期",
        )
        # The document is one, revised in place: three revisions, one leaf.
        with hall.hall.admin() as admin:
            stored = admin.get(f"/sync/field/{event['id']}", params={"revs": "true"}).json()
        assert stored["_revisions"]["start"] == 3 and len(stored["_revisions"]["ids"]) == 3

        again = client.post(f"/api/v1/station-events/{event['id']}/cancel", json={"reason": "x"})
        assert (again.status_code, again.json()["error"]) == (409, "station_event.cancelled")
        listed = client.get("/api/v1/stations/station-wuyue/events").json()["events"]
        assert [(e["id"], e["revision"]) for e in listed] == [(event["id"], 3)]
        stations = {s["id"]: s for s in client.get("/api/v1/stations").json()["stations"]}
        assert stations["station-wuyue"]["devices"] == 2
        assert stations["station-wuyue"]["next_event"] is None  # cancelled

    health = hall.hall.admin().get("/health").json()
    assert health["unpublished_station_events"] == 0


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"matters": ["passport_renewal"]}, 422, "station_event.unknown_matter"),
        ({"matters": ["real_estate_registration"], "departments": ["real_estate_center"]},
         422, "station_event.matter_not_for_stations"),
        ({"departments": ["ministry_of_magic"]}, 422, "station_event.unknown_department"),
        ({"departments": ["civil_affairs"]}, 422, "station_event.no_department_for_matter"),
        ({"ends_at": _at(timedelta(days=2))}, 422, "station_event.bad_period"),
        ({"ends_at": _at(timedelta(days=40))}, 422, "station_event.bad_period"),
        ({"catalog_version": "1999.1"}, 422, "station_event.unknown_catalog_version"),
        ({"staff": ["agent-nobody"]}, 422, "station_event.unknown_agent"),
        ({"devices": ["dev-nobody"]}, 422, "station_event.device_not_at_station"),
        ({"starts_at": "2026-08-23T09:00:00"}, 400, "station_event.bad_request"),
        ({"priority": "high"}, 400, "station_event.bad_request"),
        ({"matters": []}, 400, "station_event.bad_request"),
        ({"place": {"name": "吾悦广场"}}, 400, "station_event.bad_request"),
    ],
)  # fmt: skip
def test_a_bad_plan_is_refused_precisely_and_stores_nothing(
    hall: LocalHall, changes: dict[str, Any], status: int, code: str
) -> None:
    hall.hall.new_agent("赵站员", "grid-a", "station-checks")
    response = create(hall, "station-checks", event_body(**changes))
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    with hall.staff("sam").client() as client:
        assert client.get("/api/v1/stations/station-checks/events").json()["events"] == []


def test_devices_and_stations_must_be_the_events(hall: LocalHall) -> None:
    other = hall.hall.enroll("孙站员", "grid-a", "station-other")
    hall.hall.new_agent("李站员", "grid-a", "station-devices")
    response = create(hall, "station-devices", event_body(devices=[other.state.device_id]))
    assert (response.status_code, response.json()["error"]) == (
        422,
        "station_event.device_not_at_station",
    )
    missing = create(hall, "station-nowhere", event_body())
    assert (missing.status_code, missing.json()["error"]) == (404, "station.not_found")
    with hall.staff("sam").client() as client:
        unknown = client.get("/api/v1/station-events/station_event:01JH6Y5Q0R3V8K2M4N7P9S1T3W")
        assert (unknown.status_code, unknown.json()["error"]) == (404, "station_event.not_found")


def test_overlaps_stale_changes_and_ended_events_conflict(hall: LocalHall) -> None:
    hall.hall.new_agent("吴站员", "grid-a", "station-rules")
    first = created(hall, "station-rules", event_body())
    overlap = create(
        hall,
        "station-rules",
        event_body(starts_at=_at(timedelta(days=3, hours=4)), ends_at=_at(timedelta(days=4))),
    )
    assert (overlap.status_code, overlap.json()["error"]) == (409, "station_event.overlaps")
    later = created(
        hall,
        "station-rules",
        event_body(starts_at=_at(timedelta(days=5)), ends_at=_at(timedelta(days=5, hours=6))),
    )
    with hall.staff("root").client() as client:  # admins keep events right too
        path = f"/api/v1/station-events/{later['id']}"
        moved = client.patch(path, json={"starts_at": first["starts_at"]})
        assert (moved.status_code, moved.json()["error"]) == (409, "station_event.overlaps")
        ok = client.patch(path, json={"revision": 1, "note": "带上便携打印机"})
        assert ok.status_code == 200, ok.text
        unchanged = client.patch(path, json={"devices": [], "starts_at": later["starts_at"]})
        assert unchanged.status_code == 200 and unchanged.json()["revision"] == 2  # no-op
        stale = client.patch(path, json={"revision": 1, "title": "新标题"})
        assert (stale.status_code, stale.json()["error"]) == (409, "station_event.stale")
        bad = client.patch(path, json={"matters": ["passport_renewal"]})
        assert (bad.status_code, bad.json()["error"]) == (422, "station_event.unknown_matter")
        assert client.get(path).json()["revision"] == 2  # nothing half-stored

    past = created(
        hall,
        "station-rules",
        event_body(starts_at=_at(-timedelta(days=9)), ends_at=_at(-timedelta(days=8))),
    )
    with hall.staff("sam").client() as client:
        ended = client.post(f"/api/v1/station-events/{past['id']}/cancel", json={"reason": "晚了"})
        assert (ended.status_code, ended.json()["error"]) == (409, "station_event.ended")
        assert client.get(f"/api/v1/station-events/{past['id']}").json()["phase"] == "ended"


def test_concurrent_plans_for_one_slot_make_one_event(hall: LocalHall) -> None:
    hall.hall.new_agent("蒋站员", "grid-a", "station-race")
    body = event_body(starts_at=_at(timedelta(days=20)), ends_at=_at(timedelta(days=20, hours=5)))
    answers: list[int] = []
    gate = threading.Barrier(4)

    def plan() -> None:
        gate.wait(30)
        answers.append(create(hall, "station-race", body).status_code)

    threads = [threading.Thread(target=plan) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [201, 409, 409, 409]
    with hall.staff("sam").client() as client:
        assert len(client.get("/api/v1/stations/station-race/events").json()["events"]) == 1


@pytest.mark.parametrize("role", sorted(ROLE_OF))
def test_roles(hall: LocalHall, role: str) -> None:
    hall.hall.new_agent("郑站员", "grid-a", f"station-role-{role}")
    station = f"station-role-{role}"
    who = HallClient(hall.url, ROLE_OF[role])
    manages = role in ("supervisor", "admin")
    response = create(hall, station, event_body(), who=ROLE_OF[role])
    assert response.status_code == (201 if manages else 403), response.text
    event = response.json() if manages else created(hall, station, event_body())
    path = f"/api/v1/station-events/{event['id']}"
    with who.client() as client:
        assert client.get("/api/v1/stations").status_code == 200
        assert client.get(f"/api/v1/stations/{station}/events").status_code == 200
        assert client.get(path).status_code == 200
        writes = [
            client.patch(path, json={"title": "改期"}),
            client.post(f"{path}/cancel", json={"reason": "改期"}),
        ]
        reads = [client.get(f"{path}/summary"), client.get(f"{path}/summary.csv")]
    expected = 200 if manages else 403
    assert [r.status_code for r in writes + reads] == [expected] * 4
    for refused in writes + reads if not manages else []:
        assert refused.json()["error"] == "staff.forbidden"
    anonymous = HallClient(hall.url, "nobody").get("/api/v1/stations")
    assert anonymous.status_code == 401


# ---------------------------------------------------------------------- the summary


def station_case(device: DeviceClient, seed: int, channel: str = "mobile_station") -> Any:
    return device.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={"name": "张桂兰", "id_number": "610902194501010023", "address": "汉滨区"},
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": "汉滨区新城街道南环社区3号楼2单元",
        },
        materials=[
            Material(f"id_{seed}.jpg", jpeg(seed), "image/jpeg", "id_card"),
            Material(f"portrait_{seed}.jpg", jpeg(seed + 500), "image/jpeg", "photo"),
        ],
        consent=Material(f"consent_{seed}.png", png(seed), "image/png", "consent_signature"),
        channel=channel,
    )


def test_the_summary_counts_the_cases_filed_during_the_event(hall: LocalHall) -> None:
    zhou = hall.hall.enroll("冯站长", "grid-a", "station-summary")
    bob = hall.hall.enroll("陈建国", "grid-a")
    event = created(
        hall,
        "station-summary",
        event_body(starts_at=_at(-timedelta(hours=1)), ends_at=_at(timedelta(hours=3))),
    )
    filed = []
    for seed in range(3):
        doc, files = station_case(zhou, 300 + seed)
        push(zhou, doc, files)
        filed.append(doc["_id"])
    # Not the event's: the station's phone on a home visit, and a grid agent's case.
    doc, files = station_case(zhou, 310, channel="home_visit")
    push(zhou, doc, files)
    doc, files = station_case(bob, 320, channel="mobile_station")
    push(bob, doc, files)
    wait_projected(hall.url)
    carol = hall.staff("carol")
    carol.ok(filed[0], "pass_pre_review")
    carol.ok(filed[0], "accept")
    carol.ok(
        filed[1],
        "refuse",
        {"reason": "非本辖区户籍", "legal_basis": "《老年人优待证办理规定》第三条"},
    )

    sam = hall.staff("sam")
    summary = sam.get(f"/api/v1/station-events/{event['id']}/summary").json()
    totals = summary["totals"]
    assert {k: totals[k] for k in ("cases", "accepted", "concluded", "refused", "open")} == {
        "cases": 3,
        "accepted": 1,
        "concluded": 0,
        "refused": 1,
        "open": 2,
    }
    matters = {m["matter_id"]: m for m in summary["by_matter"]}
    senior = matters["senior_citizen_card"]
    assert (senior["cases"], senior["accepted"], senior["refused"], senior["offered"]) == (
        3,
        1,
        1,
        True,
    )
    assert senior["name_zh"] == "老年人优待证办理"
    assert sum(senior["by_state"].values()) == 3 and senior["by_state"]["refused"] == 1
    assert matters["housing_fund_withdrawal"]["cases"] == 0  # offered, nobody came
    assert summary["by_matter"][0]["matter_id"] == "senior_citizen_card"  # busiest first
    departments = {d["department"]: d for d in summary["by_department"]}
    assert departments["civil_affairs"]["cases"] == 3 and departments["civil_affairs"]["present"]
    assert departments["market_regulation"]["cases"] == 0

    response = sam.get(f"/api/v1/station-events/{event['id']}/summary.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    by_key = {(r["dimension"], r["id"]): r for r in rows}
    assert by_key[("matter", "senior_citizen_card")]["cases"] == "3"
    assert by_key[("matter", "senior_citizen_card")]["accepted"] == "1"
    assert by_key[("department", "civil_affairs")]["refused"] == "1"
    assert by_key[("total", event["id"])]["cases"] == "3"


def test_a_station_phone_replicates_the_event_and_its_revisions(
    hall: LocalHall, tmp_path: Path
) -> None:
    """The reference client's replication (what a field app does), not a raw probe."""
    phone = hall.hall.enroll("褚站长", "grid-a", "station-replica", tmp=tmp_path)
    event = created(hall, "station-replica", event_body(devices=[phone.state.device_id]))
    report = phone.sync()
    assert report.verification.ok and not report.verification.invalid

    def held() -> list[dict[str, Any]]:
        return [s.doc for s in phone.inbox() if s.doc.get("type") == "station_event"]

    (doc,) = held()
    assert (doc["_id"], doc["revision"]) == (event["id"], 1)
    with hall.staff("sam").client() as client:
        moved = client.patch(
            f"/api/v1/station-events/{event['id']}",
            json={"ends_at": _at(timedelta(days=3, hours=10)), "revision": 1},
        )
        assert moved.status_code == 200, moved.text
    report = phone.sync()
    assert report.verification.ok and report.verification.verified >= 1
    (doc,) = held()
    assert doc["revision"] == 2
    assert datetime.fromisoformat(doc["ends_at"]) == datetime.fromisoformat(moved.json()["ends_at"])
    phone.close()


def test_times_with_an_offset_are_the_same_instants(hall: LocalHall) -> None:
    hall.hall.new_agent("何站员", "grid-a", "station-offset")
    event = created(
        hall,
        "station-offset",
        event_body(starts_at="2031-08-23T09:00:00+08:00", ends_at="2031-08-23T17:30:00+08:00"),
    )
    assert (event["starts_at"], event["ends_at"]) == (
        "2031-08-23T01:00:00Z",
        "2031-08-23T09:30:00Z",
    )
    overlap = create(
        hall,
        "station-offset",
        event_body(starts_at="2031-08-23T09:00:00Z", ends_at="2031-08-23T10:00:00Z"),
    )
    assert (overlap.status_code, overlap.json()["error"]) == (409, "station_event.overlaps")


def test_the_schema_is_published(hall: LocalHall) -> None:
    schema = httpx.get(hall.url + "/api/v1/schemas/station_event", timeout=30).json()
    assert schema["properties"]["type"] == {"const": "station_event"}
    assert "cancel_reason" in schema["properties"] and "revision" in schema["required"]
