"""Proof: stock tus clients upload through a connection-cutting proxy with identical bytes,
and a document naming those bytes by an attachment stub is accepted afterwards."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.uploads import sha256_digest
from tests.faultproxy import FaultProxy
from tests.field_fixtures import CATALOG_VERSION, Hall, jpeg, png, senior_card_case

from .conftest import blob_bytes
from .support import (
    device_token,
    noisy_jpeg,
    upload_status,
    upload_with_node,
    upload_with_tuspy,
    with_stubs,
)


def _proxy(hall: Hall, seed: int) -> FaultProxy:
    port = urlsplit(hall.url).port
    assert port is not None
    return FaultProxy(port, seed=seed, cut_rate=0.5, max_cut_bytes=48 * 1024, delay_rate=0.1)


def _check_arrived(hall: Hall, device: DeviceClient, url: str, data: bytes) -> None:
    status = upload_status(
        url.replace(urlsplit(url).netloc, urlsplit(hall.url).netloc), device_token(device)
    )
    sha256 = hashlib.sha256(data).hexdigest()
    assert status.status_code == 200
    assert status.headers["upload-offset"] == str(len(data))
    assert status.headers["upload-digest"] == sha256_digest(sha256)
    assert blob_bytes(hall.data_dir, sha256) == data


def test_tuspy_through_cutting_proxy(hall: Hall, bob: DeviceClient) -> None:
    data = noisy_jpeg(1, (640, 480))
    with _proxy(hall, seed=11) as proxy:
        url = upload_with_tuspy(proxy.url + "/api/v1/uploads", device_token(bob), data)
        assert proxy.stats.cuts > 0, "the proxy never cut a connection: no proof"
    _check_arrived(hall, bob, url, data)


@pytest.mark.parametrize(
    ("chunk_size", "creation"),
    [(None, False), (48 * 1024, False), (None, True)],
    ids=["one-patch", "chunked", "creation-with-upload"],
)
def test_tus_js_client_through_cutting_proxy(
    hall: Hall, bob: DeviceClient, chunk_size: int | None, creation: bool
) -> None:
    data = noisy_jpeg(2 + (chunk_size or 0) + creation, (640, 480))
    with _proxy(hall, seed=21) as proxy:
        url = upload_with_node(
            proxy.url + "/api/v1/uploads", device_token(bob), data, chunk_size, creation
        )
        assert proxy.stats.cuts > 0, "the proxy never cut a connection: no proof"
    _check_arrived(hall, bob, url, data)


def _case_with_uploaded_files(
    hall: Hall, device: DeviceClient, seed: int, uploader: str
) -> tuple[dict[str, object], list[Material]]:
    case, files = senior_card_case(device, seed)
    with _proxy(hall, seed=seed) as proxy:
        endpoint = proxy.url + "/api/v1/uploads"
        for material in files:
            if uploader == "tuspy":
                upload_with_tuspy(endpoint, device_token(device), material.data)
            else:
                upload_with_node(endpoint, device_token(device), material.data, 16 * 1024)
    return case, files


@pytest.mark.parametrize("uploader", ["tuspy", "tus-js-client"])
def test_stub_by_digest_is_accepted_after_upload(
    hall: Hall, bob: DeviceClient, uploader: str
) -> None:
    case, files = _case_with_uploaded_files(hall, bob, 40 + len(uploader), uploader)
    [result] = bob.push([with_stubs(case, files)])
    assert result.get("ok") is True, result
    docs, _ = bob.pull()
    receipts = [d for d in docs if d.get("type") == "receipt" and d["for"]["id"] == case["_id"]]
    assert receipts, "no receipt for the case"
    assert receipts[0]["attachments"] == {m.name: m.sha256 for m in files}
    bob.verify_receipt(receipts[0], case, files)


def test_stub_naming_another_devices_upload_is_attachment_mismatch(
    hall: Hall, bob: DeviceClient, chelsea: DeviceClient
) -> None:
    case, files = senior_card_case(chelsea, 60)
    for material in files:  # bob uploads chelsea's files; chelsea uploads nothing
        upload_with_tuspy(hall.url + "/api/v1/uploads", device_token(bob), material.data)
    [result] = chelsea.push([with_stubs(case, files)])
    assert result.get("error") == "forbidden", result
    assert str(result["reason"]).startswith("attachment_mismatch:"), result


def test_stub_with_unknown_or_malformed_digest_is_attachment_mismatch(
    hall: Hall, bob: DeviceClient
) -> None:
    case, files = senior_card_case(bob, 70)
    doc = with_stubs(case, files)
    [result] = bob.push([doc])
    assert result.get("error") == "forbidden" and "attachment_mismatch" in result["reason"]
    first = next(iter(doc["_attachments"]))
    doc["_attachments"][first]["digest"] = "sha256-not base64!"
    [result] = bob.push([doc])
    assert result.get("error") == "forbidden" and "attachment_mismatch" in result["reason"]


def test_uploaded_bytes_are_inspected_at_the_door_like_inline_ones(
    hall: Hall, bob: DeviceClient
) -> None:
    truncated = jpeg(80, (320, 240))[:-400]
    case, files = bob.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={
            "name": "张桂兰",
            "id_number": "610902194501010023",
            "phone": "13800000000",
            "address": "汉滨区新城街道南环社区3号楼",
        },
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": "汉滨区新城街道南环社区3号楼2单元",
        },
        materials=[Material("id_front_80.jpg", truncated, "image/jpeg", "id_card")],
        consent=Material("consent_80.png", png(80), "image/png", "consent_signature"),
        location={"lat": 32.68, "lon": 109.03, "accuracy_m": 15},
    )
    for material in files:
        upload_with_tuspy(hall.url + "/api/v1/uploads", device_token(bob), material.data)
    [result] = bob.push([with_stubs(case, files)])
    assert result.get("error") == "forbidden", result
    assert str(result["reason"]).startswith("bad_photo: id_front_80.jpg: truncated JPEG"), result
