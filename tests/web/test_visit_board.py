"""The dispatch board through HTTP: clerks and supervisors only, every form with its CSRF
token and one-time idempotency key, each carried out by ``VisitService`` as the REST API
does (what the page did is what ``/api/v1/visit-requests`` then says), the hotline's timers
read on the board, the agent's updates and the cases filed on the visit on the detail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from fieldhall.field_app_api.client import DeviceClient, Material
from tests.field_fixtures import CATALOG_VERSION, jpeg, png
from tests.hall.support import (
    LocalHall,
    create_visit,
    local_hall,
    push,
    visit_detail,
    visit_update,
    wait_projected,
)
from tests.web.support import csrf_of, key_of, login

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(tmp_path_factory.mktemp("web-visits")) as running:
        yield running


@pytest.fixture(scope="module")
def agents(hall: LocalHall) -> dict[str, DeviceClient]:
    """bob of grid-a, eve of grid-b (enrolling them makes the grids)."""
    return {
        "bob": hall.hall.enroll("王建国", "grid-a"),
        "eve": hall.hall.enroll("赵大海", "grid-b"),
    }


def agent_id(device: DeviceClient) -> str:
    return str(device.state.agent_id)


def new_request(client: httpx.Client, **fields: str) -> httpx.Response:
    page = client.get("/hall/visits/new").text
    form = {
        "_csrf": csrf_of(page),
        "_key": key_of(page),
        "resident_name": "刘秀英",
        "resident_address": "汉滨区新城街道南环社区5号楼",
        "resident_phone": "13700000000",
        "source": "hotline",
        "urgency": "simple",
        "ticket": "12345-0001",
        "matter_id": "senior_citizen_card",
        "note": "老人行动不便，请上门办理",
        **fields,
    }
    return client.post("/hall/visits/", data=form)


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = re.fullmatch(
        r"/hall/visits/(visit_request:[0-9A-Z]+)\?done=create", response.headers["location"]
    )
    assert found, response.headers["location"]
    return found.group(1)


def listed(hall: LocalHall, **params: Any) -> list[dict[str, Any]]:
    response = hall.staff("carol").get("/api/v1/visit-requests", **params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["visit_requests"]
    return rows


def group_of(page: str, state: str) -> str:
    found = re.search(
        rf'<section class="board-group" id="group-{state}">(.*?)</section>', page, re.S
    )
    assert found, f"no {state} group on the board"
    return found.group(1)


def test_the_board_is_for_clerks_and_supervisors(hall: LocalHall, agents: Any) -> None:
    for username in ("carol", "sam"):
        client = login(hall.url, username)
        board = client.get("/hall/visits")
        assert board.status_code == 200 and "上门服务" in board.text
        assert 'href="/hall/visits"' in client.get("/hall/cases").text  # in the menu
        assert client.get("/hall/visits/new").status_code == 200
    for username in ("rhea", "root"):
        client = login(hall.url, username)
        assert client.get("/hall/visits").status_code == 403
        assert client.get("/hall/visits/new").status_code == 403
        page = client.get("/hall/account" if username == "root" else "/hall/cases").text
        assert 'href="/hall/visits"' not in page
        refused = client.post("/hall/visits/", data={"_csrf": csrf_of(page), "_key": "k"})
        assert refused.status_code == 403
    sam = login(hall.url, "sam")
    sam.get("/hall/lang/en", params={"next": "/hall/visits"})
    english = sam.get("/hall/visits").text
    assert "<h1>Home visits</h1>" in english and "Waiting for dispatch" in english
    anonymous = httpx.get(hall.url + "/hall/visits?grid=grid-a")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/hall/login?next=%2Fhall%2Fvisits%3Fgrid%3Dgrid-a"


def test_a_request_is_created_once_and_only_with_the_token(hall: LocalHall, agents: Any) -> None:
    carol = login(hall.url, "carol")
    before = len(listed(hall))
    page = carol.get("/hall/visits/new").text
    form = {"_key": key_of(page), "resident_name": "刘秀英", "resident_address": "南环社区"}
    assert carol.post("/hall/visits/", data={**form, "source": "hotline"}).status_code == 403
    assert len(listed(hall)) == before
    form |= {"_csrf": csrf_of(page), "source": "family", "urgency": "simple"}
    first = carol.post("/hall/visits/", data=form)
    request_id = created_id(first)
    again = carol.post("/hall/visits/", data=form)  # a resent form replays, creates nothing
    assert again.headers["location"] == first.headers["location"]
    assert len(listed(hall)) == before + 1
    detail = visit_detail(hall.staff("sam"), request_id)
    assert detail["state"] == "pending" and detail["created_by"] == "carol"
    assert detail["source"] == "family" and detail["resident"]["name"] == "刘秀英"
    shown = carol.get(first.headers["location"]).text
    assert "已完成：新建上门服务工单" in shown and "待派单" in shown
    assert 'id="action-dispatch"' in shown and 'id="action-cancel"' in shown
    assert 'id="action-reassign"' not in shown  # a pending request is dispatched, not reassigned


def test_a_refused_form_says_why_and_keeps_what_was_typed(hall: LocalHall, agents: Any) -> None:
    carol = login(hall.url, "carol")
    before = len(listed(hall))
    bad_phone = new_request(carol, resident_phone="12", resident_name="陈德明")
    assert bad_phone.status_code == 400 and "visit.bad_request" in bad_phone.text
    assert 'value="陈德明"' in bad_phone.text  # the clerk does not type it all again
    unknown = new_request(carol, target="agent:nobody")
    assert unknown.status_code == 400 and "visit.unknown_agent" in unknown.text
    assert len(listed(hall)) == before


def test_create_dispatch_on_the_board_and_reflected_in_the_api(
    hall: LocalHall, agents: dict[str, DeviceClient]
) -> None:
    carol = login(hall.url, "carol")
    request_id = created_id(new_request(carol, resident_name="周玉兰"))
    board = carol.get("/hall/visits").text
    pending = group_of(board, "pending")
    assert request_id in pending and "周玉兰" in pending and "12345-0001" in pending
    assert "派单时限" in pending and "剩余" in pending  # the five-minute dispatch timer runs
    assert f'action="/hall/visits/{request_id}/actions/dispatch"' in pending
    bob = agent_id(agents["bob"])
    assert f'value="agent:{bob}"' in pending and 'value="grid:grid-b"' in pending
    form = {
        "_csrf": csrf_of(board),
        "_key": key_of(pending[pending.index(request_id) :]),
        "_back": "board",
        "target": f"agent:{bob}",
    }
    sent = carol.post(f"/hall/visits/{request_id}/actions/dispatch", data=form)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/hall/visits?done=dispatch#{request_id}"
    assert carol.post(f"/hall/visits/{request_id}/actions/dispatch", data=form).status_code == 303
    detail = visit_detail(hall.staff("carol"), request_id)
    assert (detail["state"], detail["grid_id"], detail["assigned_agent_id"]) == (
        "dispatched",
        "grid-a",
        bob,
    )
    assert detail["document"]["version"] == 1  # signed once: the resend was replayed
    board = carol.get(sent.headers["location"]).text
    assert "已完成：派单" in board
    assert request_id in group_of(board, "dispatched") and request_id not in group_of(
        board, "pending"
    )


def test_reassign_and_cancel_from_the_detail_page(
    hall: LocalHall, agents: dict[str, DeviceClient]
) -> None:
    sam = login(hall.url, "sam")  # supervisors may do what clerks do
    request_id = created_id(new_request(sam, target="grid:grid-a"))
    assert visit_detail(hall.staff("sam"), request_id)["state"] == "dispatched"
    page = sam.get(f"/hall/visits/{request_id}").text
    assert 'id="action-reassign"' in page and 'id="action-dispatch"' not in page
    moved = sam.post(
        f"/hall/visits/{request_id}/actions/reassign",
        data={
            "_csrf": csrf_of(page),
            "_key": key_of(page),
            "target": "grid:grid-b",
            "reason": "住址属于grid-b",
        },
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/hall/visits/{request_id}?done=reassign"
    assert visit_detail(hall.staff("carol"), request_id)["grid_id"] == "grid-b"

    page = sam.get(moved.headers["location"]).text
    url = f"/hall/visits/{request_id}/actions/cancel"
    rhea = login(hall.url, "rhea")
    token = csrf_of(rhea.get("/hall/cases").text)
    wrong = rhea.post(url, data={"_csrf": token, "_key": "r1", "reason": "不该由审批人撤销"})
    assert wrong.status_code == 403
    bare = sam.post(url, data={"_csrf": csrf_of(page), "_key": key_of(page)})
    assert bare.status_code == 400 and "visit.bad_request" in bare.text
    assert 'id="action-cancel"' in bare.text  # the form is shown again with the reason
    assert sam.post(url, data={"_key": "k2", "reason": "重复"}).status_code == 403
    assert visit_detail(hall.staff("carol"), request_id)["state"] == "dispatched"
    page = sam.get(f"/hall/visits/{request_id}").text
    done = sam.post(
        url, data={"_csrf": csrf_of(page), "_key": key_of(page), "reason": "群众已自行到大厅办理"}
    )
    assert done.status_code == 303
    detail = visit_detail(hall.staff("carol"), request_id)
    assert detail["state"] == "cancelled" and detail["cancel_reason"] == "群众已自行到大厅办理"
    page = sam.get(f"/hall/visits/{request_id}").text
    assert "群众已自行到大厅办理" in page and "此工单目前无可办理的操作" in page
    again = sam.post(url, data={"_csrf": csrf_of(page), "_key": "other", "reason": "x"})
    assert again.status_code == 409 and "visit.transition_not_allowed" in again.text
    assert request_id in sam.get("/hall/visits", params={"state": "cancelled"}).text
    assert request_id not in sam.get("/hall/visits").text  # the board shows open requests
    missing = sam.get("/hall/visits/visit_request:NOPE")
    assert missing.status_code == 404 and "visit.not_found" in missing.text


def test_overdue_timers_escalation_and_filters(
    hall: LocalHall, agents: dict[str, DeviceClient]
) -> None:
    asked = datetime.now(UTC) - timedelta(hours=2, minutes=30)
    late = create_visit(
        hall.staff("carol"),
        {
            "source": "hotline",
            "urgency": "urgent",
            "resident": {"name": "吴老伯", "address": "江北街道"},
            "grid_id": "grid-b",
            "requested_at": asked.isoformat(),
        },
    ).json()["visit_request"]["id"]
    hall.parts.visits.sweep(datetime.now(UTC))  # the ladder records its first step
    carol = login(hall.url, "carol")
    overdue = carol.get("/hall/visits", params={"overdue": "true"}).text
    assert late in overdue and "已超时30分钟" in overdue  # on site within 2 h: 30 min late
    assert "电话提醒" in overdue and "紧急" in overdue
    on_time = [r["id"] for r in listed(hall) if not r["overdue"]]
    assert on_time and not any(r in overdue for r in on_time)
    assert late not in carol.get("/hall/visits", params={"grid": "grid-a"}).text
    assert late in carol.get("/hall/visits", params={"grid": "grid-b", "urgency": "urgent"}).text
    assert late not in carol.get("/hall/visits", params={"urgency": "simple"}).text
    detail = carol.get(f"/hall/visits/{late}").text
    assert "督办级别" in detail and "电话提醒" in detail and "网格" in detail  # the escalation
    assert "到场时限" in detail and "办结时限" in detail
    assert carol.get("/hall/visits", params={"state": "bogus", "urgency": "x"}).status_code == 200


def test_the_supervision_page_warns_of_late_visit_requests(
    hall: LocalHall, agents: dict[str, DeviceClient]
) -> None:
    asked = datetime.now(UTC) - timedelta(hours=3)
    late = create_visit(
        hall.staff("carol"),
        {
            "source": "hotline",
            "urgency": "urgent",
            "resident": {"name": "钱阿婆", "address": "新城街道"},
            "grid_id": "grid-a",
            "requested_at": asked.isoformat(),
        },
    ).json()["visit_request"]["id"]
    listed_warnings = hall.staff("sam").get("/api/v1/reports/warnings").json()["warnings"]
    visit_rows = [w for w in listed_warnings if w["kind"] == "visit_request"]
    assert late in [w["visit_request"]["id"] for w in visit_rows]
    sam = login(hall.url, "sam")
    page = sam.get("/hall/supervision").text
    rows = re.findall(r'<tr class="row visit-warning">(.*?)</tr>', page, re.S)
    assert len(rows) == len(visit_rows)  # every visit warning of the REST report, no other
    row = next(r for r in rows if late in r)
    assert f'href="/hall/visits/{late}"' in row and "钱阿婆" in row
    assert "上门办理" in row and "badge late" in row  # on site within 2 h: overdue
    sam.get("/hall/lang/en", params={"next": "/hall/supervision"})
    english = sam.get("/hall/supervision").text
    assert "Home visit" in english and "On site by" in english
    carol = login(hall.url, "carol")
    assert carol.get("/hall/supervision").status_code == 403


def case_on(device: DeviceClient, request_id: str, seed: int) -> str:
    """A signed 老年人优待证 case filed at the resident's home, naming the visit request."""
    doc, files = device.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={"name": "刘秀英", "id_number": "610902194501010023", "address": "南环社区"},
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": "南环社区5号楼",
        },
        materials=[Material(f"id_front_{seed}.jpg", jpeg(seed), "image/jpeg", "id_card")],
        consent=Material(f"consent_{seed}.png", png(seed), "image/png", "consent_signature"),
        request_id=request_id,
    )
    push(device, doc, files)
    return str(doc["_id"])


def test_the_agents_updates_and_the_case_filed_on_the_visit(
    hall: LocalHall, agents: dict[str, DeviceClient]
) -> None:
    bob = agents["bob"]
    carol = login(hall.url, "carol")
    request_id = created_id(new_request(carol, target=f"agent:{agent_id(bob)}"))
    push(bob, visit_update(bob, request_id, "taken", note="马上出发"), [])
    push(bob, visit_update(bob, request_id, "on_site"), [])
    doc = case_on(bob, request_id, seed=77)
    stray = case_on(agents["eve"], request_id, seed=78)  # grid-b's agent names it too
    wait_projected(hall.url)
    assert visit_detail(hall.staff("carol"), request_id)["state"] == "on_site"
    page = carol.get(f"/hall/visits/{request_id}").text
    assert "网格员反馈" in page and "已接单" in page and "已到场" in page and "马上出发" in page
    assert f'href="/hall/cases/{doc}"' in page
    assert f'href="/hall/cases/{stray}"' not in page and "由其他网格的网格员提交" in page
    board = carol.get("/hall/visits").text
    assert request_id in group_of(board, "on_site")
