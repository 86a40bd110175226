"""Signed receipts (回执): for every device document the server accepts, a server-signed
``receipt`` in the agent's channel says what arrived — the document's id, rev and the SHA-256
of its signed bytes, each attachment's SHA-256 — and when the hall received it.

Receipts are written right after the device's write commits (a store commit listener), once
per document (``field_receipt_issued``); :meth:`ReceiptWriter.catch_up` issues any receipt a
crash between the two commits left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import col, select
from ulid import ULID

from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.signatures import rfc3339_utc, sign_document
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.policy import ADMIN, Principal

from .clock import now
from .keys import current_signing_key
from .policy import DEVICE_TYPES, _signed_view
from .service import FIELD_DB, FieldService
from .tables import ReceiptIssued

__all__ = ["ReceiptWriter", "build_receipt"]


def build_receipt(doc: Mapping[str, Any], rev: str, received_at: str) -> dict[str, Any]:
    """The unsigned receipt for a stored device document."""
    attachments = {name: att.get("sha256") for name, att in (doc.get("_attachments") or {}).items()}
    case_id = doc.get("_id") if doc.get("type") == "case" else doc.get("case_id")
    return {
        "_id": f"receipt:{ULID()}",
        "type": "receipt",
        "contract": 1,
        "agent_id": doc.get("agent_id"),
        "device_id": doc.get("device_id"),
        "case_id": case_id,
        "for": {"id": doc["_id"], "rev": rev, "sha256": chain_hash(_signed_view(doc))},
        "attachments": attachments,
        "received_at": received_at,
        "created_at": received_at,
    }


class ReceiptWriter:
    def __init__(self, service: FieldService) -> None:
        self.service = service

    def __call__(self, database: str, principal: Principal, docs: Sequence[dict[str, Any]]) -> None:
        if database != FIELD_DB or principal.is_admin:
            return
        self.issue([d for d in docs if d.get("type") in DEVICE_TYPES])

    def issue(self, docs: Sequence[Mapping[str, Any]]) -> list[str]:
        if not docs:
            return []
        received_at = rfc3339_utc(now())
        with self.service.read_session() as session:
            done = set(
                session.exec(
                    select(ReceiptIssued.doc_id).where(
                        col(ReceiptIssued.doc_id).in_([d["_id"] for d in docs])
                    )
                )
            )
        todo = [d for d in docs if d["_id"] not in done]
        if not todo:
            return []
        with self.service.session() as session:
            key_id, key = current_signing_key(session)
        receipts = [
            sign_document(
                build_receipt(doc, doc["_rev"], received_at), key, f"server:{key_id}", received_at
            )
            for doc in todo
        ]
        incoming = [parse_incoming(r, new_edits=True) for r in receipts]
        results = self.service.store.bulk_docs(FIELD_DB, incoming, principal=ADMIN)
        failed = [r for r in results if r.error is not None]
        if failed:
            raise RuntimeError(f"receipt write failed: {failed[0].to_json()}")
        # A crash right here leaves receipts unrecorded: catch_up may then issue a second,
        # identical acknowledgement, never none.
        with self.service.session() as session:
            for doc, receipt in zip(todo, receipts, strict=True):
                session.add(
                    ReceiptIssued(doc_id=doc["_id"], receipt_id=receipt["_id"], rev=doc["_rev"])
                )
        return [r["_id"] for r in receipts]

    def catch_up(self) -> int:
        """Issue receipts that a crash between a device write and its receipt left out."""
        store = self.service.store
        with self.service.session() as session:
            done = set(session.exec(select(ReceiptIssued.doc_id)))
        issued = 0
        since = 0
        while True:
            states, last = store.changes(FIELD_DB, since=since, limit=500)
            if not states:
                return issued
            since = states[-1].seq
            missing = [
                s
                for s in states
                if s.doc_id not in done and s.doc_id.split(":", 1)[0] in DEVICE_TYPES
            ]
            records = store.revisions(FIELD_DB, [(s.doc_id, s.winner) for s in missing])
            docs = []
            for state in missing:
                record = records.get((state.doc_id, state.winner))
                if record is None or record.deleted:
                    continue
                doc = {"_id": state.doc_id, "_rev": record.rev, **record.body}
                doc["_attachments"] = {n: a.to_json() for n, a in record.attachments.items()}
                docs.append(doc)
            issued += len(self.issue(docs))
            if last <= since:
                continue
