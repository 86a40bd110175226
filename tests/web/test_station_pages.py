"""The mobile stations pages through HTTP: every staff role reads them, supervisors and
admins plan, change and cancel events with the session's CSRF token through
``StationEvents`` as the REST API does (what the page did is what
``/api/v1/station-events`` then says), and the event's summary shows the REST summary's
numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.server.hall.timelimits.localday import HALL_TZ
from tests.hall.support import LocalHall, local_hall, push, wait_projected
from tests.hall.test_stations import station_case
from tests.web.support import csrf_of, login

pytestmark = pytest.mark.timeout(180)

MATTERS = ["housing_fund_withdrawal", "senior_citizen_card"]
DEPARTMENTS = ["housing_fund_center", "civil_affairs"]


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(tmp_path_factory.mktemp("web-stations")) as running:
        yield running


@pytest.fixture(scope="module")
def zhou(hall: LocalHall) -> DeviceClient:
    """The phone of the station ``station-web`` (its agent is in grid-a too)."""
    return hall.hall.enroll("周站长", "grid-a", "station-web")


def local(moment: datetime) -> str:
    """A ``datetime-local`` value: the hall's wall-clock time, to the minute."""
    return moment.astimezone(HALL_TZ).strftime("%Y-%m-%dT%H:%M")


def form_of(page: str, **fields: Any) -> dict[str, Any]:
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=5)
    form: dict[str, Any] = {
        "_csrf": csrf_of(page),
        "station": "station-web",
        "title": "政务服务进商圈",
        "place_name": "吾悦广场一楼中庭",
        "place_address": "安康市汉滨区吾悦广场购物中心一楼",
        "starts_at": local(starts),
        "ends_at": local(starts + timedelta(hours=8)),
        "matter": MATTERS,
        "department": DEPARTMENTS,
        "note": "带好身份证",
    }
    form.update(fields)
    return form


def event_rest(hall: LocalHall, event_id: str) -> dict[str, Any]:
    response = hall.staff("carol").get(f"/api/v1/station-events/{event_id}")
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()
    return event


def events_rest(hall: LocalHall, station: str) -> list[dict[str, Any]]:
    response = hall.staff("carol").get(f"/api/v1/stations/{station}/events")
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = re.fullmatch(
        r"/hall/station-events/(station_event:[0-9A-Z]+)\?done=create",
        response.headers["location"],
    )
    assert found, response.headers["location"]
    return found.group(1)


def test_every_role_reads_and_only_supervisors_and_admins_plan(
    hall: LocalHall, zhou: DeviceClient
) -> None:
    sam = login(hall.url, "sam")
    page = sam.get("/hall/stations").text
    event_id = created_id(sam.post("/hall/stations/events", data=form_of(page)))
    for username in ("carol", "rhea", "sam", "root"):
        client = login(hall.url, username)
        listing = client.get("/hall/stations")
        assert listing.status_code == 200 and "流动服务站" in listing.text
        assert 'href="/hall/stations"' in listing.text  # in the menu
        assert event_id in listing.text and "即将开始" in listing.text
        detail = client.get(f"/hall/station-events/{event_id}")
        assert detail.status_code == 200 and "吾悦广场一楼中庭" in detail.text
        assert "住房公积金提取" in detail.text and "老年人优待证办理" in detail.text
        manager = username in ("sam", "root")
        assert ('action="/hall/stations/events"' in listing.text) is manager
        assert ('id="summary"' in detail.text) is manager
        assert (f'action="/hall/station-events/{event_id}/cancel"' in detail.text) is manager
        csv = client.get(f"/hall/station-events/{event_id}/summary.csv")
        assert csv.status_code == (200 if manager else 403)
        if not manager:
            token = csrf_of(detail.text)
            refused = [
                client.post("/hall/stations/events", data=form_of(listing.text)),
                client.post(
                    f"/hall/station-events/{event_id}/change",
                    data={**form_of(listing.text), "revision": "1", "title": "改"},
                ),
                client.post(
                    f"/hall/station-events/{event_id}/cancel",
                    data={"_csrf": token, "reason": "不办了", "revision": "1"},
                ),
            ]
            assert [r.status_code for r in refused] == [403, 403, 403]
    assert len(events_rest(hall, "station-web")) == 1
    assert event_rest(hall, event_id)["revision"] == 1  # nothing the refused forms did
    root = login(hall.url, "root")
    assert root.get("/hall/cases").status_code == 403  # admins plan, they do no casework
    assert 'href="/hall/cases?station=' not in root.get(f"/hall/station-events/{event_id}").text
    anonymous = httpx.get(hall.url + "/hall/stations")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/hall/login?next=%2Fhall%2Fstations"
    assert sam.get("/hall/station-events/station_event:NOPE").status_code == 404
    sam.get("/hall/lang/en", params={"next": "/hall/stations"})
    english = sam.get("/hall/stations").text
    assert "<h1>Mobile stations</h1>" in english and "Upcoming" in english
    # Tidy up: the next test plans this station's next days.
    cancel = sam.post(
        f"/hall/station-events/{event_id}/cancel",
        data={"_csrf": csrf_of(english), "reason": "test", "revision": "1"},
    )
    assert cancel.status_code == 303


def test_create_change_and_cancel_are_the_rest_apis(hall: LocalHall, zhou: DeviceClient) -> None:
    sam = login(hall.url, "sam")
    page = sam.get("/hall/stations").text
    form = form_of(
        page,
        station="station-web",
        agent=[zhou.state.agent_id],
        device=[zhou.state.device_id],
        title="政务服务进商圈（第二期）",
    )
    before = len(events_rest(hall, "station-web"))
    assert sam.post("/hall/stations/events", data={**form, "_csrf": "forged"}).status_code == 403
    assert len(events_rest(hall, "station-web")) == before  # nothing stored
    event_id = created_id(sam.post("/hall/stations/events", data=form))
    event = event_rest(hall, event_id)
    assert event["title"] == "政务服务进商圈（第二期）" and event["created_by"] == "sam"
    assert event["matters"] == MATTERS and event["departments"] == DEPARTMENTS
    assert event["staff"] == [{"agent_id": zhou.state.agent_id, "name": "周站长"}]
    assert event["devices"] == [zhou.state.device_id] and event["published"]
    starts = datetime.fromisoformat(event["starts_at"])
    assert local(starts) == form["starts_at"]  # the form's hall time is that instant
    detail = sam.get(f"/hall/station-events/{event_id}?done=create").text
    assert "已完成：创建活动" in detail and "已发布到设备（第1版）" in detail
    assert "周站长" in detail and zhou.state.device_id in detail
    # The same form again: the station holds that slot already.
    again = sam.post("/hall/stations/events", data=form)
    assert again.status_code == 409 and "station_event.overlaps" in again.text
    assert "政务服务进商圈（第二期）" in again.text  # the form kept what was typed
    # A matter the station may not file is refused by the service, with its code.
    wrong = sam.post(
        "/hall/stations/events",
        data={**form, "matter": ["real_estate_registration"], "department": ["real_estate_center"]},
    )
    assert wrong.status_code == 422 and "station_event.matter_not_for_stations" in wrong.text
    bad_time = sam.post("/hall/stations/events", data={**form, "starts_at": "tomorrow"})
    assert bad_time.status_code == 400 and "station_event.bad_request" in bad_time.text
    assert len(events_rest(hall, "station-web")) == before + 1

    later = datetime.fromisoformat(event["ends_at"]) + timedelta(hours=1)
    change = {
        **form_of(detail),
        "title": "政务服务进商圈（延时）",
        "ends_at": local(later),
        "agent": [zhou.state.agent_id],
        "device": [],
        "revision": "1",
    }
    changed = sam.post(f"/hall/station-events/{event_id}/change", data=change)
    assert changed.status_code == 303, changed.text
    assert changed.headers["location"] == f"/hall/station-events/{event_id}?done=change"
    event = event_rest(hall, event_id)
    assert event["revision"] == 2 and event["title"] == "政务服务进商圈（延时）"
    assert datetime.fromisoformat(event["ends_at"]) == later and event["devices"] == []
    assert event["updated_by"] == "sam" and event["note"] == "带好身份证"
    # The same form resent names revision 1: stale, not applied twice.
    stale = sam.post(f"/hall/station-events/{event_id}/change", data=change)
    assert stale.status_code == 409 and "station_event.stale" in stale.text
    assert event_rest(hall, event_id)["revision"] == 2

    detail = sam.get(f"/hall/station-events/{event_id}").text
    assert 'name="revision" value="2"' in detail
    root = login(hall.url, "root")
    no_token = root.post(
        f"/hall/station-events/{event_id}/cancel", data={"reason": "商场停电", "revision": "2"}
    )
    assert no_token.status_code == 403 and event_rest(hall, event_id)["status"] == "scheduled"
    token = csrf_of(root.get(f"/hall/station-events/{event_id}").text)
    cancelled = root.post(
        f"/hall/station-events/{event_id}/cancel",
        data={"_csrf": token, "reason": "商场停电", "revision": "2"},
    )
    assert cancelled.status_code == 303
    event = event_rest(hall, event_id)
    assert (event["status"], event["cancel_reason"]) == ("cancelled", "商场停电")
    assert event["revision"] == 3
    assert event["updated_by"] == "root"
    page = root.get(f"/hall/station-events/{event_id}").text
    assert "商场停电" in page and "已取消" in page and 'action="/hall/station-events' not in page
    twice = root.post(
        f"/hall/station-events/{event_id}/cancel",
        data={"_csrf": token, "reason": "商场停电", "revision": "3"},
    )
    assert twice.status_code == 409 and "station_event.cancelled" in twice.text
    listing = root.get("/hall/stations").text
    cancelled_group = listing.split("已取消", 1)[1]
    assert event_id in cancelled_group


def cells(page: str, table: str) -> dict[str, list[str]]:
    """The numbers of a summary table, by row id."""
    body = re.search(rf'<table class="tally" id="{table}">(.*?)</table>', page, re.S)
    assert body, f"no {table} table"
    rows = re.findall(r'<tr class="tally-row" data-id="([^"]+)">(.*?)</tr>', body.group(1), re.S)
    return {ident: re.findall(r'<td class="num">(\d+)</td>', row) for ident, row in rows}


def test_the_summary_shows_the_rest_summary(hall: LocalHall) -> None:
    feng = hall.hall.enroll("冯站长", "grid-a", "station-sum")
    now = datetime.now(UTC)
    sam = login(hall.url, "sam")
    page = sam.get("/hall/stations").text
    form = form_of(
        page,
        station="station-sum",
        starts_at=local(now - timedelta(hours=1)),
        ends_at=local(now + timedelta(hours=3)),
        device=[feng.state.device_id],
    )
    event_id = created_id(sam.post("/hall/stations/events", data=form))
    filed = []
    for seed in range(3):
        doc, files = station_case(feng, 700 + seed)
        push(feng, doc, files)
        filed.append(doc["_id"])
    doc, files = station_case(feng, 710, channel="home_visit")  # not the event's
    push(feng, doc, files)
    wait_projected(hall.url)
    carol = hall.staff("carol")
    carol.ok(filed[0], "pass_pre_review")
    carol.ok(filed[0], "accept")
    carol.ok(filed[1], "refuse", {"reason": "非本辖区户籍", "legal_basis": "第三条"})

    rest = hall.staff("sam").get(f"/api/v1/station-events/{event_id}/summary").json()
    assert rest["totals"]["cases"] == 3
    detail = sam.get(f"/hall/station-events/{event_id}").text
    counts = ("cases", "accepted", "concluded", "refused", "withdrawn", "open")
    assert cells(detail, "by-matter") == {
        row["matter_id"]: [str(row[c]) for c in counts] for row in rest["by_matter"]
    }
    assert cells(detail, "by-department") == {
        row["department"]: [str(row[c]) for c in counts] for row in rest["by_department"]
    }
    totals = rest["totals"]
    assert re.search(
        rf"活动期间收件 {totals['cases']} 件 · 受理 {totals['accepted']} 件", detail
    ), detail[detail.find('id="summary-totals"') :][:300]
    assert "老年人优待证办理" in detail and "民政局" in detail
    assert 'href="/hall/cases?station=station-sum"' in detail
    assert 'href="/hall/cases?station=station-sum&amp;matter=senior_citizen_card"' in detail
    inbox = sam.get("/hall/cases", params={"station": "station-sum"}).text
    assert all(case_id[-8:] in inbox for case_id in filed)
    csv_page = sam.get(f"/hall/station-events/{event_id}/summary.csv")
    csv_rest = hall.staff("sam").get(f"/api/v1/station-events/{event_id}/summary.csv")
    assert csv_page.status_code == 200 and csv_page.text == csv_rest.text
    assert csv_page.headers["content-type"].startswith("text/csv")
