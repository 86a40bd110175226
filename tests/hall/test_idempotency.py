"""``Idempotency-Key`` on staff actions: a retried request does its work once and answers the
same; a key reused for another request is refused; concurrent retries still do it once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from fieldhall.field_app_api.client import DeviceClient
from tests.field_fixtures import Hall, running_hall
from tests.field_fixtures import senior_card_case as senior_case
from tests.hall.support import HallClient, add_staff, case_events, push, wait_projected

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    data_dir = tmp_path_factory.mktemp("hall")
    with running_hall(data_dir) as running:
        add_staff(f"sqlite:///{data_dir.resolve() / 'fieldhall.sqlite3'}")
        yield running


@pytest.fixture(scope="module")
def bob(hall: Hall) -> DeviceClient:
    return hall.enroll("王建国", "grid-a")


def new_case(hall: Hall, bob: DeviceClient, seed: int) -> str:
    doc, files = senior_case(bob, seed)
    push(bob, doc, files)
    wait_projected(hall.url)
    return str(doc["_id"])


def test_same_key_twice_is_one_event(hall: Hall, bob: DeviceClient) -> None:
    carol = HallClient(hall.url, "carol")
    case_id = new_case(hall, bob, 1)
    body = {"items": [{"material_id": "photo", "problem": "照片背景不是白色"}]}
    first = carol.act(case_id, "issue_notice", body, key="retry-1")
    second = carol.act(case_id, "issue_notice", body, key="retry-1")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("idempotency-replayed") == "true"
    assert "idempotency-replayed" not in first.headers
    detail = carol.case(case_id)
    assert [e["action"] for e in detail["events"]] == ["receive", "issue_notice"]
    assert detail["notices_issued"] == 1 and len(detail["suspensions"]) == 1
    wait_projected(hall.url)
    assert [e["event"] for e in case_events(bob, case_id)] == ["notice"]
    # Without the key the same request is a new one, and the machine refuses it.
    again = carol.act(case_id, "issue_notice", body)
    assert again.status_code == 409


def test_a_key_reused_for_another_request_is_refused(hall: Hall, bob: DeviceClient) -> None:
    carol = HallClient(hall.url, "carol")
    case_id = new_case(hall, bob, 2)
    carol.ok(case_id, "pass_pre_review", {"reason": "材料齐全"}, key="k-2")
    other = carol.act(case_id, "pass_pre_review", {"reason": "另一个理由"}, key="k-2")
    assert other.status_code == 422 and other.json()["error"] == "idempotency.key_reused"
    elsewhere = carol.act(
        new_case(hall, bob, 3), "pass_pre_review", {"reason": "材料齐全"}, key="k-2"
    )
    assert elsewhere.status_code == 422


def test_keys_belong_to_their_staff_member(hall: Hall, bob: DeviceClient) -> None:
    carol, sam = HallClient(hall.url, "carol"), HallClient(hall.url, "sam")
    case_id = new_case(hall, bob, 4)
    carol.ok(case_id, "escalate_complaint", {"complexity": "simple", "reason": "催办"}, key="same")
    sams = sam.ok(
        case_id, "escalate_complaint", {"complexity": "simple", "reason": "催办"}, key="same"
    )
    assert sams["case"]["open_complaints"] == 2


def test_concurrent_retries_do_the_work_once(hall: Hall, bob: DeviceClient) -> None:
    carol = HallClient(hall.url, "carol")
    case_id = new_case(hall, bob, 5)
    replies: list[int] = []

    def send() -> None:
        replies.append(carol.act(case_id, "pass_pre_review", key="burst").status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies == [200] * 6
    events = carol.case(case_id)["events"]
    assert [e["action"] for e in events] == ["receive", "pass_pre_review"]
