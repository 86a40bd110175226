"""The inbox and e-supervision: filters and keyset paging, time limits in working days with
suspension, overdue cases with their warning and escalation step, the CSV export.

The hall runs in this process so that a test can set the workflow's clock back: a case
accepted six weeks ago is overdue today.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldhall.field_app_api.client import DeviceClient
from tests.field_fixtures import senior_card_case as senior_case
from tests.hall.support import (
    LocalHall,
    local_hall,
    push,
    real_estate_case,
    supplement,
    wait_projected,
)

pytestmark = pytest.mark.timeout(300)

ALL_PAPERS = [
    "id_card",
    "property_certificate",
    "transfer_contract",
    "tax_certificate",
    "interview_record",
]


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(Path(tmp_path_factory.mktemp("hall"))) as running:
        yield running


@pytest.fixture(scope="module")
def bob(hall: LocalHall) -> DeviceClient:
    return hall.hall.enroll("王建国", "grid-a")


@pytest.fixture(scope="module")
def dan(hall: LocalHall) -> DeviceClient:
    return hall.hall.enroll("刘大年", "grid-b")


@pytest.fixture
def clock(hall: LocalHall) -> Iterator[list[datetime]]:
    """The workflow's clock, settable: ``clock[0] = moment``."""
    now = [datetime.now(UTC)]
    workflow = hall.parts.workflow
    real = workflow.clock
    workflow.clock = lambda: now[0]
    try:
        yield now
    finally:
        workflow.clock = real


def filed(hall: LocalHall, device: DeviceClient, seed: int, *, real_estate: bool = False) -> str:
    doc, files = (
        real_estate_case(device, ALL_PAPERS, seed) if real_estate else senior_case(device, seed)
    )
    push(device, doc, files)
    wait_projected(hall.url)
    return str(doc["_id"])


def test_filters_and_keyset_paging(hall: LocalHall, bob: DeviceClient, dan: DeviceClient) -> None:
    carol = hall.staff("carol")
    ids = [filed(hall, bob, seed) for seed in range(100, 105)]
    estate = filed(hall, dan, 105, real_estate=True)
    carol.ok(ids[0], "pass_pre_review")

    def listed(**params: object) -> list[str]:
        response = carol.get("/api/v1/cases", **params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["cases"]]

    everything = listed(limit=200)
    assert everything.index(estate) < everything.index(ids[-1]) < everything.index(ids[0])
    assert listed(state="pre_review") == [ids[0]]
    assert listed(matter="real_estate_registration", limit=200) == [estate]
    assert estate not in listed(grid="grid-a", limit=200)
    assert listed(grid="grid-b", limit=200) == [estate]
    assert listed(text="李德福", limit=200) == [estate]  # the applicant's name
    assert listed(text=ids[2]) == [ids[2]]
    assert listed(text="100%_") == []  # LIKE wildcards are taken literally

    pages, cursor = [], None
    while True:
        params: dict[str, object] = {"limit": 2, "grid": "grid-a"}
        if cursor:
            params["cursor"] = cursor
        body = carol.get("/api/v1/cases", **params).json()
        pages.append([c["id"] for c in body["cases"]])
        cursor = body["next"]
        if cursor is None:
            break
    flat = [i for page in pages for i in page]
    assert flat == [i for i in everything if i in set(flat)] and set(ids) <= set(flat)
    assert len(flat) == len(set(flat)) and all(len(p) <= 2 for p in pages)
    bad = carol.get("/api/v1/cases", cursor="not-a-cursor!")
    assert bad.status_code == 400 and bad.json()["error"] == "case.bad_cursor"


def test_overdue_cases_warnings_and_export(
    hall: LocalHall, bob: DeviceClient, clock: list[datetime]
) -> None:
    carol, sam = hall.staff("carol"), hall.staff("sam")
    late = filed(hall, bob, 200)
    fresh = filed(hall, bob, 201)
    clock[0] = datetime.now(UTC) - timedelta(days=42)
    carol.ok(late, "pass_pre_review")
    accepted = carol.ok(late, "accept")
    clock[0] = datetime.now(UTC)
    carol.ok(fresh, "pass_pre_review")
    carol.ok(fresh, "accept")
    assert accepted["case"]["due"]["promised"] < datetime.now(UTC).isoformat()

    overdue = [c["id"] for c in carol.get("/api/v1/cases", overdue="true").json()["cases"]]
    assert late in overdue and fresh not in overdue
    assert late not in [
        c["id"] for c in carol.get("/api/v1/cases", overdue="false").json()["cases"]
    ]

    detail = carol.case(late)
    assert detail["clocks"]["promised"]["status"] == "overdue"
    assert detail["clocks"]["legal"]["status"] == "overdue"  # 20 working days: six weeks

    warnings = sam.get("/api/v1/reports/warnings").json()["warnings"]
    mine = next(w for w in warnings if w["case"]["id"] == late)
    assert mine["escalation"]["step"] == 4 and mine["escalation"]["label_zh"] == "现场督办"
    # The 1-day promise warns from the start (预警), but nothing is escalated yet.
    early = next(w for w in warnings if w["case"]["id"] == fresh)
    assert early["clocks"]["promised"]["status"] == "warning"
    assert early["escalation"]["step"] == 0

    summary = sam.get("/api/v1/reports/summary", matter="senior_citizen_card").json()
    assert summary["on_time"]["promised"]["overdue_open"] >= 1
    assert summary["clocks"]["overdue"] >= 1

    export = sam.get("/api/v1/reports/cases.csv", overdue="true")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    row = next(r for r in rows if r["id"] == late)
    assert row["applicant_name"] == "张桂兰" and row["on_time_promised"] == "no"
    assert row["state"] == "accepted" and row["trips"] == "0"


def test_a_notice_during_review_stops_the_clock(
    hall: LocalHall, bob: DeviceClient, clock: list[datetime]
) -> None:
    carol = hall.staff("carol")
    case_id = filed(hall, bob, 300, real_estate=True)
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai
    clock[0] = start
    carol.ok(case_id, "pass_pre_review")
    promised = carol.ok(case_id, "accept")["case"]["due"]["promised"]
    clock[0] = start + timedelta(days=1)
    notice = carol.ok(
        case_id,
        "issue_notice",
        {"items": [{"material_id": "interview_record", "problem": "询问笔录缺签字"}]},
    )
    assert notice["case"]["state"] == "notice" and notice["case"]["suspended"]
    assert notice["case"]["due"]["promised"] is None  # stopped with days in hand
    blocked = hall.staff("rhea").act(case_id, "decide_step", {"decision": "approved"})
    assert blocked.status_code == 409  # no review while the applicant corrects
    clock[0] = start + timedelta(days=3)  # Thursday: Wednesday and Thursday were stopped
    sup, files = supplement(bob, case_id, notice["events"][0]["id"], ["interview_record"], 301)
    push(bob, sup, files)
    wait_projected(hall.url)
    detail = carol.case(case_id)
    assert detail["state"] == "accepted"  # back where the notice found it
    after = detail["due"]["promised"]
    assert after > promised
    # Monday + 5 working days is the next Monday; two stopped days make it Wednesday.
    assert promised.startswith("2026-03-09T16:00:00") and after.startswith("2026-03-11T16:00:00")
