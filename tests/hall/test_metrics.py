"""``/metrics`` through HTTP: the hall's figures read at scrape time, documents written
through /sync and requests served, in the Prometheus text format or OpenMetrics as asked,
and a registry per app so two halls in one process count apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.server.hall.metrics import classify
from tests.field_fixtures import senior_card_case as senior_case
from tests.hall.support import LocalHall, local_hall, push

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[LocalHall]:
    with local_hall(tmp_path / "hall", projector=False) as running:
        yield running


@pytest.fixture
def bob(hall: LocalHall) -> DeviceClient:
    return hall.hall.enroll("王建国", "grid-a")


def scrape(hall: LocalHall) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = httpx.get(hall.url + "/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def test_projector_figures_are_read_at_scrape_time(hall: LocalHall, bob: DeviceClient) -> None:
    for seed in (1, 2):
        push(bob, *senior_case(bob, seed))
    before = scrape(hall)
    assert before[("fieldhall_projector_lag", ())] > 0
    assert before[("fieldhall_projector_documents_total", ())] == 0
    assert ("fieldhall_cases_open", (("state", "received"),)) not in before

    hall.parts.projector.project_pending()
    after = scrape(hall)
    assert after[("fieldhall_projector_lag", ())] == 0
    assert (
        after[("fieldhall_projector_checkpoint_seq", ())]
        == after[("fieldhall_field_update_seq", ())]
    )
    assert after[("fieldhall_projector_documents_total", ())] == 2
    assert after[("fieldhall_cases_open", (("state", "received"),))] == 2
    assert after[("fieldhall_case_events_unpublished", ())] == 0


def test_sync_writes_and_requests_are_counted(hall: LocalHall, bob: DeviceClient) -> None:
    push(bob, *senior_case(bob, 1))
    reply = httpx.get(hall.url + "/sync/field/_changes")  # no token: refused
    assert reply.status_code == 401
    got = scrape(hall)
    written = got[
        ("fieldhall_sync_documents_written_total", (("db", "field"), ("writer", "device")))
    ]
    assert written >= 1
    bulk_docs = [
        value
        for (name, labels), value in got.items()
        if name == "fieldhall_http_requests_total"
        and dict(labels).get("endpoint") == "_bulk_docs"
        and dict(labels)["status"] == "201"
    ]
    assert bulk_docs and sum(bulk_docs) >= 1
    refused = dict(
        [
            ("endpoint", "_changes"),
            ("method", "GET"),
            ("status", "401"),
            ("surface", "sync"),
        ]
    )
    key = ("fieldhall_http_requests_total", tuple(sorted(refused.items())))
    assert got[key] == 1
    timed = (
        "fieldhall_http_request_duration_seconds_count",
        (("endpoint", "_changes"), ("surface", "sync")),
    )
    assert got[timed] >= 1


def test_openmetrics_when_asked(hall: LocalHall) -> None:
    reply = httpx.get(
        hall.url + "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert reply.headers["content-type"].startswith("application/openmetrics-text")
    assert reply.text.rstrip().endswith("# EOF")
    assert "fieldhall_projector_lag 0" in reply.text


def test_two_halls_in_one_process_count_apart(tmp_path: Path, hall: LocalHall) -> None:
    key = (
        "fieldhall_http_requests_total",
        (("endpoint", "health"), ("method", "GET"), ("status", "200"), ("surface", "ops")),
    )
    httpx.get(hall.url + "/health")
    mine = scrape(hall)[key]
    with local_hall(tmp_path / "other", projector=False) as other:
        for _ in range(3):
            httpx.get(other.url + "/health")
        assert scrape(other)[key] == 3  # a new hall: only these (its start polls nothing)
        assert scrape(hall)[key] == mine  # and none of them counted here
        assert hall.app.state.metrics.registry is not other.app.state.metrics.registry


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/sync/", ("sync", "server")),
        ("/sync/field", ("sync", "db")),
        ("/sync/field/_bulk_docs", ("sync", "_bulk_docs")),
        ("/sync/field/case:01J/photo.jpg", ("sync", "doc")),
        ("/sync/anything/_whatever", ("sync", "doc")),
        ("/api/v1/admin/devices/d1/revoke", ("api", "admin")),
        ("/api/v1/devices/enroll", ("api", "device")),
        ("/metrics", ("ops", "metrics")),
        ("/", ("ui", "root")),
        ("/some/invented/path", ("ui", "page")),
    ],
)
def test_label_values_come_from_fixed_sets(path: str, expected: tuple[str, str]) -> None:
    assert classify(path) == expected
