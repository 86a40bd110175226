"""Signed receipts (回执): for every device document the server accepts, a server-signed
``receipt`` in the agent's channel says what arrived — the document's id, rev and the SHA-256
of its signed bytes, each attachment's SHA-256 — and when the hall received it.

Receipts are written in the device write's own transaction (a store companion writer), with
the record that they were issued (``field_receipt_issued``), once per document: a document is
never stored without its receipt, and one commit serves both. :meth:`ReceiptWriter.catch_up`
issues any receipt missing all the same (documents stored before this was so, or written
while no receipt writer was installed). The receipts of a replicated batch, whose revisions
are known before its write, are signed ahead (:class:`ReceiptSigner`, where the batch's
documents are checked, while the write's files are stored); the transaction takes them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection
from sqlmodel import col, select
from ulid import ULID

from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.signatures import rfc3339_utc, sign_in_place
from fieldhall.sync.connection import Database
from fieldhall.sync.documents import IncomingDoc, parse_incoming
from fieldhall.sync.policy import ADMIN, Principal
from fieldhall.sync.store import WriteResult

from .clock import now
from .keys import current_signing_key, existing_signing_key, signing_key_bytes
from .policy import DEVICE_TYPES, FieldPolicy, _signed_view
from .service import FIELD_DB, FieldService
from .tables import ReceiptIssued

__all__ = ["ReceiptSigner", "ReceiptWriter", "build_receipt"]

log = logging.getLogger("fieldhall.field_app_api.receipts")

_RECORD_ISSUED = (
    f"INSERT INTO {ReceiptIssued.__tablename__} (doc_id, receipt_id, rev) VALUES (?, ?, ?)"
)
_PRESIGNED_KEPT = 10_000  # receipts signed ahead and not yet taken (refused, retried writes)


def build_receipt(
    doc: Mapping[str, Any], rev: str, received_at: str, signed_hash: str | None = None
) -> dict[str, Any]:
    """The unsigned receipt for a stored device document (``signed_hash``: the hash of its
    signed bytes, when known)."""
    if signed_hash is None:
        signed_hash = chain_hash(_signed_view(doc))
    attachments = {name: att.get("sha256") for name, att in (doc.get("_attachments") or {}).items()}
    case_id = doc.get("_id") if doc.get("type") == "case" else doc.get("case_id")
    return {
        "_id": f"receipt:{ULID()}",
        "type": "receipt",
        "contract": 1,
        "agent_id": doc.get("agent_id"),
        "device_id": doc.get("device_id"),
        "case_id": case_id,
        "for": {"id": doc["_id"], "rev": rev, "sha256": signed_hash},
        "attachments": attachments,
        "received_at": received_at,
        "created_at": received_at,
    }


@dataclass(frozen=True, slots=True)
class ReceiptSigner:
    """Signs the receipts of device documents a write is about to store, before its
    transaction, so that the transaction only takes them: those whose revision is known
    already (replicated, ``new_edits=false``). Never raises: what it could not sign, the
    write signs itself.

    It pickles, key included: the door's worker processes sign the receipts of the shares
    they check (door_workers). They are this server's own processes."""

    kid: str
    private_key: bytes = field(repr=False)
    received_at: str

    def __call__(
        self, prepared: Sequence[tuple[Mapping[str, Any], str]]
    ) -> dict[tuple[str, str, str], dict[str, Any]]:
        docs = [
            (doc, signed_hash)
            for doc, signed_hash in prepared
            if isinstance(doc.get("_rev"), str) and doc.get("type") in DEVICE_TYPES
        ]
        if not docs:
            return {}
        try:
            key = Ed25519PrivateKey.from_private_bytes(self.private_key)
            return {
                (str(doc["_id"]), str(doc["_rev"]), signed_hash): sign_in_place(
                    build_receipt(doc, str(doc["_rev"]), self.received_at, signed_hash),
                    key,
                    self.kid,
                    self.received_at,
                )
                for doc, signed_hash in docs
            }
        except Exception:
            log.exception("receipts could not be signed ahead; the write signs them")
            return {}


class ReceiptWriter:
    def __init__(self, service: FieldService) -> None:
        self.service = service
        # Receipts signed ahead of their write (presign), by (document id, rev, signed hash).
        self._presigned: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._presigned_lock = threading.Lock()
        self.presigned_used = 0  # receipts that were signed ahead

    def signer(self) -> ReceiptSigner | None:
        """The signer of the receipts of a batch about to be checked (the policy's
        ``presigner``); ``None`` when the key cannot be read: the write then signs them (and
        says what is wrong when it cannot)."""
        try:
            key_id, private_key = self._signing_key()
        except Exception:
            log.exception("receipts cannot be signed ahead; the write signs them")
            return None
        return ReceiptSigner(f"server:{key_id}", private_key, rfc3339_utc(now()))

    def keep(self, signed: Mapping[Any, Any]) -> None:
        """Receipts signed ahead, for the write to take; a receipt not taken is forgotten."""
        with self._presigned_lock:
            self._presigned.update(signed)
            while len(self._presigned) > _PRESIGNED_KEPT:
                self._presigned.popitem(last=False)

    def _signing_key(self) -> tuple[str, bytes]:
        # A read of its own, not the write's connection: the key table is the hall's.
        signing = signing_key_bytes(self.service.store.db)
        if signing is None:  # made at start (ensure_signing_key) and replaced only by rotation
            raise RuntimeError("the server has no signing key for receipts")
        return signing

    def __call__(
        self,
        connection: Connection,
        database: str,
        principal: Principal,
        docs: Sequence[dict[str, Any]],
    ) -> list[IncomingDoc]:
        """The receipts of a device write's documents, inside its transaction (the store's
        companion writer): their issue is recorded on ``connection``, the store writes them."""
        if database != FIELD_DB or principal.is_admin:
            return []
        todo = [d for d in docs if d.get("type") in DEVICE_TYPES]
        if not todo:
            return []
        receipts, issued = self._receipts(todo)
        _record_issued(connection, issued)
        return [parse_incoming(r, new_edits=True) for r in receipts]

    def ensure_signing_key(self) -> None:
        """Make the server's signing key if there is none yet, so that a device write's
        transaction only reads it."""
        with self.service.read_session() as session:
            if existing_signing_key(session) is not None:
                return
        with self.service.session() as session:
            current_signing_key(session)

    def issue(self, docs: Sequence[Mapping[str, Any]]) -> list[str]:
        """Receipts for stored documents that have none, in a transaction of their own."""
        if not docs:
            return []
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
        self.ensure_signing_key()
        receipts, issued = self._receipts(todo)
        incoming = [parse_incoming(r, new_edits=True) for r in receipts]

        def record(connection: Connection, results: list[WriteResult]) -> None:
            failed = [r for r in results if r.error is not None]
            if failed:  # nothing of the batch commits
                raise RuntimeError(f"receipt write failed: {failed[0].to_json()}")
            _record_issued(connection, issued)

        # The receipts and the record that they were issued commit together: one write.
        self.service.store.bulk_docs(FIELD_DB, incoming, principal=ADMIN, in_transaction=record)
        return [r["_id"] for r in receipts]

    def _receipts(
        self, docs: Sequence[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
        """The signed receipts of ``docs`` and their ``field_receipt_issued`` rows."""
        received_at = rfc3339_utc(now())
        policy = self.service.store.write_policy
        hashes = (
            [policy.signed_hash(doc) for doc in docs]
            if isinstance(policy, FieldPolicy)
            else [None] * len(docs)
        )
        ahead = [
            self._take_presigned(doc, signed_hash)
            for doc, signed_hash in zip(docs, hashes, strict=True)
        ]
        signing = self._signing_key() if any(r is None for r in ahead) else None
        receipts = []
        for doc, signed_hash, receipt in zip(docs, hashes, ahead, strict=True):
            if receipt is None:
                assert signing is not None
                receipt = sign_in_place(
                    build_receipt(doc, doc["_rev"], received_at, signed_hash),
                    signing[1],
                    f"server:{signing[0]}",
                    received_at,
                )
            receipts.append(receipt)
        issued = [
            (doc["_id"], receipt["_id"], doc["_rev"])
            for doc, receipt in zip(docs, receipts, strict=True)
        ]
        return receipts, issued

    def _take_presigned(
        self, doc: Mapping[str, Any], signed_hash: str | None
    ) -> dict[str, Any] | None:
        """The receipt signed ahead for this very stored document, if any: the same id, rev,
        signed bytes and attachments."""
        if signed_hash is None:
            return None
        with self._presigned_lock:
            receipt = self._presigned.pop((doc["_id"], doc["_rev"], signed_hash), None)
        attachments = {n: a.get("sha256") for n, a in (doc.get("_attachments") or {}).items()}
        if receipt is None or receipt["attachments"] != attachments:
            return None
        self.presigned_used += 1
        return receipt

    def catch_up(self) -> int:
        """Issue the receipts stored device documents lack (written before receipts shared the
        device write's transaction, or while no receipt writer was installed)."""
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


def _record_issued(connection: Connection, issued: Sequence[tuple[str, str, str]]) -> None:
    """That these receipts were issued: (document id, receipt id, rev) rows, on the driver's
    connection (Database.raw), as the store's own hot statements are."""
    raw = Database.raw(connection)
    raw.many(raw.statement(_RECORD_ISSUED), issued)
