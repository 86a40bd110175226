"""Attachments are inspected by their bytes at the door: a file that is not a valid, safe file
of its declared type is refused as ``bad_photo`` and nothing of the case is stored."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fieldhall.field_app_api.client import DeviceClient, Material
from tests.field_fixtures import ADMIN, CATALOG_VERSION, Hall, jpeg, png, running_hall


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    with running_hall(tmp_path_factory.mktemp("door-photos") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def bob(hall: Hall, tmp_path_factory: pytest.TempPathFactory) -> DeviceClient:
    return hall.enroll("bob", tmp=tmp_path_factory.mktemp("bob"))


def _case(device: DeviceClient, photo: Material) -> tuple[dict[str, object], list[Material]]:
    return device.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={"name": "张桂兰", "id_number": "610902194501010023"},
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": "汉滨区新城街道南环社区3号楼2单元",
        },
        materials=[photo],
        consent=Material("consent.png", png(3), "image/png", "consent_signature"),
    )


@pytest.mark.parametrize(
    ("photo", "detail"),
    [
        (Material("id.jpg", png(7), "image/jpeg", "id_card"), "declared image/jpeg"),
        (Material("id.jpg", jpeg(7)[:300], "image/jpeg", "id_card"), "truncated JPEG"),
        (Material("id.jpg", b"\x7fELF" + bytes(200), "image/jpeg", "id_card"), "ELF"),
        (
            Material("id.jpg", jpeg(8) + b"PK\x05\x06" + bytes(18), "image/jpeg", "id_card"),
            "trailing data: 22 bytes",
        ),
    ],
    ids=["png-declared-jpeg", "truncated-jpeg", "renamed-executable", "jpeg-zip-polyglot"],
)
def test_a_bad_file_is_refused_at_the_door(
    hall: Hall, bob: DeviceClient, photo: Material, detail: str
) -> None:
    case, files = _case(bob, photo)
    result = bob.push([DeviceClient.with_attachments(case, files)])[0]
    assert result["error"] == "forbidden"
    assert result["reason"].startswith("bad_photo: id.jpg: ")
    assert detail in result["reason"]
    with httpx.Client(base_url=hall.url, auth=ADMIN, timeout=30.0) as admin:
        assert admin.get(f"/sync/field/{case['_id']}").status_code == 404


def test_a_good_photo_passes(hall: Hall, bob: DeviceClient) -> None:
    case, files = _case(bob, Material("id.jpg", jpeg(9), "image/jpeg", "id_card"))
    assert bob.push([DeviceClient.with_attachments(case, files)])[0]["ok"] is True
