"""The device's local store: a ``fieldhall.sync`` store on SQLite in the device's directory.

It is the replication peer of ``/sync/field`` — a field app keeps a local database and lets
the CouchDB replication protocol move documents, exactly as a PouchDB app would — with three
databases:

* ``outbox``  — what this device signed, queued offline; pushed to ``/sync/field``. Attachment
  bytes live in the store's content-addressed blob directory (``blobs/sha256/ab/cd/<hex>``),
  fsynced before the document that refers to them commits, so a queued case survives a
  power cut with its photos;
* ``inbox``   — what the server sends back: everything of the device's channels that this
  device did not write itself (receipts, case events, visit requests…);
* ``catalog`` — ``/sync/catalog``, so a case can be checked against its matter offline.

The store is never on the network: :meth:`LocalStore.app` is a CouchDB ASGI app that the sync
session reaches through an in-process transport only.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldhall.schemas.catalog import Catalog
from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.errors import Conflict, NotFound
from fieldhall.sync.http import AdminAuthenticator, CouchApp, ServerSettings
from fieldhall.sync.store import Store

from .materials import Material

__all__ = ["CATALOG", "INBOX", "OUTBOX", "LocalStore", "StoredDocument"]

OUTBOX = "outbox"
INBOX = "inbox"
CATALOG = "catalog"
_REFUSALS = "_local/refusals"  # never replicated: the server's refusals of outbox documents


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document of a local database: its body (with ``_id``), rev and attachment hashes."""

    doc: dict[str, Any]
    rev: str
    attachments: dict[str, str]  # name -> hex sha256

    @property
    def doc_id(self) -> str:
        return str(self.doc["_id"])


class LocalStore:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory = directory
        engine = create_store_engine(f"sqlite:///{directory / 'store.sqlite3'}")
        self.store = Store(Database(engine), BlobStore(directory / "blobs"))
        for name in (OUTBOX, INBOX, CATALOG):
            self.store.create_database(name, exist_ok=True)

    def close(self) -> None:
        self.store.db.dispose()

    # ------------------------------------------------------------------ the peer

    def app(self) -> tuple[CouchApp, tuple[str, str]]:
        """The store as a CouchDB server (ASGI), and the one-off admin credentials it wants."""
        credentials = ("device", secrets.token_urlsafe(24))
        settings = ServerSettings(uuid=self.store.server_uuid())
        return CouchApp(self.store, AdminAuthenticator(*credentials), settings), credentials

    # ------------------------------------------------------------------ documents

    def add(self, doc: Mapping[str, Any], files: Sequence[Material]) -> str:
        """Store a new document of the outbox with its files; returns its rev."""
        body = dict(doc)
        if files:
            body["_attachments"] = {
                m.name: {"content_type": m.content_type, "data": base64.b64encode(m.data).decode()}
                for m in files
            }
        (result,) = self.store.bulk_docs(OUTBOX, [parse_incoming(body, new_edits=True)])
        if result.error is not None or result.rev is None:
            raise RuntimeError(f"the outbox refused {doc.get('_id')}: {result.to_json()}")
        return result.rev

    def documents(self, name: str, since: int = 0) -> list[StoredDocument]:
        """The live documents of a local database changed after ``since``, in seq order."""
        states, _ = self.store.changes(name, since=since, limit=None)
        live = [s for s in states if not s.deleted]
        records = self.store.revisions(name, [(s.doc_id, s.winner) for s in live])
        found = []
        for state in live:
            record = records.get((state.doc_id, state.winner))
            if record is None:
                continue
            found.append(
                StoredDocument(
                    {"_id": state.doc_id, **record.body},
                    record.rev,
                    {name: att.sha256 for name, att in record.attachments.items()},
                )
            )
        return found

    def attachment(self, sha256: str) -> bytes:
        return self.store.blobs.read(sha256)

    def update_seq(self, name: str) -> int:
        return self.store.info(name).update_seq

    def catalog(self, version: str) -> Catalog | None:
        """A catalog version pulled from ``/sync/catalog``, or ``None``."""
        found = self.store.documents(CATALOG, [f"catalog:{version}"])
        state = found.get(f"catalog:{version}")
        if state is None or state.deleted:
            return None
        record = self.store.revisions(CATALOG, [(state.doc_id, state.winner)])
        body = record[(state.doc_id, state.winner)].body
        return Catalog.of(body)

    def catalog_versions(self) -> list[str]:
        states, _ = self.store.all_docs(CATALOG, start="catalog:", end="catalog:\ufff0")
        return [s.doc_id.removeprefix("catalog:") for s in states if not s.deleted]

    # ------------------------------------------------------------------ refusals

    def refusals(self) -> dict[str, str]:
        """The server's refusal reasons of outbox documents, by document id."""
        try:
            found = self.store.get_local(OUTBOX, _REFUSALS)
        except NotFound:
            return {}
        reasons = found.get("reasons")
        return dict(reasons) if isinstance(reasons, dict) else {}

    def record_refusals(self, reasons: Mapping[str, str]) -> None:
        if not reasons:
            return
        while True:
            try:
                current = self.store.get_local(OUTBOX, _REFUSALS)
            except NotFound:
                current = {}
            merged = {**(current.get("reasons") or {}), **reasons}
            try:
                self.store.put_local(OUTBOX, _REFUSALS, {"reasons": merged}, current.get("_rev"))
                return
            except Conflict:
                continue  # written meanwhile: merge again
