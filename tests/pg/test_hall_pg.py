"""The hall on PostgreSQL: the projector (exactly once, resumable), the whole case workflow
through the sync surface with a real device, idempotent actions under concurrent retries —
the same tests as on SQLite, on a fresh schema each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldhall.field_app_api.client import DeviceClient
from tests.field_fixtures import Hall, running_hall
from tests.hall import test_idempotency, test_projector, test_scenario
from tests.hall.support import LocalHall, add_staff, local_hall

pytestmark = [pytest.mark.pg, pytest.mark.timeout(300)]


@pytest.fixture
def hall(pg_schema: str, tmp_path: Path) -> Iterator[Hall]:
    with running_hall(tmp_path / "hall", pg_schema) as running:
        add_staff(pg_schema)
        yield running


@pytest.fixture
def bob(hall: Hall) -> DeviceClient:
    return hall.enroll("王建国", "grid-a")


@pytest.fixture
def quiet_hall(pg_schema: str, tmp_path: Path) -> Iterator[LocalHall]:
    """No background projector: the test drives it."""
    with local_hall(tmp_path / "hall", pg_schema, projector=False) as running:
        yield running


@pytest.fixture
def quiet_bob(quiet_hall: LocalHall) -> DeviceClient:
    return quiet_hall.hall.enroll("王建国", "grid-a")


def test_scenario_from_filing_to_closing(hall: Hall, bob: DeviceClient) -> None:
    test_scenario.test_hospital_case_from_filing_to_closing(hall, bob)


def test_refusal(hall: Hall, bob: DeviceClient) -> None:
    test_scenario.test_refusal_names_its_legal_basis(hall, bob)


def test_withdrawal(hall: Hall, bob: DeviceClient) -> None:
    test_scenario.test_withdrawal_stops_the_clock(hall, bob)


def test_denial(hall: Hall, bob: DeviceClient) -> None:
    test_scenario.test_a_denial_by_one_department_denies_the_case(hall, bob)


def test_complaint(hall: Hall, bob: DeviceClient) -> None:
    test_scenario.test_complaint_escalation_runs_its_own_clock(hall, bob)


def test_idempotent_retries(hall: Hall, bob: DeviceClient) -> None:
    test_idempotency.test_same_key_twice_is_one_event(hall, bob)
    test_idempotency.test_a_key_reused_for_another_request_is_refused(hall, bob)


def test_concurrent_retries_do_the_work_once(hall: Hall, bob: DeviceClient) -> None:
    test_idempotency.test_concurrent_retries_do_the_work_once(hall, bob)


def test_projection(quiet_hall: LocalHall, quiet_bob: DeviceClient) -> None:
    test_projector.test_cases_are_projected_with_their_materials_and_receipts(quiet_hall, quiet_bob)


def test_projecting_twice(quiet_hall: LocalHall, quiet_bob: DeviceClient) -> None:
    test_projector.test_projecting_twice_adds_nothing(quiet_hall, quiet_bob)


def test_rewound_checkpoint(quiet_hall: LocalHall, quiet_bob: DeviceClient) -> None:
    test_projector.test_a_rewound_checkpoint_replays_without_duplicates(quiet_hall, quiet_bob)


def test_killed_mid_batch(
    quiet_hall: LocalHall, quiet_bob: DeviceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_projector.test_killed_mid_batch_leaves_nothing_half_done_and_resumes(
        quiet_hall, quiet_bob, monkeypatch
    )


def test_two_projectors_at_once(quiet_hall: LocalHall, quiet_bob: DeviceClient) -> None:
    test_projector.test_two_projectors_at_once_project_each_document_once(quiet_hall, quiet_bob)


def test_the_doors_hash(
    quiet_hall: LocalHall, quiet_bob: DeviceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_projector.test_the_signed_bytes_hash_is_the_devices_whether_taken_from_the_receipt_or_computed(
        quiet_hall, quiet_bob, monkeypatch
    )


def test_a_full_batch_waits_for_receipts(
    quiet_hall: LocalHall, quiet_bob: DeviceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_projector.test_a_full_batch_leaves_a_document_without_its_receipt_to_the_next_batch(
        quiet_hall, quiet_bob, monkeypatch
    )
