"""``make run``'s demo hall: seeded once into a temporary data directory through the real
doors (enrolled devices pushing signed cases with photos over /sync/field, staff actions
through the workflow), then read back as its users would — staff with the printed
passwords over HTTP Basic, the devices' own verification — and started again with the real
``fieldhall demo`` command, which must keep it as it is."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.field_app_api.devices import list_devices
from fieldhall.server.app import create_app
from fieldhall.server.demo import DemoRecord, read_record
from fieldhall.server.demo.credentials import credentials_path, seeding_marker
from fieldhall.server.demo.serve import _Server, needs_seed, seed_hall
from fieldhall.server.demo.visit_plan import build_visit_plan
from fieldhall.server.hall.tables import HallCase, HallMaterial
from fieldhall.server.hall.verification import verify_device_document
from fieldhall.server.hall.visits import HallVisitCase
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_field
from tests.servers import FIELDHALL, free_port

pytestmark = pytest.mark.timeout(600)

MAIN_STATES = (
    "received",
    "pre_review",
    "notice",
    "accepted",
    "accepted_with_deficiencies",
    "refused",
    "approved",
    "denied",
    "result_ready",
    "delivered",
    "closed",
    "withdrawn",
)


@dataclass
class Seeded:
    settings: Settings
    url: str
    record: DemoRecord
    lines: list[str]

    def login(self, username: str) -> tuple[str, str]:
        (found,) = [s for s in self.record.staff if s.username == username]
        return found.username, found.password

    def get(self, username: str, path: str, **params: object) -> httpx.Response:
        return httpx.get(self.url + path, params=params, auth=self.login(username), timeout=60)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    settings = Settings.from_env(data_dir=data_dir, port=free_port())
    url = f"http://127.0.0.1:{settings.port}"
    lines: list[str] = []
    assert needs_seed(settings)
    started = time.perf_counter()
    record = seed_hall(settings, url, 2026, lines.append)
    print(f"demo seeded in {time.perf_counter() - started:.1f} s")
    server = _Server(create_app(settings, public_url=url), "127.0.0.1", settings.port)
    server.start()
    try:
        yield Seeded(settings, url, record, lines)
    finally:
        server.stop()


def test_sixty_cases_in_every_state(demo: Seeded) -> None:
    assert demo.record.cases >= 60
    assert set(MAIN_STATES) <= set(demo.record.states)
    assert sum(demo.record.states.values()) == demo.record.cases
    body = demo.get("clerk", "/api/v1/cases", limit=200).json()
    listed = body["cases"]
    assert len(listed) == demo.record.cases and body["next"] is None
    assert {c["state"] for c in listed} >= set(MAIN_STATES)
    assert {c["channel"] for c in listed} == {"home_visit", "hospital", "mobile_station", "hall"}
    assert len({c["matter"]["id"] for c in listed}) >= 8
    assert any(c["suspended"] for c in listed)  # a one-time notice stopped the clock
    assert any(c["open_deficiencies"] for c in listed)  # 容缺受理, still due
    assert any(c["open_complaints"] for c in listed)  # 办不成事
    assert {c["delivery_method"] for c in listed} >= {"agent", "mail", "pickup"}
    station = demo.get("clerk", "/api/v1/cases", station="wuyue-plaza", limit=200).json()
    assert len(station["cases"]) >= 10
    assert {c["channel"] for c in station["cases"]} == {"mobile_station"}


def test_some_cases_are_overdue_and_some_due_tomorrow(demo: Seeded) -> None:
    overdue = demo.get("supervisor", "/api/v1/cases", overdue="true", limit=200).json()["cases"]
    assert len(overdue) >= 3
    warnings = demo.get("supervisor", "/api/v1/reports/warnings").json()["warnings"]
    statuses = [w["clocks"]["promised"]["status"] for w in warnings if w["kind"] == "case"]
    assert statuses.count("overdue") >= 3
    assert statuses.count("warning") >= 2
    assert any(w["escalation"]["step"] >= 1 for w in warnings)
    summary = demo.get("supervisor", "/api/v1/reports/summary").json()
    assert summary["cases"] == demo.record.cases
    assert summary["satisfaction"]["rated"] >= 10
    assert summary["satisfaction"]["by_rating"]["2"] >= 1  # not every resident is happy
    assert summary["on_time"]["promised"]["late"] >= 1  # one case concluded late
    assert summary["on_time"]["promised"]["on_time"] >= 20
    assert summary["trips"]["zero_trip_cases"] >= 50


def test_visit_requests_in_every_state_one_escalated_one_with_its_case(demo: Seeded) -> None:
    expected = Counter(plan.expected for plan in build_visit_plan())
    assert demo.record.visits == dict(expected)
    assert set(expected) == {
        "pending",
        "dispatched",
        "taken",
        "on_site",
        "done",
        "cannot_complete",
        "cancelled",
    }
    listed = demo.get("clerk", "/api/v1/visit-requests", limit=200).json()["visit_requests"]
    assert Counter(v["state"] for v in listed) == expected
    assert {v["source"] for v in listed} == {"hotline", "community", "family"}
    assert all(v["created_by"] == "clerk" for v in listed)
    # The urgent ticket nobody reached in time: the sweep climbed to step 2 (书面函告) or
    # beyond (the hall's own sweeper has been running since).
    (escalated,) = [v for v in listed if v["urgency"] == "urgent" and v["open"]]
    assert escalated["escalation_step"] >= 2 and escalated["state"] == "taken"
    on_site = next(t for t in escalated["timers"] if t["milestone"] == "on_site")
    assert on_site["overdue"] and on_site["reached_at"] is None
    detail = demo.get("clerk", f"/api/v1/visit-requests/{escalated['id']}").json()
    escalations = [e for e in detail["timeline"] if e["kind"] == "escalation"]
    assert [e["step"] for e in escalations][:2] == [1, 2]
    assert escalations[0]["addressee"] == "agent" and escalations[1]["addressee"] == "grid"
    assert [u["status"] for u in detail["timeline"] if u["kind"] == "update"] == ["taken"]
    # The pending one: the window was phoned about its lapsed dispatch timer.
    (pending,) = [v for v in listed if v["state"] == "pending"]
    assert pending["escalation_step"] >= 1 and pending["grid_id"] is None
    done = [
        demo.get("clerk", f"/api/v1/visit-requests/{v['id']}").json()
        for v in listed
        if v["state"] == "done"
    ]
    # One was dispatched and taken late: the window, then the grid, were phoned.
    (late,) = [d for d in done if any(e["kind"] == "escalation" for e in d["timeline"])]
    assert [
        (e["milestone"], e["step"], e["addressee"])
        for e in late["timeline"]
        if e["kind"] == "escalation"
    ] == [("dispatched", 1, "clerk"), ("taken", 1, "grid")]
    assert {t["milestone"]: t["met"] for t in late["timers"]} == {
        "dispatched": False,
        "taken": False,
        "closed": True,
    }
    # Done with a case filed on the visit: linked both ways.
    with_case = [d for d in done if d["cases"]]
    assert len(with_case) == 1
    (link,) = with_case[0]["cases"]
    assert link["outcome"] == "linked"
    case = demo.get("clerk", f"/api/v1/cases/{link['case_id']}").json()
    assert case["request_id"] == with_case[0]["id"] and case["channel"] == "home_visit"
    assert [u["status"] for u in with_case[0]["timeline"] if u["kind"] == "update"] == [
        "taken",
        "on_site",
        "done",
    ]
    field = open_field(demo.settings)
    try:
        with field.read_session() as session:
            links = list(session.exec(select(HallVisitCase)))
    finally:
        field.store.db.dispose()
    assert [(c.case_id, c.outcome) for c in links] == [(link["case_id"], "linked")]


def test_supervisors_see_visit_requests_in_reports_health_and_metrics(demo: Seeded) -> None:
    warnings = demo.get("supervisor", "/api/v1/reports/warnings").json()["warnings"]
    visits = [w for w in warnings if w["kind"] == "visit_request"]
    assert any(w["escalation"]["step"] >= 2 for w in visits)
    assert {w["visit_request"]["state"] for w in visits} >= {"pending", "taken"}
    export = demo.get("supervisor", "/api/v1/reports/warnings.csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == len(warnings)
    assert Counter(r["kind"] for r in rows) == Counter(w["kind"] for w in warnings)
    case_rows = [r for r in rows if r["kind"] == "case"]
    assert {r["status"] for r in case_rows} == {"warning", "overdue"}
    assert all(r["subject"] and r["clock"] in ("legal", "promised") for r in case_rows)
    summary = demo.get("supervisor", "/api/v1/reports/summary").json()["visits"]
    assert summary["requests"] == len(build_visit_plan())
    assert summary["by_urgency"]["urgent"] == 2
    taken = summary["taken_on_time"]
    assert taken["late"] + taken["overdue_open"] >= 2 and taken["on_time"] >= 4
    assert summary["closed_on_time"]["on_time"] == 3
    health = httpx.get(demo.url + "/health", timeout=10).json()["visits"]
    still_open = [p for p in build_visit_plan() if p.expected not in ("done", "cancelled")]
    assert health["open"] == len(still_open) == 6 and health["overdue"] >= 2
    assert health["sweeper"]["running"] is True
    metrics = httpx.get(demo.url + "/metrics", timeout=10).text
    assert 'fieldhall_visit_requests_open{state="taken",urgency="urgent"} 1.0' in metrics
    assert re.search(r'fieldhall_visit_escalations_total\{step="2"\} [1-9]', metrics)


def test_one_account_per_role_logs_in(demo: Seeded) -> None:
    roles = {s.role for s in demo.record.staff}
    assert roles == {"admin", "clerk", "approver", "supervisor"}
    departments = {s.department for s in demo.record.staff if s.role == "approver"}
    assert {"real_estate_center", "taxation", "civil_affairs"} <= departments
    for username in ("clerk", "supervisor", "approver.taxation"):
        assert demo.get(username, "/api/v1/cases", limit=1).status_code == 200, username
    assert demo.get("admin", "/api/v1/admin/devices").status_code == 200
    assert demo.get("admin", "/api/v1/cases").status_code == 403  # admins read no cases
    wrong = httpx.get(demo.url + "/api/v1/cases", auth=("clerk", "not-the-password"))
    assert wrong.status_code == 401
    mode = stat.S_IMODE(credentials_path(demo.settings.data_dir).stat().st_mode)
    assert mode == 0o600


def test_six_grid_agents_and_the_station_have_enrolled_devices(demo: Seeded) -> None:
    field = open_field(demo.settings)
    try:
        with field.read_session() as session:
            devices = list_devices(session)
    finally:
        field.store.db.dispose()
    assert len(devices) == 7 and not any(d.revoked_at for d in devices)
    assert {d.id for d in devices} == {r.device_id for r in demo.record.devices}
    grids = [r.grid_id for r in demo.record.devices if r.station_id is None]
    assert len(grids) == 6 and len(set(grids)) == 3
    for record in demo.record.devices:
        state_file = Path(record.state_file)
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        device = DeviceClient.load(state_file)
        assert device.state.device_id == record.device_id and device.state.device_seq >= 5
        report = device.verify()  # what its sync brought down, checked on the device
        assert report.ok and report.verified >= 10 and not report.invalid


def test_the_mall_station_event_counts_the_station_cases(demo: Seeded) -> None:
    """The supervisor planned the mall's event through StationEvents; its summary counts
    every case the station's device filed that day, by matter and by department."""
    stations = demo.get("clerk", "/api/v1/stations").json()["stations"]
    (mall,) = [s for s in stations if s["id"] == "wuyue-plaza"]
    assert mall["name"] == "吾悦广场流动服务站" and mall["devices"] == 1
    (event,) = demo.get("clerk", "/api/v1/stations/wuyue-plaza/events").json()["events"]
    assert event["status"] == "scheduled" and event["phase"] == "ended"
    assert event["published"] and event["created_by"] == "supervisor"
    assert event["place"]["name"] == "吾悦广场一楼中庭"
    (station_device,) = [r for r in demo.record.devices if r.station_id == "wuyue-plaza"]
    assert event["devices"] == [station_device.device_id]
    assert [s["agent_id"] for s in event["staff"]] == [station_device.agent_id]
    assert event["created_at"] < event["starts_at"]  # planned the day before
    cases = demo.get("clerk", "/api/v1/cases", station="wuyue-plaza", limit=200).json()["cases"]
    assert set(event["matters"]) == {c["matter"]["id"] for c in cases}
    summary = demo.get("supervisor", f"/api/v1/station-events/{event['id']}/summary").json()
    assert summary["totals"]["cases"] == len(cases) == 11
    by_matter = {row["matter_id"]: row for row in summary["by_matter"]}
    assert all(row["offered"] and row["name_zh"] for row in by_matter.values())
    assert {m: row["cases"] for m, row in by_matter.items()} == Counter(
        c["matter"]["id"] for c in cases
    )
    assert sum(row["by_state"].get("withdrawn", 0) for row in by_matter.values()) == 1
    assert summary["totals"]["withdrawn"] == 1 and summary["totals"]["open"] >= 1
    assert all(row["present"] for row in summary["by_department"])
    assert set(event["departments"]) == {row["department"] for row in summary["by_department"]}
    assert demo.get("clerk", f"/api/v1/station-events/{event['id']}/summary").status_code == 403


def test_every_case_verifies_and_carries_real_photos(demo: Seeded) -> None:
    field = open_field(demo.settings)
    try:
        with field.read_session() as session:
            case_ids = list(session.exec(select(HallCase.id)))
            for case_id in case_ids:
                verification = verify_device_document(field, session, case_id)
                assert verification["ok"], (case_id, verification)
            materials = list(session.exec(select(HallMaterial)))
            cases = list(session.exec(select(HallCase).order_by(HallCase.received_order)))
    finally:
        field.store.db.dispose()
    # Filed offline at the bedside, received when the phone was back in coverage; each
    # device's cases reach the hall in the order it signed them.
    assert all(c.filed_at <= c.received_at for c in cases)
    assert sum((c.received_at - c.filed_at).total_seconds() > 180 for c in cases) >= 20
    for device in {c.device_id for c in cases}:
        filed = [c.filed_at for c in cases if c.device_id == device]
        assert filed == sorted(filed), device
    kinds = {m.material_id for m in materials}
    assert {"id_card", "photo", "hukou_booklet", "consent_signature", "bank_card"} <= kinds
    assert {m.content_type for m in materials} == {"image/jpeg", "application/pdf"}
    assert len({m.sha256 for m in materials}) == len(materials)  # no photo used twice
    (case_id,) = [
        c["id"]
        for c in demo.get("clerk", "/api/v1/cases", state="closed", limit=200).json()["cases"]
        if c["matter"]["id"] == "real_estate_registration"
    ]
    detail = demo.get("clerk", f"/api/v1/cases/{case_id}").json()
    assert detail["verification"]["ok"]
    events = [e["event"] for e in detail["events"] if e["event"]]
    assert events[:2] == ["notice", "received"] and events[-1] == "closed"
    assert "accepted_with_deficiencies" in events and "result_ready" in events
    assert {s["outcome"] for s in detail["supplements"]} == {
        "answered_notice",
        "answered_deficiency",
    }
    assert detail["deliveries"][0]["rating"] == 5
    joint = next(s for s in detail["steps"] if s["mode"] == "parallel")
    assert {d["department"] for d in joint["departments"]} == {"real_estate_center", "taxation"}


def test_a_second_run_keeps_the_hall_and_prints_its_credentials(demo: Seeded) -> None:
    assert not needs_seed(demo.settings)
    assert not seeding_marker(demo.settings.data_dir).exists()
    assert read_record(demo.settings.data_dir) == demo.record
    port = free_port()
    env = {**os.environ, "FIELDHALL_PUBLIC_URL": ""}
    env.pop("FIELDHALL_PUBLIC_URL")
    process = subprocess.Popen(
        [FIELDHALL, "demo", "--data-dir", str(demo.settings.data_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not any("Ctrl-C" in line for line in output):
            assert process.poll() is None, "".join(output)
            assert time.monotonic() < deadline, "".join(output)
            time.sleep(0.1)
        health = httpx.get(base + "/health", timeout=10).json()
        assert health["status"] == "ok"
        cases = httpx.get(
            base + "/api/v1/cases", params={"limit": 200}, auth=demo.login("clerk"), timeout=60
        )
        assert len(cases.json()["cases"]) == demo.record.cases
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        reader.join(timeout=10)
    text = "".join(output)
    assert code == 0, text
    assert "seeding" not in text and "kept as it is" in text
    for path in ("/hall/", "/api/v1", "/schema", "/sync/field", "/health", "/metrics"):
        assert re.search(rf"{re.escape(base + path)}\s", text), path
    for login in demo.record.staff:
        assert re.search(rf"{re.escape(login.username)}\s+{re.escape(login.password)}\s", text)
    assert "stopped" in text


def test_a_taken_port_fails_at_once_and_seeds_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [FIELDHALL, "demo", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr
    assert not seeding_marker(tmp_path / "data").exists()
    assert needs_seed(Settings.from_env(data_dir=tmp_path / "data"))
