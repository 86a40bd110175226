"""What the receipt pages show, read from the store and checked: the applicant's sheet
(matter, time received, materials, a QR code) and the public check (signature and hashes —
nothing personal).

A receipt (回执) is the server-signed ``receipt`` document the hall writes for every device
document it accepts (ARCHITECTURE, "Documents"). The check re-verifies its signature with
the server's published keys and compares the hashes it names with what the hall has on file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fieldhall.field_app_api.keys import list_signing_keys
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.schemas.catalog import load_catalog_document
from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.errors import ContractError
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.signatures import verify_document
from fieldhall.sync.errors import NotFound

__all__ = [
    "ReceiptCheck",
    "ReceiptNotFound",
    "ReceiptSheet",
    "applicant_sheet",
    "check_receipt",
    "load_receipt",
    "short_id",
]

HALL_ZONE = ZoneInfo("Asia/Shanghai")
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


class ReceiptNotFound(Exception):
    """Raised when no receipt has the id asked for."""


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """The public check of a receipt: nothing in it identifies a person."""

    receipt_id: str
    received_at: str
    signature_holds: bool
    key_id: str | None
    key_status: str  # "current" | "retired" | "unknown"
    document_sha256: str
    file_sha256: tuple[str, ...]
    on_file: bool | None  # the hall's stored document still has these hashes (None: gone)


@dataclass(frozen=True, slots=True)
class ReceiptSheet:
    """The applicant's printable receipt."""

    receipt_id: str
    case_id: str
    matter_name: str
    received_at_local: str
    applicant: str  # masked
    materials: tuple[tuple[str, int], ...]  # (material name, how many files)
    check: ReceiptCheck


def short_id(receipt_id: str) -> str:
    return receipt_id.partition(":")[2] or receipt_id


def _receipt_doc_id(ref: str) -> str:
    ulid = ref.removeprefix("receipt:").upper()
    if not _ULID.fullmatch(ulid):
        raise ReceiptNotFound(ref)
    return f"receipt:{ulid}"


def _stored(field: FieldService, doc_id: str) -> dict[str, Any] | None:
    store = field.store
    try:
        state = store.document(FIELD_DB, doc_id)
    except NotFound:
        return None
    record = store.revisions(FIELD_DB, [(doc_id, state.winner)]).get((doc_id, state.winner))
    if record is None or record.deleted:
        return None
    doc: dict[str, Any] = {"_id": doc_id, "_rev": record.rev, **record.body}
    doc["_attachments"] = {n: a.to_json() for n, a in record.attachments.items()}
    return doc


def load_receipt(field: FieldService, ref: str) -> dict[str, Any]:
    """The receipt ``ref`` (``receipt:<ULID>`` or the ULID alone)."""
    doc = _stored(field, _receipt_doc_id(ref))
    if doc is None or doc.get("type") != "receipt":
        raise ReceiptNotFound(ref)
    return doc


def check_receipt(field: FieldService, receipt: Mapping[str, Any]) -> ReceiptCheck:
    kid = str((receipt.get("signature") or {}).get("kid", ""))
    key_id = kid.removeprefix("server:") if kid.startswith("server:") else None
    with field.session() as session:
        keys = {k.key_id: k for k in list_signing_keys(session)}
        session.commit()
    key = keys.get(key_id or "")
    holds = False
    if key is not None:
        try:
            verify_document(receipt, b64url_decode(key.public_key))
            holds = True
        except ContractError:
            holds = False
    status = "unknown" if key is None else ("current" if key.valid_until is None else "retired")
    target = receipt.get("for") or {}
    files = receipt.get("attachments") or {}
    acknowledged = _stored(field, str(target.get("id", "")))
    on_file = None
    if acknowledged is not None:
        stored_files = {
            n: a.get("sha256") for n, a in (acknowledged.get("_attachments") or {}).items()
        }
        on_file = chain_hash(acknowledged) == target.get("sha256") and all(
            stored_files.get(n) == h for n, h in files.items()
        )
    return ReceiptCheck(
        receipt_id=str(receipt["_id"]),
        received_at=str(receipt.get("received_at", "")),
        signature_holds=holds,
        key_id=key_id,
        key_status=status,
        document_sha256=str(target.get("sha256", "")),
        file_sha256=tuple(sorted(str(h) for h in files.values())),
        on_file=on_file,
    )


def _local_time(rfc3339: str) -> str:
    try:
        moment = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    except ValueError:
        return rfc3339
    local = moment.astimezone(HALL_ZONE)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"


def _mask(name: Any) -> str:
    if not isinstance(name, str) or not name:
        return "—"
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _catalog_names(matter: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    try:
        catalog = load_catalog_document(str(matter.get("catalog_version")))
    except ContractError:
        return str(matter.get("id", "")), {}
    for entry in catalog.get("matters", []):
        if entry.get("id") == matter.get("id"):
            names = {m["id"]: m["name"]["zh"] for m in entry.get("materials", [])}
            return str(entry["name"]["zh"]), names
    return str(matter.get("id", "")), {}


def applicant_sheet(field: FieldService, receipt: Mapping[str, Any]) -> ReceiptSheet:
    check = check_receipt(field, receipt)
    case_id = str(receipt.get("case_id") or "")
    case = _stored(field, case_id) if case_id else None
    acknowledged = _stored(field, str((receipt.get("for") or {}).get("id", ""))) or {}
    matter_name, material_names = _catalog_names((case or {}).get("matter") or {})
    counts: dict[str, int] = {}
    for material in acknowledged.get("materials") or []:
        label = material_names.get(material.get("material_id"), "其他材料")
        counts[label] = counts.get(label, 0) + 1
    return ReceiptSheet(
        receipt_id=str(receipt["_id"]),
        case_id=case_id,
        matter_name=matter_name,
        received_at_local=_local_time(check.received_at),
        applicant=_mask(((case or {}).get("applicant") or {}).get("name")),
        materials=tuple(counts.items()),
        check=check,
    )
