"""The resident's receipt: a printable zh-CN page and PDF for the issuing agent's device and
for staff, and a public /verify page that checks the server's signature and shows digests
— never anything personal."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from ulid import ULID

from fieldhall.field_app_api.client import DeviceClient
from tests.field_fixtures import ADMIN, Hall, running_hall, senior_card_case

PERSONAL = ("张桂兰", "610902194501010023", "13800000000", "南环社区")


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    with running_hall(tmp_path_factory.mktemp("receipts") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def bob(hall: Hall, tmp_path_factory: pytest.TempPathFactory) -> DeviceClient:
    return hall.enroll("bob", tmp=tmp_path_factory.mktemp("bob"))


@pytest.fixture(scope="module")
def chelsea(hall: Hall, tmp_path_factory: pytest.TempPathFactory) -> DeviceClient:
    return hall.enroll("chelsea", tmp=tmp_path_factory.mktemp("chelsea"))


@pytest.fixture(scope="module")
def receipt(bob: DeviceClient) -> dict[str, Any]:
    # Unsealed, so that the personal fields are plain text the pages could leak.
    case, files = senior_card_case(bob, 5)
    body, files = bob.case_body(
        "senior_citizen_card", "2026.1", case["applicant"], case["form"],
        files[:-1], files[-1], location=case["location"], seal=False,
    )  # fmt: skip
    signed = bob.sign(body)
    [result] = bob.push([bob.with_attachments(signed, files)])
    assert result.get("ok") is True, result
    docs, _ = bob.pull()
    [found] = [d for d in docs if d.get("type") == "receipt" and d["for"]["id"] == signed["_id"]]
    return found


def _ulid(receipt: dict[str, Any]) -> str:
    return str(receipt["_id"]).partition(":")[2]


def _as(device: DeviceClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {device.state.token}"}


def test_the_issuing_device_prints_the_receipt(
    hall: Hall, bob: DeviceClient, receipt: dict[str, Any]
) -> None:
    page = httpx.get(f"{hall.url}/receipts/{_ulid(receipt)}", headers=_as(bob))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"].startswith("private")
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert "老年人优待证办理" in html and "接收时间" in html and "北京时间" in html
    assert "张*兰" in html and "张桂兰" not in html
    assert "<svg" in html and f"{hall.url}/verify/{_ulid(receipt)}" in html
    assert "http://" not in html.replace(hall.url, "").replace("http://www.w3.org", "")


def test_staff_may_print_and_others_may_not(
    hall: Hall, chelsea: DeviceClient, receipt: dict[str, Any]
) -> None:
    url = f"{hall.url}/receipts/{_ulid(receipt)}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=_as(chelsea)).status_code == 404
    assert httpx.get(url, auth=("alice", "wrong")).status_code == 401
    assert httpx.get(url, auth=ADMIN).status_code == 200
    assert httpx.get(f"{hall.url}/receipts/{ULID()}", auth=ADMIN).status_code == 404


def test_the_receipt_as_pdf(hall: Hall, bob: DeviceClient, receipt: dict[str, Any]) -> None:
    response = httpx.get(f"{hall.url}/receipts/{_ulid(receipt)}.pdf", headers=_as(bob))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "政务服务受理回执" in text and "老年人优待证办理" in text
    assert f"/verify/{_ulid(receipt)}" in text.replace("\n", "")


def test_verify_is_public_and_shows_nothing_personal(hall: Hall, receipt: dict[str, Any]) -> None:
    for ref in (_ulid(receipt), receipt["_id"]):
        page = httpx.get(f"{hall.url}/verify/{ref}")
        assert page.status_code == 200
        html = page.text
        assert "签名有效" in html and "签名无效" not in html
        assert receipt["for"]["sha256"] in html
        for digest in receipt["attachments"].values():
            assert digest in html
        for secret in (*PERSONAL, receipt["agent_id"], receipt["device_id"], receipt["case_id"]):
            assert secret not in html, f"/verify shows {secret!r}"
        for name in receipt["attachments"]:
            assert name not in html


def test_verify_says_when_a_signature_does_not_hold(hall: Hall, receipt: dict[str, Any]) -> None:
    forged = {k: v for k, v in receipt.items() if k not in ("_rev", "_attachments")}
    forged["_id"] = f"receipt:{ULID()}"
    forged["received_at"] = "2020-01-01T00:00:00.000Z"  # the signature no longer covers this
    with httpx.Client(base_url=hall.url, auth=ADMIN) as admin:
        put = admin.put(f"/sync/field/{forged['_id']}", json=forged)
        assert put.status_code == 201, put.text
    page = httpx.get(f"{hall.url}/verify/{_ulid(forged)}")
    assert page.status_code == 200 and "签名无效" in page.text
    assert httpx.get(f"{hall.url}/verify/{ULID()}").status_code == 404
    assert httpx.get(f"{hall.url}/verify/not-an-id").status_code == 404
