"""Notifications: decisions and clock warnings raised as records in the transaction that makes
them, delivered by the log notifier or a signed webhook from a background outbox.

The webhook receivers are real HTTP servers on 127.0.0.1 that check the HMAC signature like a
third party would; one refuses, one fails then recovers, one holds every request until the
test lets go — and meanwhile the hall's staff actions and its projector carry on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fieldhall.server.hall.audit import Subject
from fieldhall.server.hall.notifications import (
    Backoff,
    LogNotifier,
    NotificationDispatcher,
    WebhookNotifier,
    build_notifier,
    notify,
    records,
    sweep_clock_warnings,
    verify_signature,
)
from fieldhall.server.hall.notifications.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from fieldhall.server.settings import Settings
from tests.field_fixtures import senior_card_case
from tests.hall.support import LocalHall, create_visit, local_hall, push, wait_projected
from tests.servers import free_port

pytestmark = pytest.mark.timeout(300)

SECRET = "s3cret-shared-with-the-12345-hotline"


# ---------------------------------------------------------------------- a webhook receiver


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers ``statuses`` in order (then 204), checks every
    signature with ``secret``, and, given ``hold``, keeps each request until it is set."""

    secret: str = SECRET
    statuses: list[int] = field(default_factory=list)
    hold: threading.Event | None = None
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0

    def __post_init__(self) -> None:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify_signature(
                    receiver.secret,
                    headers.get(TIMESTAMP_HEADER.lower(), ""),
                    body,
                    headers.get(SIGNATURE_HEADER.lower(), ""),
                )
                with lock:
                    receiver.requests.append(Received(headers, body, ok))
                    receiver.in_flight += 1
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                with lock:
                    receiver.in_flight -= 1
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                if not ok:
                    status = 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/fieldhall/notifications"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


class Clock:
    """The dispatcher's clock, moved by the test (retries wait for their backoff)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[LocalHall]:
    """No background projector or dispatcher: the tests drive both."""
    with local_hall(tmp_path / "hall", projector=False) as running:
        yield running


def raise_one(hall: LocalHall, key: str = "visit:vr-1:escalation:2") -> int:
    with hall.parts.workflow.transaction() as tx:
        row = notify(
            tx,
            "escalation",
            Subject("visit_request", "vr-1"),
            {"request_id": "vr-1", "step": 2, "label_zh": "书面函告"},
            key=key,
        )
    assert row.id is not None
    return row.id


def listed(hall: LocalHall, who: str = "sam", **params: Any) -> list[dict[str, Any]]:
    response = hall.staff(who).get("/api/v1/notifications", **params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["notifications"]
    return rows


def until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---------------------------------------------------------------------- delivery


def test_the_webhook_gets_each_notification_signed_once(hall: LocalHall) -> None:
    with Receiver() as receiver:
        dispatcher = NotificationDispatcher(
            hall.parts.field, WebhookNotifier(receiver.url, SECRET, timeout=5)
        )
        notification_id = raise_one(hall)
        assert dispatcher.deliver_pending() == 1
        assert dispatcher.deliver_pending() == 0
    (request,) = receiver.requests
    assert request.signature_ok
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-fieldhall-delivery"] == str(notification_id)
    assert request.headers["x-fieldhall-kind"] == "escalation"
    assert request.headers["x-fieldhall-attempt"] == "1"
    body = request.json
    assert body["id"] == notification_id and body["kind"] == "escalation"
    assert body["subject"] == {"type": "visit_request", "id": "vr-1"}
    assert body["payload"] == {"request_id": "vr-1", "step": 2, "label_zh": "书面函告"}
    # The signature binds the body, the timestamp and the secret.
    timestamp, signature = (
        request.headers["x-fieldhall-timestamp"],
        request.headers["x-fieldhall-signature"],
    )
    assert signature.startswith("sha256=")
    assert not verify_signature(
        "another-secret-of-the-right-length", timestamp, request.body, signature
    )
    assert not verify_signature(
        SECRET, timestamp, request.body.replace(b"vr-1", b"vr-2"), signature
    )
    assert not verify_signature(SECRET, str(int(timestamp) + 1), request.body, signature)
    assert not verify_signature(
        SECRET, timestamp, request.body, signature, now=int(timestamp) + 3600
    )

    (row,) = listed(hall)
    assert row["delivery"] == {
        "state": "delivered",
        "notifier": "webhook",
        "attempts": 1,
        "next_attempt_at": None,
        "last_status": 204,
        "last_error": None,
        "delivered_at": row["delivery"]["delivered_at"],
    }
    assert row["delivery"]["delivered_at"] is not None


def test_a_failing_webhook_is_retried_with_backoff_until_it_recovers(hall: LocalHall) -> None:
    clock = Clock()
    with Receiver(statuses=[503, 503, 200]) as receiver:
        dispatcher = NotificationDispatcher(
            hall.parts.field,
            WebhookNotifier(receiver.url, SECRET, timeout=5),
            backoff=Backoff(first=10, factor=3, max_attempts=5),
            clock=clock,
        )
        raise_one(hall)
        assert dispatcher.deliver_pending() == 0
        (row,) = listed(hall)
        assert (row["delivery"]["state"], row["delivery"]["attempts"]) == ("pending", 1)
        assert row["delivery"]["last_status"] == 503
        assert row["delivery"]["last_error"].startswith("HTTP 503")
        due = datetime.fromisoformat(row["delivery"]["next_attempt_at"])
        assert abs((due - clock.now).total_seconds() - 10) < 1.5

        clock.advance(9)
        assert dispatcher.deliver_pending() == 0 and len(receiver.requests) == 1  # not yet due
        clock.advance(1)
        assert dispatcher.deliver_pending() == 0 and len(receiver.requests) == 2
        clock.advance(29)
        assert dispatcher.deliver_pending() == 0 and len(receiver.requests) == 2  # 30 s now
        clock.advance(1)
        assert dispatcher.deliver_pending() == 1
    assert [r.headers["x-fieldhall-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r.headers["x-fieldhall-delivery"] for r in receiver.requests}) == 1
    assert all(r.signature_ok for r in receiver.requests)
    (row,) = listed(hall)
    assert (row["delivery"]["state"], row["delivery"]["attempts"]) == ("delivered", 3)
    assert row["delivery"]["last_status"] == 200


def test_retries_are_bounded_a_refusal_is_final_and_staff_can_requeue(hall: LocalHall) -> None:
    clock = Clock()
    with Receiver(statuses=[500, 500, 500, 400]) as receiver:
        dispatcher = NotificationDispatcher(
            hall.parts.field,
            WebhookNotifier(receiver.url, SECRET, timeout=5),
            backoff=Backoff(first=1, factor=1, max_attempts=3),
            clock=clock,
        )
        first = raise_one(hall, key="first")
        for _ in range(5):
            dispatcher.deliver_pending()
            clock.advance(1)
        assert len(receiver.requests) == 3  # bounded: max_attempts
        refused = raise_one(hall, key="refused")
        dispatcher.deliver_pending()
        assert len(receiver.requests) == 4
        rows = {r["id"]: r["delivery"] for r in listed(hall, state="failed")}
        assert (rows[first]["attempts"], rows[first]["last_status"]) == (3, 500)
        assert (rows[refused]["attempts"], rows[refused]["last_status"]) == (1, 400)

        carol = hall.staff("carol").client()
        assert carol.post(f"/api/v1/notifications/{first}/retry").status_code == 403
        with hall.staff("root").client() as root:
            again = root.post(f"/api/v1/notifications/{first}/retry")
            assert again.status_code == 200, again.text
            assert (again.json()["delivery"]["state"], again.json()["delivery"]["attempts"]) == (
                "pending",
                0,
            )
            assert dispatcher.deliver_pending() == 1  # the receiver answers 204 now
            twice = root.post(f"/api/v1/notifications/{first}/retry")
            assert (twice.status_code, twice.json()["error"]) == (409, "notification.not_failed")
            for missing_id in ("999999", "abc"):
                missing = root.post(f"/api/v1/notifications/{missing_id}/retry")
                assert (missing.status_code, missing.json()["error"]) == (
                    404,
                    "notification.not_found",
                )
        carol.close()


def test_an_unreachable_webhook_is_a_retryable_failure(hall: LocalHall) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens
    dispatcher = NotificationDispatcher(hall.parts.field, WebhookNotifier(url, SECRET, timeout=2))
    raise_one(hall)
    assert dispatcher.deliver_pending() == 0
    (row,) = listed(hall)
    assert row["delivery"]["state"] == "pending" and row["delivery"]["attempts"] == 1
    assert "ConnectError" in row["delivery"]["last_error"]


def test_two_dispatchers_deliver_each_notification_once(hall: LocalHall) -> None:
    with Receiver() as receiver:
        dispatchers = [
            NotificationDispatcher(
                hall.parts.field, WebhookNotifier(receiver.url, SECRET, timeout=5), batch=4
            )
            for _ in range(2)
        ]
        ids = {raise_one(hall, key=f"k{i}") for i in range(24)}
        threads = [threading.Thread(target=d.deliver_pending) for d in dispatchers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    delivered = [int(r.headers["x-fieldhall-delivery"]) for r in receiver.requests]
    assert sorted(delivered) == sorted(ids)
    assert sum(d.delivered_total for d in dispatchers) == 24


def test_the_log_notifier_writes_one_structured_record(
    hall: LocalHall, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = NotificationDispatcher(hall.parts.field, LogNotifier())
    notification_id = raise_one(hall)
    with caplog.at_level(logging.INFO, logger="fieldhall.notifications"):
        assert dispatcher.deliver_pending() == 1
    (record,) = [r for r in caplog.records if r.name == "fieldhall.notifications"]
    assert record.levelno == logging.INFO
    assert record.notification_id == notification_id  # type: ignore[attr-defined]
    assert record.notification_kind == "escalation"  # type: ignore[attr-defined]
    message = record.getMessage()
    assert message.startswith("notification ")
    assert json.loads(message.removeprefix("notification ")) == record.notification  # type: ignore[attr-defined]
    assert record.notification["payload"]["step"] == 2  # type: ignore[attr-defined]
    (row,) = listed(hall)
    assert (row["delivery"]["state"], row["delivery"]["notifier"]) == ("delivered", "log")


# ---------------------------------------------------------------------- raising


def test_notify_joins_the_callers_transaction_and_a_key_raises_once(hall: LocalHall) -> None:
    with pytest.raises(RuntimeError), hall.parts.workflow.transaction() as tx:
        notify(tx, "escalation", Subject("visit_request", "vr-lost"), {"step": 1}, key="lost")
        raise RuntimeError("the caller's work failed")
    assert listed(hall, subject="vr-lost") == []
    first, second = raise_one(hall, key="once"), raise_one(hall, key="once")
    assert first == second and len(listed(hall)) == 1
    with pytest.raises(ValueError, match="kind"), hall.parts.workflow.transaction() as tx:
        notify(tx, "Not A Kind", Subject("case", "x"), {})
    with pytest.raises(ValueError, match="payload"), hall.parts.workflow.transaction() as tx:
        notify(tx, "escalation", Subject("case", "x"), {"blob": "x" * 70_000})
    with hall.parts.field.session() as session:  # a plain session works too
        notify(session, "escalation", ("visit_request", "vr-9"), {"step": 3})
    assert [r["subject"] for r in listed(hall, subject="vr-9")] == [
        {"type": "visit_request", "id": "vr-9"}
    ]


def test_a_burst_is_raised_once_even_when_a_key_was_taken_meanwhile(
    hall: LocalHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime.now(UTC)
    raise_one(hall, key="burst:1")
    notices = [("warning", ("case", f"case:{i}"), {"n": i}, f"burst:{i}") for i in range(1, 4)]
    with hall.parts.field.session() as session:
        assert records.notify_many(session, notices, at) == 2  # burst:1 was raised before
    with hall.parts.field.session() as session:
        assert records.notify_many(session, notices, at) == 0
    # A worker that raised a key between the lookup and the insert: one by one, theirs stands.
    monkeypatch.setattr(records, "taken_keys", lambda session, keys: set())
    more = [*notices, ("warning", ("case", "case:4"), {"n": 4}, "burst:4")]
    with hall.parts.field.session() as session:
        assert records.notify_many(session, more, at) == 1
    assert sorted(r["payload"].get("n", 0) for r in listed(hall)) == [0, 2, 3, 4]


def test_decisions_are_raised_once_per_transition(hall: LocalHall) -> None:
    bob = hall.hall.enroll("王建国", "grid-a")
    doc, files = senior_card_case(bob, seed=41)
    push(bob, doc, files)
    hall.parts.projector.project_pending()
    case_id = str(doc["_id"])
    carol = hall.staff("carol")
    carol.ok(case_id, "pass_pre_review")
    assert listed(hall) == []  # received and pre-review are steps, not decisions
    carol.ok(case_id, "accept", key="accept-1")
    carol.ok(case_id, "accept", key="accept-1")  # a replayed retry raises nothing
    carol.ok(case_id, "withdraw", {"reason": "申请人已在异地办理"})
    rows = listed(hall, kind="decision", subject=case_id)
    assert [r["payload"]["event"] for r in rows] == ["withdrawn", "accepted"]  # newest first
    accepted = rows[1]["payload"]
    assert accepted["case_id"] == case_id and accepted["by_role"] == "clerk"
    assert (accepted["from_state"], accepted["to_state"]) == ("pre_review", "accepted")
    assert accepted["actor"] == "carol" and accepted["matter_id"] == "senior_citizen_card"
    assert rows[0]["payload"]["reason"] == "申请人已在异地办理"
    # Keyset paging, newest first.
    page = hall.staff("sam").get("/api/v1/notifications", limit=1).json()
    following = hall.staff("sam").get("/api/v1/notifications", limit=1, cursor=page["next"]).json()
    assert [page["notifications"][0]["id"], following["notifications"][0]["id"]] == [
        r["id"] for r in rows
    ]
    assert following["next"] is None
    bad = hall.staff("sam").get("/api/v1/notifications", cursor="abc")
    assert (bad.status_code, bad.json()["error"]) == (400, "notification.bad_cursor")
    for who, status in (("carol", 403), ("rhea", 403), ("root", 200), ("sam", 200)):
        assert hall.staff(who).get("/api/v1/notifications").status_code == status


def test_clock_warnings_and_overdue_steps_are_raised_once_each(hall: LocalHall) -> None:
    bob = hall.hall.enroll("王建国", "grid-a")
    doc, files = senior_card_case(bob, seed=42)
    push(bob, doc, files)
    hall.parts.projector.project_pending()
    case_id = str(doc["_id"])
    carol = hall.staff("carol")
    carol.ok(case_id, "pass_pre_review")
    carol.ok(case_id, "accept")
    field, calendar = hall.parts.field, hall.parts.workflow.calendar
    now = datetime.now(UTC)
    # 老年人优待证: promised in 1 working day, so its clock warns at once; legal 20 does not.
    assert sweep_clock_warnings(field, calendar, now) == 1
    assert sweep_clock_warnings(field, calendar, now + timedelta(minutes=1)) == 0
    (warning,) = listed(hall, kind="warning")
    assert warning["subject"] == {"type": "case", "id": case_id}
    assert (warning["payload"]["clock"], warning["payload"]["status"]) == ("promised", "warning")
    assert warning["payload"]["left_days"] == 1

    later = now + timedelta(days=40)  # both clocks overdue, well up the ladder
    assert sweep_clock_warnings(field, calendar, later) == 2
    assert sweep_clock_warnings(field, calendar, later) == 0
    overdue = {r["payload"]["clock"]: r["payload"] for r in listed(hall, kind="overdue")}
    assert set(overdue) == {"legal", "promised"}
    assert overdue["promised"]["escalation"]["step"] == 4
    assert overdue["promised"]["escalation"]["label_zh"] == "现场督办"
    assert overdue["promised"]["overdue_days"] > 20
    assert sweep_clock_warnings(field, calendar, later + timedelta(days=1)) == 0


def test_an_unanswered_complaint_is_raised_when_its_answer_is_due(hall: LocalHall) -> None:
    bob = hall.hall.enroll("王建国", "grid-a")
    doc, files = senior_card_case(bob, seed=43)
    push(bob, doc, files)
    hall.parts.projector.project_pending()
    case_id = str(doc["_id"])
    reply = hall.staff("carol").ok(
        case_id, "escalate_complaint", {"complexity": "general", "reason": "跑了三趟还没办成"}
    )
    field, calendar = hall.parts.field, hall.parts.workflow.calendar
    now = datetime.now(UTC)
    assert sweep_clock_warnings(field, calendar, now) == 0  # 3 working days to answer
    later = now + timedelta(days=10)
    assert sweep_clock_warnings(field, calendar, later) == 1
    assert sweep_clock_warnings(field, calendar, later) == 0
    (row,) = listed(hall, kind="complaint_overdue")
    assert row["payload"]["complaint_id"] == reply["complaint"]["id"]
    assert (row["payload"]["complexity"], row["subject"]["id"]) == ("general", case_id)


def test_a_visit_requests_escalations_are_raised_step_by_step(hall: LocalHall) -> None:
    requested = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    response = create_visit(
        hall.staff("carol"),
        {
            "source": "hotline",
            "urgency": "simple",
            "resident": {"name": "张桂兰", "address": "汉滨区新城街道南环社区3号楼2单元"},
            "requested_at": requested.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    request_id = response.json()["visit_request"]["id"]
    visits = hall.parts.visits
    visits.sweep(requested + timedelta(minutes=6))  # not dispatched within 5 minutes
    visits.sweep(requested + timedelta(minutes=6))  # the same instant again: nothing new
    (first,) = listed(hall, kind="escalation", subject=request_id)
    assert (first["payload"]["milestone"], first["payload"]["step"]) == ("dispatched", 1)
    assert first["payload"]["label_zh"] == "电话提醒"
    visits.sweep(requested + timedelta(minutes=66))
    raised = listed(hall, kind="escalation", subject=request_id)
    assert sorted((r["payload"]["milestone"], r["payload"]["step"]) for r in raised) == [
        ("dispatched", 1),
        ("dispatched", 2),
        ("taken", 1),  # nor taken within 30 minutes
    ]


# ---------------------------------------------------------------------- no blocking


def run_a_slow_webhook_blocks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None
) -> None:
    hold = threading.Event()
    with Receiver(hold=hold) as receiver:
        monkeypatch.setenv("FIELDHALL_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("FIELDHALL_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("FIELDHALL_WEBHOOK_TIMEOUT", "60")
        with local_hall(tmp_path / "hall", database_url) as hall:
            bob = hall.hall.enroll("王建国", "grid-a")
            first, files = senior_card_case(bob, seed=51)
            push(bob, first, files)
            wait_projected(hall.url)
            carol = hall.staff("carol")
            carol.ok(str(first["_id"]), "pass_pre_review")
            carol.ok(str(first["_id"]), "accept")
            until(lambda: receiver.in_flight == 1)  # the receiver now holds the decision

            started = time.monotonic()
            second, files = senior_card_case(bob, seed=52)
            push(bob, second, files)
            wait_projected(hall.url)  # the projector carries on
            carol.ok(str(second["_id"]), "refuse", {"reason": "重复申请", "legal_basis": "第三条"})
            elapsed = time.monotonic() - started
            # Both happened while the webhook still held the first delivery.
            assert receiver.in_flight == 1 and len(receiver.requests) == 1
            assert elapsed < 30, elapsed

            hold.set()
            until(lambda: len(receiver.requests) == 2)
            until(lambda: len(listed(hall, state="delivered")) == 2)
    events = [r.json["payload"]["event"] for r in receiver.requests]
    assert events == ["accepted", "refused"] and all(r.signature_ok for r in receiver.requests)


def test_a_slow_webhook_blocks_no_staff_action_and_no_projection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_a_slow_webhook_blocks_nothing(tmp_path, monkeypatch, None)


# ---------------------------------------------------------------------- configuration


def test_the_settings_choose_the_notifier(tmp_path: Path) -> None:
    settings = Settings.from_env(data_dir=tmp_path)
    assert isinstance(build_notifier(settings), LogNotifier)
    webhook = Settings(
        tmp_path, "sqlite://", webhook_url="https://hooks.example.cn/x", webhook_secret=SECRET
    )
    assert isinstance(build_notifier(webhook), WebhookNotifier)
    with pytest.raises(ValueError, match="FIELDHALL_WEBHOOK_SECRET"):
        build_notifier(Settings(tmp_path, "sqlite://", webhook_url="https://hooks.example.cn/x"))
    with pytest.raises(ValueError, match="at least 16"):
        build_notifier(
            Settings(
                tmp_path, "sqlite://", webhook_url="https://h.example.cn", webhook_secret="short"
            )
        )
    with pytest.raises(ValueError, match="http"):
        build_notifier(
            Settings(tmp_path, "sqlite://", webhook_url="ftp://h.example.cn", webhook_secret=SECRET)
        )
