"""The seeds' workflows end to end through the sync surface, with a real device.

Dazhou: real-estate registration staff went to an 85-year-old in hospital. bob's phone files
the 不动产登记 case at the bedside, two papers missing; carol pre-reviews it and sends one
complete notice (一次性告知); the phone supplies the contract; carol accepts with the tax
certificate deferred (容缺受理); the real-estate centre and the taxation bureau approve in
parallel (并联审批) — the last step waits for the deferred paper —; the result is ready; bob
hands it over at the bedside with the recipient's signature and a rating; carol closes it.
Every decision reaches bob's phone as a server-signed case_event that the phone verifies.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.server.hall.timelimits.localday import hall_date
from tests.field_fixtures import Hall, running_hall
from tests.field_fixtures import senior_card_case as senior_case
from tests.hall.support import (
    HallClient,
    add_staff,
    case_events,
    delivery,
    push,
    real_estate_case,
    supplement,
    wait_projected,
)

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


def staff(hall: Hall, name: str) -> HallClient:
    return HallClient(hall.url, name)


def error(response: object) -> str:
    code: str = response.json()["error"]  # type: ignore[attr-defined]
    return code


def test_hospital_case_from_filing_to_closing(hall: Hall, bob: DeviceClient) -> None:
    carol, rhea, tao, sam = (staff(hall, n) for n in ("carol", "rhea", "tao", "sam"))
    doc, files = real_estate_case(bob, ["id_card", "property_certificate", "interview_record"])
    case_id = str(doc["_id"])
    push(bob, doc, files)
    wait_projected(hall.url)

    detail = carol.case(case_id)
    assert detail["state"] == "received"
    assert detail["channel"] == "hospital" and detail["trips"] == 0
    assert detail["pre_review"]["missing"] == ["transfer_contract", "tax_certificate"]
    verification = detail["verification"]
    assert verification["ok"], verification
    assert {
        k: verification[k]["status"] for k in ("signature", "chain", "attachments", "receipt")
    } == dict.fromkeys(("signature", "chain", "attachments", "receipt"), "ok")

    # Pre-review first: accepting straight away is not a transition of the machine.
    refused = carol.act(case_id, "accept")
    assert refused.status_code == 409 and error(refused) == "case.transition_not_allowed"

    # One complete notice: the contract is missing (the tax certificate may follow later).
    notice = carol.ok(
        case_id,
        "issue_notice",
        {"items": [{"material_id": "transfer_contract", "problem": "缺少不动产买卖合同"}]},
    )
    assert notice["case"]["state"] == "notice" and notice["case"]["suspended"] is True
    notice_id = notice["events"][0]["id"]

    sup, sup_files = supplement(bob, case_id, notice_id, ["transfer_contract"], seed=11)
    push(bob, sup, sup_files)
    wait_projected(hall.url)
    detail = carol.case(case_id)
    assert detail["state"] == "received" and detail["suspended"] is False
    assert detail["supplements"][0]["outcome"] == "answered_notice"
    assert detail["suspensions"][0]["ended_by"] == sup["_id"]
    assert all(i["resolved_by"] == sup["_id"] for i in detail["items"])

    # A second notice may not bring up anything new: that was the one-time notice.
    again = carol.act(
        case_id, "issue_notice", {"items": [{"material_id": "id_card", "problem": "模糊"}]}
    )
    assert again.status_code == 409 and error(again) == "case.notice_already_issued"

    carol.ok(case_id, "pass_pre_review")
    missing = carol.act(case_id, "accept")
    assert missing.status_code == 409 and error(missing) == "case.materials_missing"
    due = (hall_date(datetime.now(UTC)) + timedelta(days=10)).isoformat()
    accepted = carol.ok(
        case_id,
        "accept_with_deficiencies",
        {"items": [{"material_id": "tax_certificate", "problem": "完税证明容缺后补", "due": due}]},
    )
    assert accepted["case"]["state"] == "accepted_with_deficiencies"
    assert accepted["case"]["due"]["promised"] is not None
    deficiency_event = accepted["events"][0]["id"]

    # Approval: step 1 by the real-estate centre alone; taxation may not decide it.
    wrong = tao.act(case_id, "decide_step", {"decision": "approved"})
    assert wrong.status_code == 403 and error(wrong) == "case.wrong_department"
    rhea.ok(case_id, "decide_step", {"decision": "approved", "step_id": "accept"})
    # Step 2 is parallel (并联审批): taxation first, then the centre; both must approve.
    step2 = tao.ok(case_id, "decide_step", {"decision": "approved"})
    assert step2["case"]["current_step"] == 1
    twice = tao.act(case_id, "decide_step", {"decision": "approved"})
    assert twice.status_code == 409 and error(twice) == "case.step_already_decided"
    rhea.ok(case_id, "decide_step", {"decision": "approved", "step_id": "joint_review"})
    assert carol.case(case_id)["current_step"] == 2
    # The last step cannot conclude while the deferred certificate is outstanding.
    blocked = rhea.act(case_id, "decide_step", {"decision": "approved"})
    assert blocked.status_code == 409 and error(blocked) == "case.deficiencies_outstanding"

    sup2, sup2_files = supplement(bob, case_id, deficiency_event, ["tax_certificate"], seed=12)
    push(bob, sup2, sup2_files)
    wait_projected(hall.url)
    detail = carol.case(case_id)
    assert detail["state"] == "accepted" and detail["open_deficiencies"] == 0

    approved = rhea.ok(case_id, "decide_step", {"decision": "approved"})
    assert [e["event"] for e in approved["events"]] == ["step_decided", "approved"]
    assert approved["case"]["state"] == "approved"
    carol.ok(case_id, "mark_result_ready")

    handed, handed_files = delivery(bob, case_id, rating=5)
    push(bob, handed, handed_files)
    wait_projected(hall.url)
    detail = carol.case(case_id)
    assert detail["state"] == "delivered" and detail["rating"] == 5
    assert detail["delivery_method"] == "agent" and detail["trips"] == 0
    closed = carol.ok(case_id, "close")
    assert closed["case"]["state"] == "closed"
    wait_projected(hall.url)

    # bob's phone has every decision, each signed by the hall and verified.
    events = case_events(bob, case_id)
    assert [e["event"] for e in events] == [
        "notice",
        "received",
        "pre_review_passed",
        "accepted_with_deficiencies",
        "step_decided",
        "step_decided",
        "step_decided",
        "accepted",
        "step_decided",
        "approved",
        "result_ready",
        "closed",
    ]
    assert events[0]["items"] == [
        {"material_id": "transfer_contract", "problem": "缺少不动产买卖合同", "due": None}
    ]
    assert events[3]["items"][0]["due"] == due
    assert {e["step"]["department"] for e in events if e["event"] == "step_decided"} == {
        "real_estate_center",
        "taxation",
    }
    assert {e["by_role"] for e in events} == {"system", "clerk", "approver"}

    summary = sam.get("/api/v1/reports/summary", matter="real_estate_registration").json()
    assert summary["cases"] == 1
    assert summary["on_time"]["promised"]["on_time"] == 1
    assert summary["satisfaction"] == {
        "rate": 1.0,
        "rated": 1,
        "satisfied": 1,
        "by_rating": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
    }
    assert summary["trips"]["zero_trip_cases"] == 1 and summary["trips"]["average"] == 0


def test_refusal_names_its_legal_basis(hall: Hall, bob: DeviceClient) -> None:
    carol = staff(hall, "carol")
    doc, files = senior_case(bob, seed=21)
    push(bob, doc, files)
    wait_projected(hall.url)
    case_id = str(doc["_id"])
    bare = carol.act(case_id, "refuse", {"reason": "申请人不属于本辖区"})
    assert bare.status_code == 400 and error(bare) == "case.bad_request"
    refused = carol.ok(
        case_id,
        "refuse",
        {
            "reason": "申请人户籍不在本辖区",
            "legal_basis": "《行政许可法》第三十二条第一款第（二）项",
        },
    )
    assert refused["case"]["state"] == "refused" and refused["case"]["closed_at"]
    again = carol.act(case_id, "pass_pre_review")
    assert again.status_code == 409 and error(again) == "case.transition_not_allowed"
    wait_projected(hall.url)
    events = case_events(bob, case_id)
    assert [e["event"] for e in events] == ["refused"]
    assert "行政许可法" in events[0]["reason"]


def test_withdrawal_stops_the_clock(hall: Hall, bob: DeviceClient) -> None:
    carol = staff(hall, "carol")
    doc, files = senior_case(bob, seed=31)
    push(bob, doc, files)
    wait_projected(hall.url)
    case_id = str(doc["_id"])
    carol.ok(
        case_id, "issue_notice", {"items": [{"material_id": "photo", "problem": "照片不清晰"}]}
    )
    withdrawn = carol.ok(case_id, "withdraw", {"reason": "申请人本人来电撤回申请"})
    assert withdrawn["case"]["state"] == "withdrawn" and withdrawn["case"]["suspended"] is False
    detail = carol.case(case_id)
    assert detail["suspensions"][0]["ended_at"] is not None
    late = carol.act(case_id, "accept")
    assert late.status_code == 409
    wait_projected(hall.url)
    assert [e["event"] for e in case_events(bob, case_id)] == ["notice", "withdrawn"]


def test_a_denial_by_one_department_denies_the_case(hall: Hall, bob: DeviceClient) -> None:
    carol, rhea, tao = (staff(hall, n) for n in ("carol", "rhea", "tao"))
    doc, files = real_estate_case(
        bob,
        [
            "id_card",
            "property_certificate",
            "transfer_contract",
            "tax_certificate",
            "interview_record",
        ],
        seed=41,
    )
    push(bob, doc, files)
    wait_projected(hall.url)
    case_id = str(doc["_id"])
    carol.ok(case_id, "pass_pre_review")
    carol.ok(case_id, "accept")
    rhea.ok(case_id, "decide_step", {"decision": "approved"})
    no_reason = tao.act(case_id, "decide_step", {"decision": "denied"})
    assert no_reason.status_code == 400 and error(no_reason) == "case.reason_required"
    denied = tao.ok(case_id, "decide_step", {"decision": "denied", "reason": "存在欠缴税款"})
    assert [e["event"] for e in denied["events"]] == ["step_decided", "denied"]
    assert denied["case"]["state"] == "denied" and denied["case"]["concluded_at"]
    late = rhea.act(case_id, "decide_step", {"decision": "approved"})
    assert late.status_code == 409 and error(late) == "case.transition_not_allowed"
    carol.ok(case_id, "mark_result_ready")
    mailed = carol.act(case_id, "record_delivery", {"method": "mail"})
    assert mailed.status_code == 400 and error(mailed) == "case.tracking_number_required"
    carol.ok(case_id, "record_delivery", {"method": "pickup", "rating": 2})
    detail = carol.case(case_id)
    assert detail["state"] == "delivered" and detail["trips"] == 1  # came to pick it up


def test_complaint_escalation_runs_its_own_clock(hall: Hall, bob: DeviceClient) -> None:
    carol, sam = staff(hall, "carol"), staff(hall, "sam")
    doc, files = senior_case(bob, seed=51)
    push(bob, doc, files)
    wait_projected(hall.url)
    case_id = str(doc["_id"])
    opened = carol.ok(
        case_id,
        "escalate_complaint",
        {"complexity": "general", "reason": "办不成事：材料齐全但三天无人受理"},
    )
    assert opened["events"] == [] and opened["case"]["state"] == "received"
    complaint = opened["complaint"]
    assert complaint["complexity"] == "general" and complaint["due_at"]
    assert opened["case"]["open_complaints"] == 1
    clerk_answers = carol.act(case_id, "answer_complaint", {"answer": "已协调受理"})
    assert clerk_answers.status_code == 403
    answered = sam.ok(case_id, "answer_complaint", {"answer": "已督办窗口当日受理"})
    assert answered["complaint"]["answered_by"] == "sam"
    assert answered["case"]["open_complaints"] == 0
