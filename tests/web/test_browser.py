"""The hall UI in Debian's Chromium, driven by playwright-core (``walkthrough.mjs``): a clerk,
two approvers and a supervisor take a real signed case from the device's filing to its
closing, the Python side playing the device between the phases; then the clerk turns a
hotline call into a visit request and dispatches it on the board; the supervisor opens a
mobile station's running event and reads its summary. Screenshots of every screen
go to ``test-artifacts/web/``.

Chromium, Node and playwright-core missing make this test fail, never skip: ``make test``
installs them (``scripts/ensure-chromium.sh``, ``npm ci``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fieldhall.schemas.signatures import rfc3339_utc
from tests.field_fixtures import CATALOG_VERSION, senior_card_case
from tests.hall.support import (
    local_hall,
    push,
    real_estate_case,
    supplement,
    wait_projected,
)
from tests.hall.test_stations import station_case
from tests.servers import REPO

pytestmark = pytest.mark.timeout(600)

CHROMIUM = Path(os.environ.get("FIELDHALL_CHROMIUM", "/usr/bin/chromium"))
SCRIPT = Path(__file__).resolve().parent / "walkthrough.mjs"
ARTIFACTS = REPO / "test-artifacts" / "web"
PHASE_TIMEOUT = 180.0


def _tools() -> str:
    """The node executable; the test fails with what to install when anything is missing."""
    node = shutil.which("node")
    problems = []
    if node is None:
        problems.append("node is not on PATH (apt-get install nodejs)")
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh as root")
    if not (REPO / "node_modules" / "playwright-core" / "package.json").exists():
        problems.append("node_modules/playwright-core is missing: run `npm ci`")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
    assert node is not None
    return node


def run_phase(node: str, phase: str, url: str, case_id: str, **extra: str) -> dict[str, Any]:
    env = {
        **os.environ,
        **extra,
        "HALL_URL": url,
        "CASE_ID": case_id,
        "ARTIFACTS": str(ARTIFACTS),
        "CHROMIUM": str(CHROMIUM),
    }
    done = subprocess.run(
        [node, str(SCRIPT), phase],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=PHASE_TIMEOUT,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{phase}: no result (exit {done.returncode})\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["ok"] and done.returncode == 0, f"{phase} failed:\n{result.get('error')}"
    facts: dict[str, Any] = result["facts"]
    return facts


def test_clerk_approvers_and_supervisor_in_a_real_browser(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    node = _tools()
    with local_hall(tmp_path_factory.mktemp("browser")) as hall:
        bob = hall.hall.enroll("王建国", "grid-a")
        doc, files = real_estate_case(bob, ["id_card", "property_certificate", "interview_record"])
        case_id = str(doc["_id"])
        push(bob, doc, files)
        other, other_files = senior_card_case(bob, seed=2)  # a second row for j/k
        push(bob, other, other_files)
        wait_projected(hall.url)

        def phase(name: str) -> dict[str, Any]:
            return run_phase(node, name, hall.url, case_id)

        before = phase("before")
        assert before["satisfaction"] == "—" and before["on_time_promised"] == "—"
        assert before["svg_charts"] >= 4

        noticed = phase("notice")
        assert noticed == {"ticked": 2, "checks": 4}
        carol = hall.staff("carol")
        detail = carol.case(case_id)
        assert detail["state"] == "notice"
        (notice,) = [e for e in detail["events"] if e["action"] == "issue_notice"]
        assert {i["material_id"] for i in notice["items"]} == {
            "transfer_contract",
            "tax_certificate",
        }

        # bob's phone photographs both papers and answers the notice.
        answer, answer_files = supplement(
            bob, case_id, notice["id"], ["transfer_contract", "tax_certificate"], seed=11
        )
        push(bob, answer, answer_files)
        wait_projected(hall.url)

        accepted = phase("accept")
        assert accepted["tabs_to_pre_review"] > 0
        assert carol.case(case_id)["state"] == "accepted"

        approved = phase("approve")
        assert approved == {"approvals": 4}
        decisions = carol.case(case_id)["steps"]
        assert {d["department"]: d["decided_by"] for d in decisions[1]["departments"]} == {
            "real_estate_center": "rhea",
            "taxation": "tao",
        }

        assert phase("result") == {"state": "已办结归档"}
        wait_projected(hall.url)

        after = phase("after")
        assert after["satisfaction"] == "100.0%" and after["on_time_promised"] == "100.0%"
        summary = hall.staff("sam").get("/api/v1/reports/summary").json()
        assert after["trips_average"] == f"{summary['trips']['average']:.2f}"  # as the API says
        assert after["zero_trips"] == f"{summary['trips']['zero_trip_rate'] * 100:.1f}%"
        assert summary["cases"] == 2 and "共 2 件" in after["meta"]
        dispatched = phase("dispatch")
        visit = hall.staff("carol").get(f"/api/v1/visit-requests/{dispatched['request_id']}")
        body = visit.json()
        assert (body["state"], body["grid_id"], body["created_by"]) == (
            "dispatched",
            dispatched["grid"],
            "carol",
        )
        assert body["resident"]["name"] == "刘秀英" and body["ticket"] == "12345-0815"
        assert body["document"]["version"] == 1  # signed once, for the dispatch

        # A station event running now, with two cases its phone filed.
        zhou = hall.hall.enroll("周站长", "grid-a", "station-wuyue")
        start = datetime.now(UTC).replace(microsecond=0)
        with hall.staff("sam").client() as client:
            created = client.post(
                "/api/v1/stations/station-wuyue/events",
                json={
                    "title": "政务服务进商圈",
                    "place": {"name": "吾悦广场一楼中庭", "address": "安康市汉滨区吾悦广场"},
                    "starts_at": rfc3339_utc(start - timedelta(hours=1)),
                    "ends_at": rfc3339_utc(start + timedelta(hours=4)),
                    "departments": ["civil_affairs"],
                    "matters": ["senior_citizen_card"],
                    "staff": [zhou.state.agent_id],
                    "devices": [zhou.state.device_id],
                    "catalog_version": CATALOG_VERSION,
                },
            )
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]
        for seed in (41, 42):
            doc, files = station_case(zhou, seed)
            push(zhou, doc, files)
        wait_projected(hall.url)
        station = run_phase(node, "station", hall.url, case_id, STATION_EVENT_ID=event_id)
        rest = hall.staff("sam").get(f"/api/v1/station-events/{event_id}/summary").json()
        assert rest["totals"]["cases"] == 2
        assert station["by_matter"] == {r["matter_id"]: r["cases"] for r in rest["by_matter"]}
        assert station["totals"].startswith("活动期间收件 2 件")

        shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
        for name in (
            "before-01",
            "notice-0",
            "accept-01",
            "approve-0",
            "result-01",
            "after-01",
            "dispatch-01",
            "dispatch-03-board-dispatched",
            "station-01-stations",
            "station-02-station-event",
        ):
            assert any(s.startswith(name) for s in shots), (name, shots)
