"""The case page through HTTP: actions go through ``Workflow.act`` with the form's CSRF token
and idempotency key, sealed fields open only for the roles that check identities (audited),
materials only for staff who read cases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import Session

from fieldhall.field_app_api.client import Material
from fieldhall.server.hall.audit import Subject, list_entries
from fieldhall.sync.connection import create_store_engine
from tests.field_fixtures import jpeg
from tests.hall.support import LocalHall, local_hall, push, real_estate_case, wait_projected
from tests.web.support import csrf_of, key_of, login

pytestmark = pytest.mark.timeout(120)

ID_NUMBER = "513001193901150018"


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(tmp_path_factory.mktemp("web-case")) as running:
        yield running


@pytest.fixture(scope="module")
def case_id(hall: LocalHall) -> str:
    bob = hall.hall.enroll("王建国", "grid-a")
    doc, files = real_estate_case(bob, ["id_card", "property_certificate", "interview_record"])
    push(bob, doc, files)
    wait_projected(hall.url)
    return str(doc["_id"])


def audited_openings(hall: LocalHall, case_id: str) -> list[dict[str, object]]:
    engine = create_store_engine(hall.database_url)
    try:
        with Session(engine) as session:
            entries = list_entries(session, subject=Subject("case", case_id), limit=1000)
    finally:
        engine.dispose()
    return [
        {"actor": e.actor.id, **e.details}
        for e in entries
        if e.action == "case.sealed_fields_opened"
    ]


def test_the_case_page_shows_labels_materials_and_checks(hall: LocalHall, case_id: str) -> None:
    page = login(hall.url, "carol").get(f"/hall/cases/{case_id}")
    assert page.status_code == 200
    text = page.text
    assert "不动产权证书号" in text and "川（2021）达州市不动产权第0012345号" in text  # form title
    assert "已完成询问笔录" in text
    assert "申请人居民身份证（正反面）" in text  # the material's catalog name
    assert text.count("已验证") == 4  # signature, chain, attachments, receipt
    assert ID_NUMBER not in text and "13900000000" not in text  # sealed until opened
    assert "缺少必需材料" in text
    images = re.findall(r'<img src="(/hall/cases/[^"]+/materials/[^"]+)"', text)
    assert len(images) >= 3


def test_materials_are_for_case_readers(hall: LocalHall, case_id: str) -> None:
    page = login(hall.url, "carol").get(f"/hall/cases/{case_id}").text
    image = re.findall(r'<a href="([^"]+)" class="original"', page)[0]
    original = login(hall.url, "rhea").get(image)
    assert original.status_code == 200 and original.headers["content-type"] == "image/jpeg"
    assert original.content[:2] == b"\xff\xd8"
    assert "sandbox" in original.headers["content-security-policy"]
    assert login(hall.url, "root").get(image).status_code == 403
    assert httpx.get(hall.url + image).status_code == 303
    missing = login(hall.url, "carol").get(f"/hall/cases/{case_id}/materials/nope.jpg")
    assert missing.status_code == 404 and "material.not_found" in missing.text


def test_sealed_fields_open_for_clerks_and_approvers_audited(hall: LocalHall, case_id: str) -> None:
    before = len(audited_openings(hall, case_id))
    sam = login(hall.url, "sam")
    page = sam.get(f"/hall/cases/{case_id}").text
    assert "open-sealed" not in page
    refused = sam.post(f"/hall/cases/{case_id}/applicant", data={"_csrf": csrf_of(page)})
    assert refused.status_code == 403 and ID_NUMBER not in refused.text
    carol = login(hall.url, "carol")
    no_token = carol.post(f"/hall/cases/{case_id}/applicant", data={})
    assert no_token.status_code == 403 and ID_NUMBER not in no_token.text
    assert len(audited_openings(hall, case_id)) == before
    page = carol.get(f"/hall/cases/{case_id}").text
    opened = carol.post(f"/hall/cases/{case_id}/applicant", data={"_csrf": csrf_of(page)})
    assert opened.status_code == 200 and ID_NUMBER in opened.text and "13900000000" in opened.text
    assert audited_openings(hall, case_id)[before:] == [
        {"actor": "carol", "fields": ["id_number", "phone"], "role": "clerk"}
    ]
    assert ID_NUMBER not in carol.get(f"/hall/cases/{case_id}").text  # not kept open


def test_an_action_needs_the_token_and_runs_once(hall: LocalHall, case_id: str) -> None:
    carol = login(hall.url, "carol")
    page = carol.get(f"/hall/cases/{case_id}").text
    form = {
        "_key": key_of(page),
        "material": ["transfer_contract", "tax_certificate"],
        "problem:transfer_contract": "缺少不动产买卖合同",
        "problem:tax_certificate": "缺少完税证明",
        "other": "身份证照片模糊，请重拍\n",
    }
    url = f"/hall/cases/{case_id}/actions/issue_notice"
    assert carol.post(url, data=form).status_code == 403
    assert hall.staff("carol").case(case_id)["state"] == "received"
    form["_csrf"] = csrf_of(page)
    first = carol.post(url, data=form)
    assert first.status_code == 303
    assert first.headers["location"] == f"/hall/cases/{case_id}?done=issue_notice"
    again = carol.post(url, data=form)  # the same form sent twice: replayed, not redone
    assert again.status_code == 303
    detail = hall.staff("carol").case(case_id)
    assert detail["state"] == "notice" and detail["notices_issued"] == 1
    notices = [e for e in detail["events"] if e["action"] == "issue_notice"]
    assert len(notices) == 1
    assert sorted(i["problem"] for i in notices[0]["items"]) == [
        "缺少不动产买卖合同",
        "缺少完税证明",
        "身份证照片模糊，请重拍",
    ]
    done = carol.get(first.headers["location"]).text
    assert "已完成：一次性告知" in done and "身份证照片模糊，请重拍" in done


def test_a_refused_action_shows_why_on_the_page(hall: LocalHall, case_id: str) -> None:
    carol = login(hall.url, "carol")
    page = carol.get(f"/hall/cases/{case_id}").text
    refused = carol.post(
        f"/hall/cases/{case_id}/actions/refuse",
        data={"_csrf": csrf_of(page), "_key": key_of(page), "reason": "材料不全"},
    )
    assert refused.status_code == 400 and "case.bad_request" in refused.text
    assert "legal_basis" in refused.text
    rhea = login(hall.url, "rhea")
    page = rhea.get(f"/hall/cases/{case_id}").text
    assert 'action="/hall/cases/' not in page.replace(f"/hall/cases/{case_id}/applicant", "")
    wrong = rhea.post(
        f"/hall/cases/{case_id}/actions/withdraw",
        data={"_csrf": csrf_of(page), "_key": "k1", "reason": "x"},
    )
    assert wrong.status_code == 403 and "staff.forbidden" in wrong.text


def test_inbox_filters_and_badges(hall: LocalHall, case_id: str) -> None:
    carol = login(hall.url, "carol")
    everything = carol.get("/hall/cases").text
    assert case_id[-8:] in everything and "李德福" in everything
    counts = dict(re.findall(r'state=(\w+)"[^>]*>[^<]+<span class="count">(\d+)<', everything))
    states = {}
    for state in counts:
        listed = carol.get("/hall/cases", params={"state": state}).text
        states[state] = listed.count('class="open"')
    assert len(counts) == 12 and sum(states.values()) >= 1
    assert {k: int(v) for k, v in counts.items()} == states  # each tab counts what it lists
    assert case_id[-8:] in carol.get("/hall/cases", params={"q": "李德福"}).text
    assert case_id[-8:] not in carol.get("/hall/cases", params={"q": "无此人"}).text
    assert case_id[-8:] not in carol.get("/hall/cases", params={"state": "closed"}).text
    assert case_id[-8:] not in carol.get("/hall/cases", params={"station": "no-such"}).text
    assert case_id[-8:] in carol.get("/hall/cases", params={"grid": "grid-a", "matter": ""}).text
    assert "没有符合条件的案件" in carol.get("/hall/cases", params={"overdue": "true"}).text
    bad = carol.get("/hall/cases", params={"cursor": "!!"})
    assert bad.status_code == 400 and "case.bad_cursor" in bad.text


def new_case(hall: LocalHall, materials: list[str], seed: int) -> str:
    bob = hall.hall.enroll(f"网格员{seed}", f"grid-{seed}")
    doc, files = real_estate_case(bob, materials, seed=seed)
    push(bob, doc, files)
    wait_projected(hall.url)
    return str(doc["_id"])


def post_action(
    client: httpx.Client, case_id: str, action: str, **fields: object
) -> httpx.Response:
    page = client.get(f"/hall/cases/{case_id}").text
    data = {"_csrf": csrf_of(page), "_key": key_of(page), **fields}
    return client.post(f"/hall/cases/{case_id}/actions/{action}", data=data)


def test_refusal_with_its_legal_basis(hall: LocalHall) -> None:
    case = new_case(hall, ["id_card"], seed=31)
    carol = login(hall.url, "carol")
    refused = post_action(
        carol,
        case,
        "refuse",
        reason="不属于本部门职权范围",
        legal_basis="《行政许可法》第三十二条第一款第（二）项",
    )
    assert refused.status_code == 303
    detail = hall.staff("carol").case(case)
    assert detail["state"] == "refused"
    page = carol.get(f"/hall/cases/{case}").text
    assert "《行政许可法》第三十二条第一款第（二）项" in page
    assert "您的角色目前对此案件无可办理的操作" in page  # a final state offers nothing


def test_acceptance_with_a_deferred_material_and_its_due_date(hall: LocalHall) -> None:
    case = new_case(
        hall, ["id_card", "property_certificate", "transfer_contract", "interview_record"], seed=32
    )
    carol = login(hall.url, "carol")
    assert (
        post_action(carol, case, "pass_pre_review", reason="材料齐全，待补完税证明").status_code
        == 303
    )
    page = carol.get(f"/hall/cases/{case}").text
    assert 'name="due:tax_certificate"' in page  # the deferrable material is offered
    accepted = post_action(
        carol,
        case,
        "accept_with_deficiencies",
        material="tax_certificate",
        **{"problem:tax_certificate": "完税证明容缺后补", "due:tax_certificate": "2099-01-15"},
    )
    assert accepted.status_code == 303, accepted.text
    detail = hall.staff("carol").case(case)
    assert detail["state"] == "accepted_with_deficiencies"
    assert [(i["material_id"], i["due"]) for i in detail["items"]] == [
        ("tax_certificate", "2099-01-15")
    ]
    assert detail["clocks"]["promised"]["status"] == "on_time"
    inbox = carol.get("/hall/cases", params={"state": "accepted_with_deficiencies"}).text
    assert case[-8:] in inbox and "个工作日" in inbox  # the deadline badge runs


def test_withdrawal_needs_a_reason(hall: LocalHall) -> None:
    case = new_case(hall, ["id_card"], seed=33)
    carol = login(hall.url, "carol")
    bare = post_action(carol, case, "withdraw")
    assert bare.status_code == 400 and "case.bad_request" in bare.text
    assert post_action(carol, case, "withdraw", reason="申请人撤回申请").status_code == 303
    assert hall.staff("carol").case(case)["state"] == "withdrawn"


def test_a_supplement_file_with_the_case_files_name(hall: LocalHall) -> None:
    """Both files are shown, each link opening its own bytes (the document picks which)."""
    bob = hall.hall.enroll("网格员34", "grid-34")
    doc, files = real_estate_case(bob, ["id_card"], seed=34)
    push(bob, doc, files)
    wait_projected(hall.url)
    case = str(doc["_id"])
    carol = login(hall.url, "carol")
    assert (
        post_action(carol, case, "issue_notice", other="身份证照片模糊，请重拍").status_code == 303
    )
    notice = hall.staff("carol").case(case)["events"][-1]["id"]
    again = Material(files[0].name, jpeg(999), "image/jpeg", "id_card")  # the same file name
    body = {
        "_id": bob.new_id("supplement"),
        "type": "supplement",
        "case_id": case,
        "answers_event": notice,
        "materials": [again.manifest()],
        "note": "重拍",
    }
    push(bob, bob.sign(body), [again])
    wait_projected(hall.url)
    page = carol.get(f"/hall/cases/{case}").text
    links = re.findall(r'<a href="([^"]+)" class="original"', page)
    same = [link.replace("&amp;", "&") for link in links if quote(files[0].name) in link]
    assert len(same) == 2 and all("?doc=" in link for link in same)
    bodies = {carol.get(link).content for link in same}
    assert bodies == {files[0].data, again.data}


def test_a_notice_naming_nothing_is_refused_with_its_reason(hall: LocalHall) -> None:
    case = new_case(hall, ["id_card"], seed=35)
    empty = post_action(login(hall.url, "carol"), case, "issue_notice", other="  \n ")
    assert empty.status_code == 400 and "case.bad_request" in empty.text
    assert hall.staff("carol").case(case)["state"] == "received"
