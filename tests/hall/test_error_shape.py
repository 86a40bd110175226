"""Whatever refuses a request on /api/v1 — a handler, a parameter check, Litestar's JSON
decoder, the router — the client gets one shape: ``{"error": <code>, "reason": <text>}``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hall.support import LocalHall, local_hall, password

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(Path(tmp_path_factory.mktemp("hall")), projector=False) as running:
        yield running


def carol(hall: LocalHall) -> httpx.Client:
    return httpx.Client(base_url=hall.hall.url, auth=("carol", password("carol")), timeout=30)


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error", "reason"),
    [
        ("POST", "/api/v1/cases/case:x/actions/pre_review", b"{bad", 400, "bad_request", "JSON"),
        ("POST", "/api/v1/visit-requests", b"{bad", 400, "bad_request", "JSON"),
        ("POST", "/api/v1/visit-requests", b"[]", 400, "bad_request", "object"),
        ("GET", "/api/v1/cases?limit=abc", None, 400, "bad_request", "limit"),
        ("GET", "/api/v1/no-such-thing", None, 404, "not_found", ""),
        ("DELETE", "/api/v1/cases", None, 405, "method_not_allowed", ""),
        ("POST", "/api/v1/devices/enroll", b"{bad", 400, "bad_request", "JSON"),
    ],
)
def test_every_refusal_has_the_api_shape(
    hall: LocalHall,
    method: str,
    path: str,
    body: bytes | None,
    status: int,
    error: str,
    reason: str,
) -> None:
    with carol(hall) as client:
        response = client.request(method, path, content=body, headers=JSON if body else None)
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"error", "reason"}
    assert payload["error"] == error
    assert reason in payload["reason"]
