"""Mobile service station events on PostgreSQL: the same tests as on SQLite, on a fresh
schema each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hall import test_stations
from tests.hall.support import LocalHall, local_hall

pytestmark = [pytest.mark.pg, pytest.mark.timeout(300)]


@pytest.fixture
def hall(pg_schema: str, tmp_path: Path) -> Iterator[LocalHall]:
    with local_hall(tmp_path / "hall", pg_schema) as running:
        yield running


def test_an_event_reaches_the_station_devices(hall: LocalHall) -> None:
    test_stations.test_an_event_reaches_the_station_devices_signed_revised_and_cancelled(hall)


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"matters": ["passport_renewal"]}, 422, "station_event.unknown_matter"),
        ({"departments": ["civil_affairs"]}, 422, "station_event.no_department_for_matter"),
        ({"priority": "high"}, 400, "station_event.bad_request"),
    ],
)
def test_a_bad_plan_is_refused(
    hall: LocalHall, changes: dict[str, Any], status: int, code: str
) -> None:
    test_stations.test_a_bad_plan_is_refused_precisely_and_stores_nothing(
        hall, changes, status, code
    )


def test_devices_and_stations_must_be_the_events(hall: LocalHall) -> None:
    test_stations.test_devices_and_stations_must_be_the_events(hall)


def test_overlaps_stale_changes_and_ended_events(hall: LocalHall) -> None:
    test_stations.test_overlaps_stale_changes_and_ended_events_conflict(hall)


def test_a_station_phone_replicates(hall: LocalHall, tmp_path: Path) -> None:
    test_stations.test_a_station_phone_replicates_the_event_and_its_revisions(hall, tmp_path)


def test_concurrent_plans_make_one_event(hall: LocalHall) -> None:
    test_stations.test_concurrent_plans_for_one_slot_make_one_event(hall)


def test_the_summary(hall: LocalHall) -> None:
    test_stations.test_the_summary_counts_the_cases_filed_during_the_event(hall)
