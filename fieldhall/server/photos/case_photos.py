"""A case's photos as its page shows them: each material's derivatives and the warnings of the
same photo, or a near copy, used in another case — naming that case and its material.

``material_photos`` answers the case detail (``hall.detail``); ``derivative_path`` finds the
thumbnail or preview file a staff endpoint serves. Both only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, col, or_, select

from ..hall.errors import NotFound
from ..hall.tables import HallCase, HallMaterial
from .rendering import PREVIEW, THUMBNAIL, Variant
from .store import DerivativeStore
from .tables import HallPhoto, HallPhotoMatch, PhotoStatus

__all__ = ["VARIANTS", "derivative_path", "material_photos"]

# The URL's last segment → the derivative it serves.
VARIANTS: dict[str, Variant] = {"thumbnail": THUMBNAIL, "preview": PREVIEW}


def _url(case_id: str, material: HallMaterial, ambiguous: bool, variant: str) -> str:
    url = f"/api/v1/cases/{quote(case_id, safe=':')}/materials/{quote(material.name, safe='')}"
    url += f"/{variant}"
    return url + (f"?doc={quote(material.doc_id, safe=':')}" if ambiguous else "")


def material_photos(
    session: Session, case_id: str, materials: Sequence[HallMaterial]
) -> dict[int, dict[str, Any]]:
    """For each material (by its row id): ``photo`` (status, derivative URLs, size, error)
    and ``duplicates`` (the other cases' photos it is the same as or a near copy of)."""
    ids = [int(m.id or 0) for m in materials]
    photos = {p.id: p for p in session.exec(select(HallPhoto).where(col(HallPhoto.id).in_(ids)))}
    matches = list(
        session.exec(
            select(HallPhotoMatch).where(
                or_(
                    col(HallPhotoMatch.photo_id).in_(ids),
                    col(HallPhotoMatch.other_photo_id).in_(ids),
                )
            )
        )
    )
    other_ids = {m.other_photo_id if m.photo_id in photos else m.photo_id for m in matches}
    others = {
        p.id: p for p in session.exec(select(HallPhoto).where(col(HallPhoto.id).in_(other_ids)))
    }
    other_cases = {
        c.id: c
        for c in session.exec(
            select(HallCase).where(col(HallCase.id).in_({p.case_id for p in others.values()}))
        )
    }
    names = [m.name for m in materials]
    answer: dict[int, dict[str, Any]] = {}
    for material in materials:
        row_id = int(material.id or 0)
        photo = photos.get(row_id)
        ambiguous = names.count(material.name) > 1
        duplicates = []
        for match in matches:
            if row_id not in (match.photo_id, match.other_photo_id):
                continue
            other = others.get(match.other_photo_id if match.photo_id == row_id else match.photo_id)
            if other is None:
                continue
            other_case = other_cases.get(other.case_id)
            duplicates.append(
                {
                    "case_id": other.case_id,
                    "material": other.name,
                    "doc_id": other.doc_id,
                    "kind": match.kind,
                    "phash_distance": match.phash_distance,
                    "detail_distance": match.detail_distance,
                    "applicant_name": other_case.applicant_name if other_case else None,
                    "matter_id": other_case.matter_id if other_case else None,
                }
            )
        duplicates.sort(key=lambda d: (d["detail_distance"], d["case_id"], d["material"]))
        answer[row_id] = {
            "photo": _photo_json(case_id, material, photo, ambiguous),
            "duplicates": duplicates,
        }
    return answer


def _photo_json(
    case_id: str, material: HallMaterial, photo: HallPhoto | None, ambiguous: bool
) -> dict[str, Any]:
    if photo is None:
        return {"status": PhotoStatus.PENDING}
    body: dict[str, Any] = {"status": photo.status}
    if photo.status == PhotoStatus.DERIVED:
        body |= {
            "width": photo.width,
            "height": photo.height,
            **{f"{name}_url": _url(case_id, material, ambiguous, name) for name in VARIANTS},
        }
    elif photo.status == PhotoStatus.FAILED:
        body["error"] = {"code": photo.error_code, "detail": photo.error_detail}
        body["retrying"] = photo.retry_at is not None
    return body


def derivative_path(
    session: Session,
    store: DerivativeStore,
    case_id: str,
    name: str,
    variant: str,
    doc_id: str | None = None,
) -> Path:
    """The JPEG file of a material's derivative; ``NotFound`` with a precise code if none."""
    chosen = VARIANTS.get(variant)
    if chosen is None:
        raise NotFound("photo.unknown_variant", f"no derivative {variant!r}")
    if session.get(HallCase, case_id) is None:
        raise NotFound("case.not_found", f"no case {case_id}")
    query = select(HallMaterial).where(HallMaterial.case_id == case_id, HallMaterial.name == name)
    if doc_id is not None:
        query = query.where(HallMaterial.doc_id == doc_id)
    material = session.exec(query.order_by(col(HallMaterial.id).desc())).first()
    if material is None:
        raise NotFound("material.not_found", f"case {case_id} has no material {name!r}")
    photo = session.get(HallPhoto, material.id)
    if photo is None or photo.status == PhotoStatus.PENDING:
        raise NotFound("photo.pending", f"the derivatives of {name!r} are not made yet")
    if photo.status == PhotoStatus.NOT_DERIVED:
        raise NotFound("photo.not_derived", f"{name!r} ({photo.content_type}) is not rendered")
    if photo.status == PhotoStatus.FAILED:
        raise NotFound(str(photo.error_code), f"no derivatives of {name!r}: {photo.error_detail}")
    path = store.path_of(photo.sha256, chosen)
    if not path.is_file():
        raise NotFound("photo.pending", f"the derivatives of {name!r} are being made again")
    return path
