"""Visit requests in operations and supervision: ``/health``'s ``visits`` object and the
sweeper's liveness, the ``/metrics`` figures (open by state and urgency, lapsed timers by
milestone, escalations by step, the sweep's duration and last success), the supervisors'
warning list (REST and CSV) and the summary report's visit figures.

The hall runs without its background projector and sweep (except where the sweeper's
liveness is the point); requests are called in at instants relative to the real clock,
because the reports read the real clock.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.server.hall.visits import HallVisitRequest
from fieldhall.server.hall.visits.figures import visit_warnings
from tests.hall.support import (
    LocalHall,
    create_visit,
    local_hall,
    visit_action,
    visit_update,
)

pytestmark = pytest.mark.timeout(180)

RESIDENT = {"name": "刘秀英", "address": "汉滨区老城街道北门社区8号", "phone": "13800000001"}


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[LocalHall]:
    with local_hall(tmp_path / "hall", projector=False) as running:
        yield running


def scrape(hall: LocalHall) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = httpx.get(hall.url + "/metrics")
    assert reply.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def health(hall: LocalHall) -> dict[str, Any]:
    reply = httpx.get(hall.url + "/health")
    assert reply.status_code == 200
    visits: dict[str, Any] = reply.json()["visits"]
    return visits


def called(hall: LocalHall, minutes_ago: float, **body: Any) -> str:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    reply = create_visit(
        hall.staff("carol"),
        {"source": "hotline", "resident": RESIDENT, "requested_at": at.isoformat(), **body},
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["visit_request"]["id"])


def project(hall: LocalHall) -> None:
    hall.parts.projector.project_pending()
    hall.parts.visits.publish()


def push(hall: LocalHall, device: DeviceClient, doc: dict[str, Any]) -> None:
    (result,) = device.push([DeviceClient.with_attachments(doc, [])])
    assert result.get("ok"), result
    project(hall)


@dataclass
class Board:
    """Six requests in every situation a supervisor tells apart."""

    fine: str  # dispatched at once, nothing due for half an hour
    near: str  # 4 of its 30 minutes to be taken left: a warning
    late_urgent: str  # nobody on site an hour after the 2-hour limit: step 2
    undispatched: str  # waiting 8 minutes for dispatch: step 1, to the clerk
    done: str  # taken and done on time by bob
    cancelled: str  # given up after its take timer lapsed
    sweep_at: datetime


def make_board(hall: LocalHall) -> Board:
    bob = hall.hall.enroll("王建国", "grid-a")
    fine = called(hall, 1, grid_id="grid-a")
    near = called(hall, 26, grid_id="grid-a")
    late_urgent = called(hall, 180, source="family", urgency="urgent", grid_id="grid-a")
    undispatched = called(hall, 8, source="community")
    done = called(hall, 10, assigned_agent_id=bob.state.agent_id)
    cancelled = called(hall, 40, source="family")
    push(hall, bob, visit_update(bob, done, "taken"))
    push(hall, bob, visit_update(bob, done, "done", note="已办结"))
    reply = visit_action(
        hall.staff("carol"), cancelled, "cancel", {"reason": "居民已自行到大厅办理"}
    )
    assert reply.status_code == 200, reply.text
    sweep_at = datetime.now(UTC)
    made = hall.parts.visit_sweeper.run_once(sweep_at)
    assert sorted((e.request_id, e.milestone, int(e.step)) for e in made) == sorted(
        [(late_urgent, "on_site", 2), (undispatched, "dispatched", 1)]
    )
    return Board(fine, near, late_urgent, undispatched, done, cancelled, sweep_at)


def test_metrics_count_open_requests_lapsed_timers_and_escalations(hall: LocalHall) -> None:
    before = scrape(hall)
    assert before[("fieldhall_visit_sweeps_total", ())] == 0
    assert ("fieldhall_visit_sweep_last_success_timestamp_seconds", ()) not in before
    assert before[("fieldhall_visit_escalations_total", (("step", "1"),))] == 0

    board = make_board(hall)
    after = scrape(hall)
    opened = {
        labels: value
        for (name, labels), value in after.items()
        if name == "fieldhall_visit_requests_open"
    }
    assert opened == {
        (("state", "dispatched"), ("urgency", "simple")): 2,
        (("state", "dispatched"), ("urgency", "urgent")): 1,
        (("state", "pending"), ("urgency", "simple")): 1,
    }
    lapsed = {
        dict(labels)["milestone"]: value
        for (name, labels), value in after.items()
        if name == "fieldhall_visit_timers_lapsed"
    }
    assert lapsed == {"dispatched": 1, "taken": 0, "on_site": 1, "closed": 0}
    steps = {
        dict(labels)["step"]: value
        for (name, labels), value in after.items()
        if name == "fieldhall_visit_escalations_total"
    }
    assert steps == {"1": 1, "2": 1, "3": 0, "4": 0}
    assert after[("fieldhall_visit_sweeps_total", ())] == 1
    assert after[("fieldhall_visit_sweep_failures_total", ())] == 0
    assert 0 <= after[("fieldhall_visit_sweep_duration_seconds", ())] < 60
    last = after[("fieldhall_visit_sweep_last_success_timestamp_seconds", ())]
    assert abs(last - board.sweep_at.timestamp()) < 60

    # The same instant swept again escalates nothing more: the counter stays.
    hall.parts.visit_sweeper.run_once(board.sweep_at)
    again = scrape(hall)
    assert again[("fieldhall_visit_escalations_total", (("step", "2"),))] == 1
    assert again[("fieldhall_visit_sweeps_total", ())] == 2


def test_health_tells_open_and_overdue_requests_and_the_sweeper_state(hall: LocalHall) -> None:
    assert health(hall)["open"] == 0
    board = make_board(hall)
    visits = health(hall)
    assert visits["open"] == 4 and visits["overdue"] == 2
    oldest = datetime.fromisoformat(visits["oldest_due_at"])
    assert abs(oldest - (board.sweep_at - timedelta(minutes=60))) < timedelta(minutes=1)
    sweeper = visits["sweeper"]
    # The background sweeper is not started in this hall: not alive, whatever ran by hand.
    assert sweeper["running"] is False and sweeper["alive"] is False
    assert sweeper["runs"] == 1 and sweeper["failures"] == 0
    assert sweeper["last_success_at"] is not None and sweeper["last_error"] is None


def test_a_failing_sweep_is_counted_and_named(hall: LocalHall) -> None:
    def broken(now: datetime | None = None, **_: Any) -> list[Any]:
        raise RuntimeError("database is locked")

    hall.parts.visits.sweep = broken
    with pytest.raises(RuntimeError):
        hall.parts.visit_sweeper.run_once()
    sweeper = health(hall)["sweeper"]
    assert sweeper["failures"] == 1 and sweeper["last_success_at"] is None
    assert sweeper["last_error"] == "RuntimeError: database is locked"
    assert scrape(hall)[("fieldhall_visit_sweep_failures_total", ())] == 1


def test_the_running_sweeper_is_alive_until_it_stops_succeeding(tmp_path: Path) -> None:
    with local_hall(tmp_path / "live") as live:
        deadline = time.monotonic() + 30
        sweeper = health(live)["sweeper"]
        while sweeper["runs"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            sweeper = health(live)["sweeper"]
        assert sweeper["running"] is True and sweeper["alive"] is True
        assert sweeper["lag_seconds"] is not None and sweeper["lag_seconds"] < 30
        # Read ten minutes on without a success in between: no longer alive.
        later = datetime.now(UTC) + timedelta(minutes=10)
        stale = live.parts.visit_sweeper.health(later)
        assert stale["running"] is True and stale["alive"] is False
        assert stale["lag_seconds"] >= 590


def test_the_warning_list_names_requests_near_and_past_their_timers(hall: LocalHall) -> None:
    board = make_board(hall)
    sam = hall.staff("sam")
    warnings = sam.get("/api/v1/reports/warnings").json()["warnings"]
    visits = [w for w in warnings if w["kind"] == "visit_request"]
    assert [(w["visit_request"]["id"], w["status"], w["milestone"]) for w in visits] == [
        (board.late_urgent, "overdue", "on_site"),
        (board.undispatched, "overdue", "dispatched"),
        (board.near, "warning", "taken"),
    ]
    assert [w["escalation"]["step"] for w in visits] == [2, 1, 0]
    assert [w["escalation"]["recorded_step"] for w in visits] == [2, 1, 0]
    assert visits[0]["escalation"]["label_zh"] == "书面函告"

    export = sam.get("/api/v1/reports/warnings.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    by_id = {r["id"]: r for r in rows if r["kind"] == "visit_request"}
    assert set(by_id) == {board.late_urgent, board.undispatched, board.near}
    assert by_id[board.late_urgent]["escalation_step"] == "2"
    assert by_id[board.near]["status"] == "warning"
    assert by_id[board.near]["subject"] == RESIDENT["name"]
    # Supervisors only.
    assert hall.staff("carol").get("/api/v1/reports/warnings.csv").status_code == 403


def test_the_summary_reports_sources_and_on_time_rates(hall: LocalHall) -> None:
    board = make_board(hall)
    summary = hall.staff("sam").get("/api/v1/reports/summary").json()["visits"]
    assert summary["requests"] == 6
    assert summary["by_source"] == {
        "hotline": 3,
        "community": 1,
        "family": 2,
        "resident": 0,
        "hall": 0,
    }
    assert summary["by_urgency"] == {"simple": 5, "urgent": 1}
    assert summary["by_state"] == {"cancelled": 1, "dispatched": 3, "done": 1, "pending": 1}
    taken = summary["taken_on_time"]
    # done took it in time; the cancelled one lapsed before it was given up; the urgent one
    # has nobody on site (its take timer) and is overdue; the rest are not due yet.
    assert (taken["on_time"], taken["late"], taken["overdue_open"], taken["pending"]) == (
        1,
        1,
        1,
        3,
    )
    assert taken["rate"] == pytest.approx(1 / 3)
    closed = summary["closed_on_time"]
    assert (closed["on_time"], closed["excluded"], closed["pending"]) == (1, 1, 4)
    assert closed["rate"] == 1.0
    assert summary["escalated"] == 2

    # The period is when the resident asked: the requests of the last 5 minutes.
    since = (board.sweep_at - timedelta(minutes=5)).isoformat()
    recent = hall.staff("sam").get("/api/v1/reports/summary", since=since).json()["visits"]
    assert recent["requests"] == 1 and recent["by_state"] == {"dispatched": 1}


def test_the_closing_timer_in_working_days_warns_like_a_case_clock(hall: LocalHall) -> None:
    """A simple ticket's 5 working days to close warn on the last day, as a case's clock
    does, and climb the ladder by working days past due."""
    bob = hall.hall.enroll("王建国", "grid-a")
    request_id = called(hall, 1, assigned_agent_id=bob.state.agent_id)
    push(hall, bob, visit_update(bob, request_id, "taken"))
    parts = hall.parts
    with parts.field.read_session() as session:
        request = session.get(HallVisitRequest, request_id)
        assert request is not None
        close_by = request.close_by.replace(tzinfo=UTC)

        def read(at: datetime) -> list[tuple[str, str, int]]:
            found = visit_warnings(session, parts.visits.calendar, at)
            return [
                (w["status"], w["milestone"], w["escalation"]["step"])
                for w in found
                if w["visit_request"]["id"] == request_id
            ]

        assert read(datetime.now(UTC)) == []  # 5 working days left
        assert read(close_by - timedelta(hours=1)) == [("warning", "closed", 0)]
        assert read(close_by + timedelta(minutes=1)) == [("overdue", "closed", 1)]
        # Two full working days later (a weekend between does not count): a written notice.
        later = close_by + timedelta(days=2)
        while parts.visits.calendar.working_days_between(close_by.date(), later.date()) < 3:
            later += timedelta(days=1)
        assert read(later)[0][2] >= 2
