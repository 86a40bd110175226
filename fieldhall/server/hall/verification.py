"""Can the hall trust this case? Each check re-done from the stored evidence, at read time:

* ``signature`` — the stored case verifies with the enrolled key of the device its
  ``signature.kid`` names, and that device is the one the case names;
* ``chain`` — the device's hash chain holds the case at its ``device_seq`` with the hash of
  its signed bytes; its predecessor is there with the hash ``prev_hash`` names (or the
  case is the device's first), else the gap is reported;
* ``attachments`` — every file of the signed manifest is stored with that SHA-256 and length;
* ``receipt`` — the server's receipt for the case exists, verifies with the server key of
  its ``kid``, and acknowledges exactly these signed bytes.

Each check answers ``{"status": "ok" | <problem>, "detail": …}``; ``ok`` is their conjunction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from fieldhall.field_app_api.devices import device_identity
from fieldhall.field_app_api.keys import signing_public_key
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.field_app_api.tables import ChainEntry
from fieldhall.schemas import chain_hash, verify_document
from fieldhall.schemas.errors import ContractError
from fieldhall.schemas.keys import b64url_decode
from fieldhall.sync.errors import NotFound as StoreNotFound

from .tables import HallDocument

__all__ = ["verify_device_document"]

_UNSIGNED = ("_rev", "_revisions", "_attachments", "_conflicts", "_deleted_conflicts")


def _check(status: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "detail": detail, **extra}


def _stored(field: FieldService, doc_id: str) -> dict[str, Any] | None:
    store = field.store
    try:
        state = store.document(FIELD_DB, doc_id)
    except StoreNotFound:
        return None
    record = store.revisions(FIELD_DB, [(doc_id, state.winner)]).get((doc_id, state.winner))
    if record is None:
        return None
    doc = {"_id": doc_id, "_rev": record.rev, **record.body}
    doc["_attachments"] = {n: a.to_json() for n, a in record.attachments.items()}
    return doc


def verify_device_document(field: FieldService, session: Session, doc_id: str) -> dict[str, Any]:
    """The four checks of a device document (a case, supplement or delivery)."""
    doc = _stored(field, doc_id)
    if doc is None:
        missing = _check("missing", "the document is not in /sync/field")
        return {
            "ok": False,
            **dict.fromkeys(("signature", "chain", "attachments", "receipt"), missing),
        }
    signed = {k: v for k, v in doc.items() if k not in _UNSIGNED}
    digest = chain_hash(signed)
    checks = {
        "signature": _signature(session, signed),
        "chain": _chain(session, signed, digest),
        "attachments": _attachments(doc),
        "receipt": _receipt(field, session, doc_id, digest),
    }
    return {"ok": all(c["status"] == "ok" for c in checks.values()), "sha256": digest, **checks}


def _signature(session: Session, signed: Mapping[str, Any]) -> dict[str, Any]:
    kid = str((signed.get("signature") or {}).get("kid", ""))
    if kid != signed.get("device_id"):
        return _check("kid_mismatch", f"signed by {kid}, the case names {signed.get('device_id')}")
    found = device_identity(session, kid)
    if found is None:
        return _check("unknown_device", f"no enrolled device {kid}")
    identity, revoked = found
    try:
        verify_document(signed, b64url_decode(identity.public_key))
    except ContractError as exc:
        return _check("invalid", str(exc))
    note = "; the device has since been revoked" if revoked else ""
    return _check("ok", f"Ed25519 signature of device {kid} verifies{note}", revoked=revoked)


def _chain(session: Session, signed: Mapping[str, Any], digest: str) -> dict[str, Any]:
    device_id = str(signed.get("device_id"))
    seq = int(signed.get("device_seq") or 0)
    rows = {
        row.device_seq: row
        for row in session.exec(
            select(ChainEntry).where(
                ChainEntry.device_id == device_id,
                ChainEntry.device_seq.in_([seq - 1, seq]),  # type: ignore[attr-defined]
            )
        )
    }
    own = rows.get(seq)
    if own is None or own.hash != digest or own.doc_id != signed.get("_id"):
        return _check("broken", f"the chain of {device_id} does not hold this at {seq}")
    if seq == 1:
        return _check("ok", "the device's first document", device_seq=seq)
    before = rows.get(seq - 1)
    if before is None:
        return _check("gap", f"device_seq {seq - 1} has not arrived yet", device_seq=seq)
    if before.hash != signed.get("prev_hash"):
        return _check("broken", f"prev_hash contradicts device_seq {seq - 1}", device_seq=seq)
    return _check("ok", f"linked to device_seq {seq - 1}", device_seq=seq)


def _attachments(doc: Mapping[str, Any]) -> dict[str, Any]:
    stored: Mapping[str, Any] = doc.get("_attachments") or {}
    bad = []
    for material in doc.get("materials") or []:
        att = stored.get(material.get("name"))
        if (
            att is None
            or att.get("sha256") != material.get("sha256")
            or att.get("length") != material.get("length")
        ):
            bad.append(material.get("name"))
    if bad:
        return _check("mismatch", f"stored bytes differ from the manifest: {', '.join(bad)}")
    return _check("ok", f"{len(doc.get('materials') or [])} file(s) match the signed manifest")


def _receipt(field: FieldService, session: Session, doc_id: str, digest: str) -> dict[str, Any]:
    projected = session.get(HallDocument, doc_id)
    receipt_id = projected.receipt_id if projected is not None else None
    if receipt_id is None:
        return _check("missing", "no receipt seen for this document yet")
    receipt = _stored(field, receipt_id)
    if receipt is None:
        return _check("missing", f"receipt {receipt_id} is not in /sync/field")
    signed = {k: v for k, v in receipt.items() if k not in _UNSIGNED}
    kid = str((signed.get("signature") or {}).get("kid", ""))
    public = signing_public_key(session, kid.removeprefix("server:"))
    if not kid.startswith("server:") or public is None:
        return _check("invalid", f"receipt signed with an unknown key {kid}", receipt_id=receipt_id)
    try:
        verify_document(signed, public)
    except ContractError as exc:
        return _check("invalid", str(exc), receipt_id=receipt_id)
    target = signed.get("for") or {}
    if target.get("id") != doc_id or target.get("sha256") != digest:
        return _check("mismatch", "the receipt acknowledges other bytes", receipt_id=receipt_id)
    return _check(
        "ok",
        f"receipt signed by {kid}",
        receipt_id=receipt_id,
        received_at=signed.get("received_at"),
    )
