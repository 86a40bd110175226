"""Notifications on PostgreSQL: raising in the caller's transaction, webhook delivery with
retries, two dispatchers claiming concurrently, decisions and clock warnings, and a slow
webhook that blocks nothing — the same tests as on SQLite, on a fresh schema each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hall import test_notifications as t
from tests.hall.support import LocalHall, local_hall

pytestmark = [pytest.mark.pg, pytest.mark.timeout(300)]


@pytest.fixture
def hall(pg_schema: str, tmp_path: Path) -> Iterator[LocalHall]:
    with local_hall(tmp_path / "hall", pg_schema, projector=False) as running:
        yield running


def test_webhook_signed_once(hall: LocalHall) -> None:
    t.test_the_webhook_gets_each_notification_signed_once(hall)


def test_retried_with_backoff(hall: LocalHall) -> None:
    t.test_a_failing_webhook_is_retried_with_backoff_until_it_recovers(hall)


def test_bounded_final_requeue(hall: LocalHall) -> None:
    t.test_retries_are_bounded_a_refusal_is_final_and_staff_can_requeue(hall)


def test_two_dispatchers(hall: LocalHall) -> None:
    t.test_two_dispatchers_deliver_each_notification_once(hall)


def test_notify_joins_the_transaction(hall: LocalHall) -> None:
    t.test_notify_joins_the_callers_transaction_and_a_key_raises_once(hall)


def test_a_burst(hall: LocalHall, monkeypatch: pytest.MonkeyPatch) -> None:
    t.test_a_burst_is_raised_once_even_when_a_key_was_taken_meanwhile(hall, monkeypatch)


def test_decisions(hall: LocalHall) -> None:
    t.test_decisions_are_raised_once_per_transition(hall)


def test_clock_warnings(hall: LocalHall) -> None:
    t.test_clock_warnings_and_overdue_steps_are_raised_once_each(hall)


def test_complaint_overdue(hall: LocalHall) -> None:
    t.test_an_unanswered_complaint_is_raised_when_its_answer_is_due(hall)


def test_visit_escalations(hall: LocalHall) -> None:
    t.test_a_visit_requests_escalations_are_raised_step_by_step(hall)


def test_a_slow_webhook_blocks_nothing(
    pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t.run_a_slow_webhook_blocks_nothing(tmp_path, monkeypatch, pg_schema)
