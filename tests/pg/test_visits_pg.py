"""Home-visit requests on PostgreSQL: the scenario through the sync surface, the agent's
updates, the ladder, and the races (two sweeps at once, one key retried at once) that only
a database with real row locks can get wrong — the same tests as on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hall import test_visit_operations, test_visit_scenario, test_visits
from tests.hall.support import LocalHall, local_hall
from tests.hall.test_visits import World, make_world

pytestmark = [pytest.mark.pg, pytest.mark.timeout(300)]


@pytest.fixture
def quiet_hall(pg_schema: str, tmp_path: Path) -> Iterator[LocalHall]:
    with local_hall(tmp_path / "hall", pg_schema, projector=False) as running:
        yield running


@pytest.fixture
def world(quiet_hall: LocalHall) -> World:
    return make_world(quiet_hall)


def test_a_simple_ticket_through_all_its_timers(quiet_hall: LocalHall) -> None:
    test_visit_scenario.test_a_simple_ticket_through_all_its_timers(quiet_hall)


def test_an_urgent_ticket_climbs_the_whole_ladder(quiet_hall: LocalHall) -> None:
    test_visit_scenario.test_an_urgent_ticket_climbs_the_whole_ladder(quiet_hall)


def test_dispatch_reaches_the_grid(world: World) -> None:
    test_visits.test_a_hotline_ticket_reaches_the_grid_signed_with_the_phone_sealed(world)
    test_visits.test_reassigning_to_another_grid_moves_the_document(world)
    test_visits.test_cancelling_leaves_a_tombstone_in_the_grid(world)


def test_updates_and_strangers(world: World) -> None:
    test_visits.test_updates_move_the_request_and_strangers_are_recorded(world)
    test_visits.test_cannot_complete_keeps_it_open_for_the_clerk(world)
    test_visits.test_replaying_the_feed_projects_each_update_once(world)


def test_the_ladder_and_the_list(world: World) -> None:
    test_visits.test_the_sweep_climbs_the_ladder_once_per_step(world)
    test_visits.test_the_list_filters_and_pages(world)
    test_visits.test_creation_is_idempotent_by_key(world)


def test_concurrent_sweeps_escalate_once(world: World) -> None:
    test_visits.concurrent_sweeps_escalate_once(world)


def test_concurrent_retries_create_once(world: World) -> None:
    test_visits.concurrent_retries_create_once(world)


def test_a_phone_syncing_with_the_replicator(quiet_hall: LocalHall, tmp_path: Path) -> None:
    test_visit_scenario.test_a_phone_syncing_with_the_replicator_gets_and_drops_requests(
        quiet_hall, tmp_path
    )


def test_the_warning_list_and_the_summary_report_visit_requests(quiet_hall: LocalHall) -> None:
    test_visit_operations.test_the_warning_list_names_requests_near_and_past_their_timers(
        quiet_hall
    )


def test_the_summary_reports_visit_rates(quiet_hall: LocalHall) -> None:
    test_visit_operations.test_the_summary_reports_sources_and_on_time_rates(quiet_hall)


def test_metrics_and_health_read_visit_requests(quiet_hall: LocalHall) -> None:
    test_visit_operations.test_metrics_count_open_requests_lapsed_timers_and_escalations(quiet_hall)
