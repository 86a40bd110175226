"""Photos on the case page: thumbnails and previews served to a signed-in session from the
photos module's derivatives (refused without one), the original as signed one click away,
the current rendering while a photo is not derived yet or never will be (a PDF), and the
duplicate-photo warning naming the other case with a link to it.

The hall runs without its background projector and photo worker (``projector=False``): the
test decides when the photos are derived.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfWriter

from fieldhall.field_app_api.client import DeviceClient, Material
from tests.field_fixtures import CATALOG_VERSION, png
from tests.hall.support import LocalHall, local_hall, push
from tests.unit.photos.scenes import photo
from tests.web.support import login

pytestmark = pytest.mark.timeout(120)

ID_CARD = photo("id_card", 1).jpeg


def scanned_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def file_case(device: DeviceClient, applicant: str, materials: list[Material], seed: int) -> str:
    doc, files = device.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={
            "name": applicant,
            "id_number": f"61090219450101{seed:04d}",
            "address": "汉滨区新城街道南环社区3号楼",
        },
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": "汉滨区新城街道南环社区3号楼2单元",
        },
        materials=materials,
        consent=Material(f"consent_{seed}.png", png(seed), "image/png", "consent_signature"),
    )
    push(device, doc, files)
    return str(doc["_id"])


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(tmp_path_factory.mktemp("web-photos"), projector=False) as running:
        yield running


@pytest.fixture(scope="module")
def cases(hall: LocalHall) -> dict[str, str]:
    """张桂兰's case (an ID-card photo and a scanned PDF), projected but not derived yet, and
    王秀英's, filed on another phone with the same ID-card photo."""
    bob = hall.hall.enroll("王建国", "grid-a")
    dan = hall.hall.enroll("陈丹", "grid-b")
    first = file_case(
        bob,
        "张桂兰",
        [
            Material("id_front.jpg", ID_CARD, "image/jpeg", "id_card"),
            Material("permit.pdf", scanned_pdf(), "application/pdf", "residence_permit"),
        ],
        seed=1,
    )
    second = file_case(dan, "王秀英", [Material("card.jpg", ID_CARD, "image/jpeg", "id_card")], 2)
    hall.parts.projector.project_pending()
    return {"first": first, "second": second}


def derive(hall: LocalHall) -> None:
    hall.parts.photos.run_pending()


def material_path(case_id: str, name: str) -> str:
    return f"/hall/cases/{case_id}/materials/{name}"


def anchors(page: str, css: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'<a href="([^"]+)" class="{css}"', page)]


def test_before_the_photos_are_derived_the_page_shows_the_originals(
    hall: LocalHall, cases: dict[str, str]
) -> None:
    first = cases["first"]
    carol = login(hall.url, "carol")
    page = carol.get(f"/hall/cases/{first}").text
    assert "缩略图生成中" in page
    assert f'<img src="{material_path(first, "id_front.jpg")}"' in page  # the original, as before
    assert "/thumbnail" not in page
    pending = carol.get(material_path(first, "id_front.jpg") + "/thumbnail")
    assert pending.status_code == 404 and "photo.pending" in pending.text


def test_thumbnails_and_previews_are_served_to_a_session(
    hall: LocalHall, cases: dict[str, str]
) -> None:
    derive(hall)
    first = cases["first"]
    carol = login(hall.url, "carol")
    page = carol.get(f"/hall/cases/{first}").text
    thumbnail = material_path(first, "id_front.jpg") + "/thumbnail"
    preview = material_path(first, "id_front.jpg") + "/preview"
    assert f'<img src="{thumbnail}"' in page
    assert preview in anchors(page, "photo")  # clicking the thumbnail opens the preview
    assert material_path(first, "id_front.jpg") in anchors(page, "original")
    assert "缩略图生成中" not in page

    small = carol.get(thumbnail)
    assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
    assert "sandbox" in small.headers["content-security-policy"]
    assert small.headers["cache-control"] == "private, max-age=86400"
    picture = Image.open(io.BytesIO(small.content))
    assert max(picture.size) < max(Image.open(io.BytesIO(ID_CARD)).size)
    big = carol.get(preview)
    assert big.status_code == 200 and len(big.content) > len(small.content)
    again = carol.get(thumbnail, headers={"If-None-Match": small.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert login(hall.url, "sam").get(thumbnail).status_code == 200  # supervisors read cases


def test_derivatives_are_refused_without_a_session_or_to_other_roles(
    hall: LocalHall, cases: dict[str, str]
) -> None:
    derive(hall)
    thumbnail = material_path(cases["first"], "id_front.jpg") + "/thumbnail"
    anonymous = httpx.get(hall.url + thumbnail)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(
        "/hall/login?next="
    )
    assert httpx.get(hall.url + thumbnail, auth=("carol", "carol-password")).status_code == 303
    assert login(hall.url, "root").get(thumbnail).status_code == 403
    carol = login(hall.url, "carol")
    nothing = carol.get(material_path(cases["first"], "nope.jpg") + "/preview")
    assert nothing.status_code == 404 and "material.not_found" in nothing.text


def test_a_pdf_keeps_its_file_rendering(hall: LocalHall, cases: dict[str, str]) -> None:
    derive(hall)
    first = cases["first"]
    carol = login(hall.url, "carol")
    page = carol.get(f"/hall/cases/{first}").text
    pdf = material_path(first, "permit.pdf")
    assert pdf in anchors(page, "photo") and '<span class="file">application/pdf</span>' in page
    refused = carol.get(pdf + "/thumbnail")
    assert refused.status_code == 404 and "photo.not_derived" in refused.text


def test_the_duplicate_photo_warning_names_the_other_case(
    hall: LocalHall, cases: dict[str, str]
) -> None:
    derive(hall)
    carol = login(hall.url, "carol")
    for here, there, name in (
        (cases["first"], cases["second"], "王秀英"),
        (cases["second"], cases["first"], "张桂兰"),
    ):
        page = carol.get(f"/hall/cases/{here}").text
        warnings: list[Any] = re.findall(r'<p class="alert" role="alert">(.*?)</p>', page, re.S)
        (warning,) = [w for w in warnings if "另一案件" in w or there[-8:] in w]
        assert f'<a href="/hall/cases/{there}">{there[-8:]}</a>' in warning
        assert name in warning
        assert "疑似重复" in page  # and the photo itself carries the badge
