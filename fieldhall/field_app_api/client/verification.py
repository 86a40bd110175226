"""Checking what the server sent: its signatures, its receipts, and the outbox judged by them.

A server-written document (``receipt``, ``case_event``, ``visit_request``) is signed with
``kid = "server:<key_id>"``; the device verifies it with the key of that id from
``GET /api/v1/keys``, which lists current and retired keys, so signatures made before a
``fieldhall keys rotate`` still verify. A receipt counts only if it verifies *and*
acknowledges exactly what the device queued: the document id, the revision, the SHA-256 of
the signed bytes and of every attached file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.errors import ContractError, SignatureInvalid
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.signatures import verify_document

from .errors import DeviceError, ReceiptMismatch
from .local_store import StoredDocument
from .report import DocState, DocumentStatus, Invalid

__all__ = [
    "KeyLookup",
    "check_receipt",
    "judge_outbox",
    "verify_documents",
    "verify_server_document",
]

KeyLookup = Callable[[str], str | None]
"""A server key id to its public key (unpadded base64url), or ``None`` if the server has none."""

SERVER_KID_PREFIX = "server:"


def verify_server_document(doc: Mapping[str, Any], key_for: KeyLookup) -> None:
    """Raise ``SignatureInvalid`` unless a key the server publishes signed ``doc``."""
    kid = str((doc.get("signature") or {}).get("kid", ""))
    if not kid.startswith(SERVER_KID_PREFIX):
        raise SignatureInvalid("not signed by the server", pointer="/signature/kid")
    public = key_for(kid.removeprefix(SERVER_KID_PREFIX))
    if public is None:
        raise SignatureInvalid(
            "signed with a key the server does not list", pointer="/signature/kid"
        )
    verify_document(doc, b64url_decode(public))


def check_receipt(
    receipt: Mapping[str, Any], stored: StoredDocument, device_id: str, key_for: KeyLookup
) -> None:
    """Raise unless ``receipt`` is the server's, for this device, and acknowledges exactly
    the queued document: its id, its rev, its signed bytes and each of its files."""
    verify_server_document(receipt, key_for)
    target = receipt.get("for") or {}
    if receipt.get("device_id") != device_id:
        raise ReceiptMismatch("the receipt is for another device")
    if target.get("id") != stored.doc_id or target.get("sha256") != chain_hash(stored.doc):
        raise ReceiptMismatch("the receipt acknowledges other bytes than were queued")
    if target.get("rev") != stored.rev:
        raise ReceiptMismatch("the receipt acknowledges another revision")
    if receipt.get("attachments") != stored.attachments:
        raise ReceiptMismatch("the receipt's attachment hashes differ from the files sent")


def verify_documents(
    docs: Iterable[Mapping[str, Any]], key_for: KeyLookup
) -> tuple[int, tuple[Invalid, ...], int]:
    """``(verified, invalid, foreign)`` of pulled documents: server-signed ones verify or are
    invalid; ``foreign`` ones are signed by another device of the agent, whose key this device
    does not have."""
    verified, foreign = 0, 0
    invalid: list[Invalid] = []
    for doc in docs:
        kid = str((doc.get("signature") or {}).get("kid", ""))
        if not kid.startswith(SERVER_KID_PREFIX):
            foreign += 1
            continue
        try:
            verify_server_document(doc, key_for)
        except (ContractError, DeviceError) as exc:
            invalid.append(Invalid(str(doc.get("_id")), str(exc)))
            continue
        verified += 1
    return verified, tuple(invalid), foreign


def judge_outbox(
    outbox: Sequence[StoredDocument],
    inbox: Iterable[StoredDocument],
    refusals: Mapping[str, str],
    check: Callable[[Mapping[str, Any], StoredDocument], None],
) -> list[DocumentStatus]:
    """Each queued document's state: acknowledged by a receipt that passes ``check``,
    refused by the server, with receipts none of which passes, or pending."""
    receipts: dict[str, list[dict[str, Any]]] = {}
    for pulled in inbox:
        target = pulled.doc.get("for")
        if pulled.doc.get("type") == "receipt" and isinstance(target, dict):
            receipts.setdefault(str(target.get("id")), []).append(pulled.doc)
    return [_judge(stored, receipts.get(stored.doc_id, []), refusals, check) for stored in outbox]


def _judge(
    stored: StoredDocument,
    receipts: Sequence[Mapping[str, Any]],
    refusals: Mapping[str, str],
    check: Callable[[Mapping[str, Any], StoredDocument], None],
) -> DocumentStatus:
    doc = stored.doc
    head = (stored.doc_id, str(doc.get("type")), int(doc.get("device_seq", 0)))
    problems = []
    for receipt in receipts:
        try:
            check(receipt, stored)
        except (ContractError, DeviceError) as exc:
            problems.append(str(exc))
            continue
        return DocumentStatus(
            *head,
            DocState.ACKNOWLEDGED,
            receipt_id=str(receipt.get("_id")),
            received_at=str(receipt.get("received_at")),
        )
    if problems:
        return DocumentStatus(*head, DocState.RECEIPT_INVALID, reason="; ".join(problems))
    if stored.doc_id in refusals:
        return DocumentStatus(*head, DocState.REFUSED, reason=refusals[stored.doc_id])
    return DocumentStatus(*head, DocState.PENDING)
