"""The notifications' pure parts: the public face of the packages, the backoff schedule, the
webhook signature as a receiver in another language computes it, and what the webhook
notifier makes of each kind of answer (through httpx's MockTransport, no network)."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

import fieldhall.server.hall.notifications as notifications
import fieldhall.server.hall.stations as stations
from fieldhall.server.hall.notifications import Backoff, DeliveryFailed, WebhookNotifier, sign

SECRET = "s3cret-shared-with-the-12345-hotline"


def test_the_public_faces_are_exactly_the_intended_names() -> None:
    assert set(notifications.__all__) == {
        "DECISION_EVENTS",
        "Backoff",
        "Chore",
        "DeliveryFailed",
        "LogNotifier",
        "NotificationDispatcher",
        "Notifier",
        "WebhookNotifier",
        "build_notifier",
        "list_notifications",
        "notification_json",
        "notify",
        "notify_visit_escalation",
        "raise_decision",
        "sign",
        "sweep_clock_warnings",
        "undelivered_notifications",
        "verify_signature",
    }
    assert set(stations.__all__) == {
        "StationEvents",
        "event_json",
        "event_summary",
        "event_summary_csv",
        "list_events",
        "list_stations",
        "publish_station_events",
        "station_document",
        "unpublished_station_events",
    }
    for module in (notifications, stations):
        assert all(hasattr(module, name) for name in module.__all__)


def test_the_backoff_grows_and_is_capped() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in range(1, 9)] == [
        10.0, 30.0, 90.0, 270.0, 810.0, 2430.0, 3600.0, 3600.0,
    ]  # fmt: skip
    assert Backoff(first=1, factor=2, cap=5).delay(10) == 5.0


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":1,"kind":"decision"}'
    expected = hmac.new(SECRET.encode(), b"1787466000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1787466000", body) == f"sha256={expected}"
    assert sign(SECRET, "1787466001", body) != sign(SECRET, "1787466000", body)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (408, True), (429, True), (400, False), (401, False), (404, False)],
)
def test_what_an_answer_means(status: int, retryable: bool) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text="nope")

    notifier = WebhookNotifier(
        "https://hooks.example.cn/x", SECRET, transport=httpx.MockTransport(answer), clock=lambda: 7
    )
    with pytest.raises(DeliveryFailed) as failed:
        notifier.send({"id": 3, "kind": "warning"}, attempt=2)
    assert (failed.value.retryable, failed.value.status) == (retryable, status)
    (request,) = seen
    assert request.headers["x-fieldhall-timestamp"] == "7"
    assert request.headers["x-fieldhall-attempt"] == "2"
    assert request.headers["x-fieldhall-signature"] == sign(SECRET, "7", request.content)


def test_a_redirect_is_not_followed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://elsewhere.example.com/"})

    notifier = WebhookNotifier(
        "https://hooks.example.cn/x", SECRET, transport=httpx.MockTransport(answer)
    )
    with pytest.raises(DeliveryFailed) as failed:
        notifier.send({"id": 3, "kind": "warning"}, attempt=1)
    assert (failed.value.status, failed.value.retryable) == (302, False)


def test_a_2xx_is_delivered() -> None:
    notifier = WebhookNotifier(
        "https://hooks.example.cn/x",
        SECRET,
        transport=httpx.MockTransport(lambda request: httpx.Response(202)),
    )
    assert notifier.send({"id": 3, "kind": "warning"}, attempt=1) == 202
