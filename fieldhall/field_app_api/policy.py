"""The sync policy of ``/sync/field``: what an enrolled device may write.

Checked at the door, inside the store's write transaction, in this order, so that a refused
document is refused for the most basic thing wrong with it:

1. the caller is a device (the hall writes as admin and is trusted) and the database is
   ``field`` (the catalog is read-only);
2. no deletion (``delete_forbidden``);
3. ``signature.kid`` is the authenticated device (``kid_mismatch``) and the Ed25519 signature
   over the canonical bytes verifies with its enrolled key (``bad_signature``);
4. the type is one devices write (``unknown_type``) and the document is valid for it and for
   the form of the catalog version it names (``schema_invalid``, ``unknown_matter``,
   ``unknown_catalog_version``);
5. ``agent_id``/``device_id``/``grid_id``/``station_id`` are the enrollment's, and a document
   already stored under that id is this agent's (``not_owner``);
6. a document already stored is immutable, unless these are the same signed bytes with the
   same attachments again — a retry, which succeeds and stores nothing (``immutable``);
7. the ``_attachments`` match the ``materials`` manifest byte for byte, and the consent or
   recipient signature names one of them (``attachment_mismatch``); each file is checked by
   the photo inspector (``bad_photo``);
8. the device's hash chain holds (``chain_fork``); a missing predecessor is a recorded gap.

A refusal is ``Forbidden("<code>: <detail>")``: CouchDB's ``forbidden``, which replicators skip
for good. Anything temporary (a busy database) surfaces as a 5xx from the store instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import insert, select

from fieldhall.schemas.chain import ChainEntry as ChainLink
from fieldhall.schemas.chain import ChainStatus, chain_hash, check_chain
from fieldhall.schemas.errors import ContractError, SignatureInvalid
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.signatures import verify_document
from fieldhall.sync.errors import Forbidden
from fieldhall.sync.policy import Principal, Unchanged, WriteContext

from .clock import now
from .devices import DeviceIdentity
from .service import FIELD_DB
from .tables import ChainEntry

__all__ = ["DEVICE_TYPES", "FieldPolicy", "refuse"]

DEVICE_TYPES = frozenset({"case", "supplement", "delivery", "visit_update"})
SERVER_TYPES = frozenset({"case_event", "visit_request", "receipt", "station_event"})

_chain = ChainEntry.__table__  # type: ignore[attr-defined]

DocumentValidator = Callable[[Mapping[str, Any]], None]
AttachmentInspector = Callable[[str, str, Mapping[str, Any]], None]


def refuse(code: str, detail: str) -> Forbidden:
    return Forbidden(f"{code}: {detail}")


def _device(principal: Principal) -> DeviceIdentity:
    identity = principal.context.get("device")
    if not isinstance(identity, DeviceIdentity):
        raise refuse("not_owner", "only enrolled devices write to /sync/field")
    return identity


class FieldPolicy:
    def __init__(
        self,
        validate: DocumentValidator,
        inspect_attachment: AttachmentInspector | None = None,
    ) -> None:
        self.validate = validate
        # (doc id, attachment name, stored attachment) -> raise Forbidden("bad_photo: …")
        self.inspect_attachment = inspect_attachment

    def check_write(
        self,
        principal: Principal,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None,
        context: WriteContext,
    ) -> None:
        if principal.is_admin:
            return
        device = _device(principal)
        doc_id = str(new_doc.get("_id"))
        if context.database != FIELD_DB:
            raise refuse("not_owner", f"/{context.database} is read-only for devices")
        if new_doc.get("_deleted"):
            raise refuse("delete_forbidden", "devices cannot delete documents")
        self._check_signature(device, new_doc)
        doc_type = new_doc.get("type")
        if doc_type not in DEVICE_TYPES:
            kind = "server" if doc_type in SERVER_TYPES else "unknown"
            raise refuse("unknown_type", f"devices may not write {kind} type {doc_type!r}")
        try:
            self.validate(_signed_view(new_doc))
        except ContractError as exc:
            raise Forbidden(exc.reason) from exc
        self._check_owner(device, new_doc)
        if old_doc is not None and not old_doc.get("_deleted"):
            if old_doc.get("agent_id") != device.agent_id:
                # Another agent's document answers as the store answers for an invisible one.
                raise refuse("not_owner", f"document {doc_id} belongs to another principal")
            same_bytes = chain_hash(_signed_view(old_doc)) == chain_hash(_signed_view(new_doc))
            if same_bytes and _files(old_doc) == _files(new_doc):
                raise Unchanged()
            raise refuse("immutable", f"{doc_id} is already synced and cannot be changed")
        self._check_attachments(new_doc)
        self._check_chain(device, new_doc, context)

    def after_write(
        self, principal: Principal, new_doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        if principal.is_admin:
            return
        device = _device(principal)
        context.connection.execute(
            insert(_chain).values(
                device_id=device.device_id,
                device_seq=new_doc["device_seq"],
                doc_id=new_doc["_id"],
                hash=chain_hash(_signed_view(new_doc)),
                prev_hash=new_doc.get("prev_hash"),
                received_at=now(),
            )
        )

    def _check_signature(self, device: DeviceIdentity, doc: Mapping[str, Any]) -> None:
        signature = doc.get("signature")
        if not isinstance(signature, Mapping):
            raise refuse("bad_signature", "/signature: missing")
        kid = signature.get("kid")
        if kid != device.device_id:
            raise refuse("kid_mismatch", "/signature/kid: not the authenticated device")
        try:
            verify_document(_signed_view(doc), b64url_decode(device.public_key))
        except SignatureInvalid as exc:
            raise Forbidden(exc.reason) from exc

    def _check_owner(self, device: DeviceIdentity, doc: Mapping[str, Any]) -> None:
        expected: dict[str, str | None] = {
            "agent_id": device.agent_id,
            "device_id": device.device_id,
        }
        if doc.get("type") == "case":
            expected["grid_id"] = device.grid_id
            expected["station_id"] = device.station_id
        for field, value in expected.items():
            if doc.get(field) != value:
                raise refuse("not_owner", f"/{field}: not this device's enrollment")

    def _check_attachments(self, doc: Mapping[str, Any]) -> None:
        materials = doc.get("materials") or []
        attachments: Mapping[str, Any] = doc.get("_attachments") or {}
        named = {m.get("name") for m in materials if isinstance(m, Mapping)}
        extra = sorted(set(attachments) - named)
        if extra:
            raise refuse("attachment_mismatch", f"attachment {extra[0]!r} is not in the manifest")
        for index, material in enumerate(materials):
            name = material.get("name")
            att = attachments.get(name)
            where = f"/materials/{index}"
            if att is None:
                raise refuse("attachment_mismatch", f"{where}: attachment {name!r} is missing")
            if att.get("sha256") != material.get("sha256"):
                raise refuse("attachment_mismatch", f"{where}/sha256: the bytes differ")
            if att.get("length") != material.get("length"):
                raise refuse("attachment_mismatch", f"{where}/length: the length differs")
            if att.get("content_type") != material.get("content_type"):
                raise refuse("attachment_mismatch", f"{where}/content_type: differs")
        for pointer, name in _signature_images(doc):
            if name not in named:
                raise refuse("attachment_mismatch", f"{pointer}: {name!r} is not in the materials")
        if self.inspect_attachment is not None:
            for name, att in attachments.items():
                self.inspect_attachment(str(doc.get("_id")), name, att)

    def _check_chain(
        self, device: DeviceIdentity, doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        seq = doc.get("device_seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise refuse("schema_invalid", "/device_seq: must be an integer")
        rows = context.connection.execute(
            select(_chain.c.device_seq, _chain.c.hash, _chain.c.prev_hash).where(
                _chain.c.device_id == device.device_id,
                _chain.c.device_seq.in_([seq - 1, seq, seq + 1]),
            )
        )
        entries = {row.device_seq: ChainLink(row.hash, row.prev_hash) for row in rows}
        verdict = check_chain(entries, _signed_view(doc))
        if verdict.status is ChainStatus.CHAIN_FORK:
            raise refuse("chain_fork", verdict.detail)
        if verdict.status is ChainStatus.RETRY_IDENTICAL:
            raise Unchanged()


def _files(doc: Mapping[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    """What a document's attachments are, byte for byte: name -> (sha256, length, type)."""
    attachments: Mapping[str, Any] = doc.get("_attachments") or {}
    return {
        name: (att.get("sha256"), att.get("length"), att.get("content_type"))
        for name, att in attachments.items()
    }


def _signature_images(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found = []
    consent = doc.get("consent")
    if doc.get("type") == "case" and isinstance(consent, Mapping):
        found.append(("/consent/attachment", consent.get("attachment")))
    if doc.get("type") == "delivery" and doc.get("recipient_signature") is not None:
        found.append(("/recipient_signature", doc.get("recipient_signature")))
    return found


def _signed_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as the device signed it: the store's attachment metadata removed."""
    return {k: v for k, v in doc.items() if k not in ("_rev", "_attachments", "_revisions")}
