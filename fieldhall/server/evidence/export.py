"""``fieldhall evidence export``: one case, everything needed to prove it, in one zip.

Works beside a running server: every database read happens in one read transaction (a
snapshot — SQLite WAL readers never block the writer; PostgreSQL runs it REPEATABLE READ), so
the bundle is what the hall held at one instant. Attachment bytes are read from the
content-addressed blob store afterwards; they never change, and a blob that a stored
revision refers to is never collected.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select
from ulid import ULID

from fieldhall.field_app_api.clock import now, rfc3339
from fieldhall.field_app_api.keys import current_signing_key, list_signing_keys
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.field_app_api.tables import ChainEntry, Device
from fieldhall.schemas.signatures import rfc3339_utc, sign_document
from fieldhall.sync.connection import Database
from fieldhall.sync.errors import NotFound
from fieldhall.sync.store import RevisionRecord, Store

from .layout import (
    MANIFEST,
    MANIFEST_TYPE,
    README,
    README_TEXT,
    SERVER_KEYS,
    attachment_entry,
    chain_entry,
    device_key_entry,
    document_entry,
    is_safe_name,
)

__all__ = ["EvidenceExportError", "ExportSummary", "export_case"]

# Chain entries kept on each side of the case's documents, so the links into and out of
# them can be checked.
CHAIN_CONTEXT = 1


class EvidenceExportError(Exception):
    """Raised when a case cannot be exported (unknown case, a blob missing from the store)."""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    case_id: str
    documents: int
    attachments: int
    devices: tuple[str, ...]
    entries: int
    key_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "case_id": self.case_id,
            "documents": self.documents,
            "attachments": self.attachments,
            "devices": list(self.devices),
            "entries": self.entries,
            "signed_by": f"server:{self.key_id}",
        }


class _SnapshotDatabase(Database):
    """A :class:`Database` whose every read is the same open read transaction."""

    def __init__(self, base: Database, connection: Connection) -> None:
        super().__init__(base.engine, synchronous=base.synchronous)
        self._connection = connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        yield self._connection


@contextmanager
def _snapshot(store: Store) -> Iterator[tuple[Store, Connection]]:
    engine = store.db.engine
    options = {} if store.db.is_sqlite else {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        frozen = copy.copy(store)
        frozen.db = _SnapshotDatabase(store.db, connection)
        yield frozen, connection


def _document(doc_id: str, record: RevisionRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": doc_id, "_rev": record.rev, **record.body}
    if record.attachments:
        doc["_attachments"] = {
            name: {**att.to_json(), "stub": True} for name, att in record.attachments.items()
        }
    return doc


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _case_documents(store: Store, case_id: str) -> list[dict[str, Any]]:
    try:
        store.document(FIELD_DB, case_id)
    except NotFound:
        raise EvidenceExportError(f"no document {case_id} in /{FIELD_DB}") from None

    def belongs(state: Any, record: RevisionRecord | None) -> bool:
        return record is not None and (
            state.doc_id == case_id or record.body.get("case_id") == case_id
        )

    states, _ = store.changes(FIELD_DB, since=0, limit=None, match=belongs)
    records = store.revisions(FIELD_DB, [(s.doc_id, s.winner) for s in states])
    docs = []
    for state in sorted(states, key=lambda s: s.doc_id):
        record = records.get((state.doc_id, state.winner))
        if record is not None and not record.deleted:
            docs.append(_document(state.doc_id, record))
    return docs


def _device_files(
    session: Session, docs: list[dict[str, Any]]
) -> tuple[dict[str, bytes], list[str]]:
    """``keys/devices/…`` and ``chain/…`` for every device that signed a document."""
    seqs: dict[str, list[int]] = {}
    for doc in docs:
        kid = (doc.get("signature") or {}).get("kid")
        if isinstance(kid, str) and not kid.startswith("server:") and "device_seq" in doc:
            seqs.setdefault(kid, []).append(int(doc["device_seq"]))
    files: dict[str, bytes] = {}
    for device_id, numbers in sorted(seqs.items()):
        if not is_safe_name(device_id):
            raise EvidenceExportError(f"device id {device_id!r} cannot name a bundle entry")
        device = session.get(Device, device_id)
        if device is None:
            raise EvidenceExportError(f"device {device_id} is not known to this hall")
        files[device_key_entry(device_id)] = _json_bytes(
            {
                "device_id": device.id,
                "agent_id": device.agent_id,
                "public_key": device.public_key,
                "enrolled_at": rfc3339(device.enrolled_at),
                "revoked_at": rfc3339(device.revoked_at),
            }
        )
        low, high = min(numbers) - CHAIN_CONTEXT, max(numbers) + CHAIN_CONTEXT
        entries = session.exec(
            select(ChainEntry)
            .where(
                ChainEntry.device_id == device_id,
                col(ChainEntry.device_seq) >= low,
                col(ChainEntry.device_seq) <= high,
            )
            .order_by(col(ChainEntry.device_seq))
        ).all()
        files[chain_entry(device_id)] = _json_bytes(
            {
                "device_id": device_id,
                "from_seq": max(low, 1),
                "to_seq": high,
                "entries": [
                    {
                        "device_seq": e.device_seq,
                        "doc_id": e.doc_id,
                        "hash": e.hash,
                        "prev_hash": e.prev_hash,
                        "received_at": rfc3339(e.received_at),
                    }
                    for e in entries
                ],
            }
        )
    return files, sorted(seqs)


def _attachments(store: Store, docs: list[dict[str, Any]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for doc in docs:
        for name, att in (doc.get("_attachments") or {}).items():
            sha256 = att["sha256"]
            entry = attachment_entry(sha256)
            if entry in files:
                continue
            try:
                data = store.blobs.read(sha256)
            except FileNotFoundError:
                raise EvidenceExportError(
                    f"{doc['_id']}: the bytes of {name} ({sha256}) are missing from the blob store"
                ) from None
            if hashlib.sha256(data).hexdigest() != sha256:
                raise EvidenceExportError(f"the blob store's copy of {sha256} is corrupt")
            files[entry] = data
    return files


def _manifest(
    case_id: str, entries: Mapping[str, bytes], key: Any, key_id: str
) -> tuple[bytes, dict[str, Any]]:
    created = rfc3339_utc(now())
    manifest = {
        "_id": f"evidence:{ULID()}",
        "type": MANIFEST_TYPE,
        "contract": 1,
        "case_id": case_id,
        "created_at": created,
        "entries": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
            for name, data in sorted(entries.items())
        },
    }
    signed = sign_document(manifest, key, f"server:{key_id}", created)
    return rfc8785.dumps(signed), signed


def export_case(field: FieldService, case_id: str, out: Path) -> ExportSummary:
    """Write the evidence bundle of ``case_id`` to ``out`` (atomically: a temporary file in
    the same directory, renamed when complete)."""
    if not case_id.startswith("case:") or not is_safe_name(case_id.partition(":")[2]):
        raise EvidenceExportError(f"{case_id!r} is not a case id (case:<ULID>)")
    with field.session() as session:
        key_id, key = current_signing_key(session)  # made on first use: a write
        session.commit()
    entries: dict[str, bytes] = {README: README_TEXT.encode()}
    with _snapshot(field.store) as (store, connection):
        docs = _case_documents(store, case_id)
        with Session(bind=connection) as session:
            keys = [k.to_json() for k in list_signing_keys(session)]
            device_files, devices = _device_files(session, docs)
    for doc in docs:
        if not is_safe_name(doc["_id"].partition(":")[2]):
            raise EvidenceExportError(f"document id {doc['_id']!r} cannot name a bundle entry")
        entries[document_entry(doc["_id"])] = _json_bytes(doc)
    attachments = _attachments(field.store, docs)
    entries.update(attachments)
    entries[SERVER_KEYS] = _json_bytes({"keys": keys})
    entries.update(device_files)
    manifest_bytes, _ = _manifest(case_id, entries, key, key_id)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".evidence-", suffix=".zip", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as bundle:
            bundle.writestr(MANIFEST, manifest_bytes, zipfile.ZIP_DEFLATED)
            for name in sorted(entries):
                compress = zipfile.ZIP_STORED if name in attachments else zipfile.ZIP_DEFLATED
                bundle.writestr(name, entries[name], compress)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ExportSummary(
        out, case_id, len(docs), len(attachments), tuple(devices), len(entries) + 1, key_id
    )
