"""Staff roles on every hall endpoint: each role × each action, the readers of cases and
of reports, and callers without (valid) credentials.

A permitted role is shown by getting past the role check to the body check (a malformed
body: 400), so the probe never moves the case; a forbidden one gets 403 ``staff.forbidden``
and the case is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.server.hall.machine import API_ACTIONS, roles_for
from tests.field_fixtures import Hall, running_hall
from tests.field_fixtures import senior_card_case as senior_case
from tests.hall.support import STAFF, HallClient, add_staff, push, wait_projected

pytestmark = pytest.mark.timeout(300)

ROLE_OF = {"admin": "root", "clerk": "carol", "approver": "rhea", "supervisor": "sam"}


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    data_dir = tmp_path_factory.mktemp("hall")
    with running_hall(data_dir) as running:
        add_staff(f"sqlite:///{data_dir.resolve() / 'fieldhall.sqlite3'}")
        yield running


@pytest.fixture(scope="module")
def case_id(hall: Hall) -> str:
    bob: DeviceClient = hall.enroll("王建国", "grid-a")
    doc, files = senior_case(bob, seed=1)
    push(bob, doc, files)
    wait_projected(hall.url)
    return str(doc["_id"])


def test_the_accounts_cover_every_role() -> None:
    assert {role for role, _ in STAFF.values()} == set(ROLE_OF)


@pytest.mark.parametrize("action", API_ACTIONS)
@pytest.mark.parametrize("role", sorted(ROLE_OF))
def test_each_role_and_action(hall: Hall, case_id: str, role: str, action: str) -> None:
    who = HallClient(hall.url, ROLE_OF[role])
    response = who.act(case_id, action, {"not_a_field": True})
    if role in roles_for(action):
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "case.bad_request"
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "staff.forbidden"
    assert HallClient(hall.url, "sam").case(case_id)["state"] == "received"


def test_the_role_table_is_what_the_brief_says() -> None:
    assert roles_for("decide_step") == {"approver"}
    assert roles_for("answer_complaint") == {"supervisor"}
    assert roles_for("escalate_complaint") == {"clerk", "supervisor"}
    for action in API_ACTIONS:
        assert "admin" not in roles_for(action)  # admins do no casework
    assert roles_for("receive") == frozenset()  # device-driven, never a staff action


@pytest.mark.parametrize("role", sorted(ROLE_OF))
def test_case_readers(hall: Hall, case_id: str, role: str) -> None:
    who = HallClient(hall.url, ROLE_OF[role])
    listed = who.get("/api/v1/cases")
    detail = who.get(f"/api/v1/cases/{case_id}")
    expected = 403 if role == "admin" else 200
    assert (listed.status_code, detail.status_code) == (expected, expected)


@pytest.mark.parametrize("role", sorted(ROLE_OF))
@pytest.mark.parametrize(
    "path", ["/api/v1/reports/summary", "/api/v1/reports/warnings", "/api/v1/reports/cases.csv"]
)
def test_report_readers(hall: Hall, case_id: str, role: str, path: str) -> None:
    response = HallClient(hall.url, ROLE_OF[role]).get(path)
    assert response.status_code == (200 if role == "supervisor" else 403), response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/case:01J0000000000000000000000"),
        ("POST", "/api/v1/cases/case:01J0000000000000000000000/actions/accept"),
        ("GET", "/api/v1/reports/summary"),
        ("GET", "/api/v1/reports/cases.csv"),
    ],
)
# mei (unused here) takes the wrong passwords: five of them lock an account for 15 minutes.
@pytest.mark.parametrize("auth", [None, ("mei", "wrong-password"), ("nobody", "x" * 10)])
def test_no_valid_credentials_is_401(
    hall: Hall, method: str, path: str, auth: tuple[str, str] | None
) -> None:
    response = httpx.request(method, hall.url + path, auth=auth, json={}, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"] == "staff.unauthorized"


def test_unknown_case_and_action(hall: Hall, case_id: str) -> None:
    carol = HallClient(hall.url, "carol")
    unknown_action = carol.act(case_id, "approve_everything")
    assert unknown_action.status_code == 404
    assert unknown_action.json()["error"] == "case.unknown_action"
    internal = carol.act(case_id, "receive")  # a device-driven transition
    assert internal.status_code == 404
    missing = carol.act("case:01J0000000000000000000000", "pass_pre_review")
    assert missing.status_code == 404 and missing.json()["error"] == "case.not_found"
    detail = carol.get("/api/v1/cases/case:01J0000000000000000000000")
    assert detail.status_code == 404 and detail.json()["error"] == "case.not_found"


def test_the_hall_api_is_in_the_openapi_document(hall: Hall) -> None:
    paths = httpx.get(hall.url + "/schema/openapi.json", timeout=30).json()["paths"]
    assert {
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/actions/{action}",
        "/api/v1/reports/summary",
        "/api/v1/reports/warnings",
        "/api/v1/reports/cases.csv",
    } <= set(paths)
