"""The reference device client: what a field app does, in Python.

It enrolls with a one-time code, keeps its Ed25519 key and token in a local file readable
only by its user (0600), builds documents with their materials manifest, seals the
applicant's ID number and phone to the hall, signs them at the head of its hash chain
(``device_seq``, ``prev_hash``), queues them in a local outbox that works offline, syncs with
``/sync/field`` through fieldhall's replicator, and verifies what the server signed (receipts,
case events) with the server's published keys.

Queueing is ordered for crashes: the document is checked as the server will check it, then
the new chain head is made durable, then the document is stored in the outbox. A crash
between the last two costs a ``device_seq`` that never arrives — a gap the server records and
tolerates — never a ``device_seq`` used twice, which the server would refuse as a fork.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ulid import ULID

from fieldhall.schemas.catalog import Catalog, catalog_versions, load_catalog
from fieldhall.schemas.chain import chain_hash
from fieldhall.schemas.errors import ContractError
from fieldhall.schemas.keys import b64url_decode, decode_key
from fieldhall.schemas.sealing import seal_document_fields
from fieldhall.schemas.signatures import rfc3339_utc, sign_document
from fieldhall.schemas.validation import validate_document

from .enrollment import TIMEOUT_S, request_enrollment
from .errors import (
    AlreadyEnrolled,
    DeviceError,
    InvalidDocument,
    ReceiptMismatch,
    ServerUnreachable,
)
from .local_store import INBOX, OUTBOX, LocalStore, StoredDocument
from .materials import Material, check_files
from .report import DocState, DocumentStatus, SyncReport, VerifyReport
from .state import DeviceState, data_dir_for, exclusive
from .syncing import run_sync
from .verification import check_receipt, judge_outbox, verify_documents, verify_server_document

__all__ = ["DeviceClient"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DeviceClient:
    def __init__(
        self,
        state: DeviceState,
        *,
        state_path: Path | None = None,
        data_dir: Path | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.state = state
        # The device's own clock, which it writes into created_at and signed_at; a simulated
        # device (the demo's) files on past days by reading another one.
        self.clock = clock or _utc_now
        self.state_path = state_path
        self.data_dir = data_dir or (data_dir_for(state_path) if state_path else None)
        self._key = Ed25519PrivateKey.from_private_bytes(b64url_decode(state.private_key))
        self._local: LocalStore | None = None
        self._lock_depth = 0
        self._keys_refreshed = False

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> DeviceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ enrollment

    @classmethod
    def enroll(
        cls,
        server: str,
        code: str,
        *,
        name: str = "reference client",
        state_path: Path | None = None,
        http: httpx.Client | None = None,
    ) -> DeviceClient:
        """Trade ``code`` for a device identity; the state file is written (0600) before
        this returns. Raises :class:`EnrollmentRefused` or :class:`ServerUnreachable`."""
        if state_path is not None:
            # Never overwrite a device: its key and chain head would be lost for good, and
            # documents signed by the lost key could never be sent.
            for taken in (state_path, data_dir_for(state_path)):
                if taken.exists():
                    raise AlreadyEnrolled(
                        f"{taken} belongs to an enrolled device; use another file"
                    )
            if not os.access(state_path.parent, os.W_OK | os.X_OK):
                # Checked before the code is spent: a device that cannot be saved is lost.
                raise DeviceError(f"cannot write the state file in {state_path.parent}")
        state = request_enrollment(server, code, name, http)
        device = cls(state, state_path=state_path)
        device._persist()
        return device

    @classmethod
    def load(cls, state_path: Path) -> DeviceClient:
        """The device of a state file; raises :class:`NotEnrolled` if there is none."""
        return cls(DeviceState.load(state_path), state_path=state_path)

    def _persist(self) -> None:
        if self.state_path is not None:
            self.state.save(self.state_path)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the device's lock (re-entrant within this client) with the state file's
        mutable parts re-read: another process may have signed or fetched keys since this
        one loaded it, and writing back a stale chain head would make the next document a
        fork."""
        if self.data_dir is None or self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with exclusive(self.data_dir):
            self._lock_depth += 1
            try:
                if self.state_path is not None and self.state_path.exists():
                    disk = DeviceState.load(self.state_path)
                    self.state.device_seq, self.state.prev_hash = disk.device_seq, disk.prev_hash
                    self.state.server_keys = {**disk.server_keys, **self.state.server_keys}
                yield
            finally:
                self._lock_depth -= 1

    @property
    def local(self) -> LocalStore:
        """The local store (outbox, inbox, catalog) in the device's directory."""
        if self._local is None:
            if self.data_dir is None:
                raise DeviceError("this device has no directory for its outbox (no state file)")
            self._local = LocalStore(self.data_dir)
        return self._local

    # ------------------------------------------------------------------ documents

    def _now(self) -> str:
        return rfc3339_utc(self.clock())

    def new_id(self, doc_type: str) -> str:
        return f"{doc_type}:{ULID()}"

    def _at_head(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``body`` with the device fields of the next chain position, signed."""
        now = self._now()
        doc = {
            "contract": 1,
            "created_at": now,
            **body,
            "agent_id": self.state.agent_id,
            "device_id": self.state.device_id,
            "device_seq": self.state.device_seq + 1,
            "prev_hash": self.state.prev_hash,
        }
        return sign_document(doc, self._key, self.state.device_id, now)

    def _advance(self, signed: Mapping[str, Any]) -> None:
        self.state.device_seq = int(signed["device_seq"])
        self.state.prev_hash = chain_hash(signed)
        self._persist()

    def sign(self, body: Mapping[str, Any], *, advance_chain: bool = True) -> dict[str, Any]:
        """Add the device fields (``device_seq``, ``prev_hash``…) and the signature.

        No checks and no lock: this is the primitive (tests use it to forge what the door
        must refuse); a field app queues with :meth:`queue`. The chain head moves only when
        ``advance_chain``; a test that wants to forge a fork signs without advancing.
        """
        signed = self._at_head(body)
        if advance_chain:
            self._advance(signed)
        return signed

    def case_body(
        self,
        matter_id: str,
        catalog_version: str,
        applicant: Mapping[str, Any],
        form: Mapping[str, Any],
        materials: Sequence[Material],
        consent: Material,
        *,
        channel: str = "home_visit",
        request_id: str | None = None,
        location: Mapping[str, Any] | None = None,
        seal: bool = True,
    ) -> tuple[dict[str, Any], list[Material]]:
        """An unsigned case and the files to attach (the consent signature image included).

        With ``seal`` (the default) ``applicant.id_number`` and ``applicant.phone`` are sealed
        to the hall's encryption key: only the hall can read them.
        """
        files = [*materials, consent]
        body: dict[str, Any] = {
            "_id": self.new_id("case"),
            "type": "case",
            "matter": {"id": matter_id, "catalog_version": catalog_version},
            "channel": channel,
            "grid_id": self.state.grid_id,
            "station_id": self.state.station_id,
            "request_id": request_id,
            "applicant": dict(applicant),
            "form": dict(form),
            "materials": [m.manifest() for m in files],
            "consent": {"attachment": consent.name, "signed_at": self._now()},
            "location": dict(location) if location else None,
        }
        if seal:
            body = seal_document_fields(body, decode_key(self.state.hall_encryption_key))
        return body, files

    def case(
        self,
        matter_id: str,
        catalog_version: str,
        applicant: Mapping[str, Any],
        form: Mapping[str, Any],
        materials: Sequence[Material],
        consent: Material,
        *,
        channel: str = "home_visit",
        request_id: str | None = None,
        location: Mapping[str, Any] | None = None,
        seal: bool = True,
    ) -> tuple[dict[str, Any], list[Material]]:
        """A signed case (the chain moves) and its files; not checked, not queued."""
        body, files = self.case_body(
            matter_id,
            catalog_version,
            applicant,
            form,
            materials,
            consent,
            channel=channel,
            request_id=request_id,
            location=location,
            seal=seal,
        )
        return self.sign(body), files

    @staticmethod
    def with_attachments(doc: Mapping[str, Any], files: Sequence[Material]) -> dict[str, Any]:
        """The document as sent to CouchDB: attachments inline, base64."""
        out = dict(doc)
        out["_attachments"] = {
            m.name: {"content_type": m.content_type, "data": base64.b64encode(m.data).decode()}
            for m in files
        }
        return out

    # ------------------------------------------------------------------ the outbox

    def catalog(self, version: str | None = None) -> Catalog:
        """A catalog version as this device knows it: pulled from the server if it has been
        synced, else the one that ships with fieldhall. Raises ``UnknownCatalogVersion``."""
        if version is None:
            known = self.local.catalog_versions() if self.data_dir else []
            version = max([*known, *catalog_versions()], key=_version_key)
        found = self.local.catalog(version) if self.data_dir else None
        return found or load_catalog(version)

    def queue(self, body: Mapping[str, Any], files: Sequence[Material] = ()) -> StoredDocument:
        """Sign ``body`` at the head of the chain, check it as the server will, and store it
        with its files in the outbox for the next :meth:`sync`.

        Raises :class:`InvalidDocument` (nothing queued, the chain unmoved) for a document
        the server would refuse for its shape, its matter or its files.
        """
        with self._exclusive():
            signed = self._at_head(body)
            try:
                validate_document(signed, catalogs=self.catalog)
            except ContractError as exc:
                raise InvalidDocument(exc.reason) from exc
            check_files(signed, files)
            self._advance(signed)
            rev = self.local.add(signed, files)
        return StoredDocument(signed, rev, {m.name: m.sha256 for m in files})

    def queue_case(
        self,
        matter_id: str,
        applicant: Mapping[str, Any],
        form: Mapping[str, Any],
        materials: Sequence[Material],
        consent: Material,
        *,
        catalog_version: str | None = None,
        channel: str = "home_visit",
        request_id: str | None = None,
        location: Mapping[str, Any] | None = None,
        seal: bool = True,
    ) -> StoredDocument:
        """Build, seal, sign and queue a case (see :meth:`queue`); works offline. Without
        ``catalog_version`` the latest catalog the device knows is used."""
        version = catalog_version or self.catalog().version
        body, files = self.case_body(
            matter_id,
            version,
            applicant,
            form,
            materials,
            consent,
            channel=channel,
            request_id=request_id,
            location=location,
            seal=seal,
        )
        return self.queue(body, files)

    def outbox(self) -> list[StoredDocument]:
        """Every document this device queued, oldest first."""
        return self.local.documents(OUTBOX)

    def inbox(self) -> list[StoredDocument]:
        """Every document pulled from the server, in the order they came."""
        return self.local.documents(INBOX)

    def catalog_versions(self) -> list[str]:
        """The catalog versions pulled from ``/sync/catalog``, oldest first."""
        return sorted(self.local.catalog_versions(), key=_version_key)

    # ------------------------------------------------------------------ sync

    def sync(self) -> SyncReport:
        """Push the outbox and pull the device's channels (and the catalog) with fieldhall's
        replicator; verify everything pulled and report each queued document's receipt.

        Blocking (it runs its own event loop). Raises :class:`TokenRefused` when the device
        is revoked, :class:`ServerUnreachable` offline, :class:`SyncFailed` otherwise.
        """
        with self._exclusive():
            counts = run_sync(
                self.local, self.state.device_id, self.state.sync_url, self.state.token
            )
            pulled = self.local.documents(INBOX, since=counts.inbox_before)
            verified, invalid, foreign = verify_documents((s.doc for s in pulled), self._key_for)
            statuses = self.statuses()
        arrived = {s.doc_id for s in pulled}
        # This sync's news: receipts that just arrived, and whatever is still not acknowledged.
        news = tuple(
            s for s in statuses if s.state is not DocState.ACKNOWLEDGED or s.receipt_id in arrived
        )
        return SyncReport(
            pushed=counts.pushed,
            pulled=counts.pulled,
            catalog_pulled=counts.catalog_pulled,
            verification=VerifyReport(verified, invalid, foreign, tuple(statuses)),
            documents=news,
        )

    def statuses(self) -> list[DocumentStatus]:
        """Each queued document judged by its receipts (verified) and the server's refusals."""
        return judge_outbox(self.outbox(), self.inbox(), self.local.refusals(), self.check_receipt)

    def verify(self) -> VerifyReport:
        """Verify every document in the inbox and every queued document's receipts."""
        verified, invalid, foreign = verify_documents((s.doc for s in self.inbox()), self._key_for)
        return VerifyReport(verified, invalid, foreign, tuple(self.statuses()))

    # ------------------------------------------------------------------ raw wire helpers

    def http(self) -> httpx.Client:
        return httpx.Client(headers={"Authorization": f"Bearer {self.state.token}"}, timeout=60.0)

    def push(self, docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``_bulk_docs`` the documents as they are; returns the per-document results.

        A probe of the door for tests and diagnostics: a device syncs with :meth:`sync`.
        """
        with self.http() as client:
            response = client.post(self.state.sync_url + "/_bulk_docs", json={"docs": list(docs)})
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()
        return results

    def pull(self, since: str | int = 0) -> tuple[list[dict[str, Any]], str]:
        """Every document of this device's channels changed after ``since`` (a probe, as
        :meth:`push`)."""
        with self.http() as client:
            response = client.get(
                self.state.sync_url + "/_changes",
                params={"since": str(since), "include_docs": "true", "style": "all_docs"},
            )
        response.raise_for_status()
        body = response.json()
        return [row["doc"] for row in body["results"] if row.get("doc")], body["last_seq"]

    # ------------------------------------------------------------------ verification

    def refresh_server_keys(self) -> None:
        """Fetch the server's signing keys, current and retired (``GET /api/v1/keys``)."""
        try:
            with httpx.Client(timeout=TIMEOUT_S) as client:
                response = client.get(self.state.server + "/api/v1/keys")
                response.raise_for_status()
                keys = response.json()["keys"]
        except httpx.HTTPError as exc:
            raise ServerUnreachable(f"cannot fetch the server's keys: {exc}") from exc
        self._keys_refreshed = True
        with self._exclusive():
            self.state.server_keys = {k["key_id"]: k["public_key"] for k in keys}
            self._persist()

    def _key_for(self, key_id: str) -> str | None:
        # Keys rotate: an unknown id is looked up once per client (retired keys stay listed).
        if key_id not in self.state.server_keys and not self._keys_refreshed:
            self.refresh_server_keys()
        return self.state.server_keys.get(key_id)

    def verify_server_document(self, doc: Mapping[str, Any]) -> None:
        """Raise ``SignatureInvalid`` unless a key the server publishes signed ``doc``."""
        verify_server_document(doc, self._key_for)

    def check_receipt(self, receipt: Mapping[str, Any], stored: StoredDocument) -> None:
        """Raise unless ``receipt`` acknowledges exactly the queued document ``stored``."""
        check_receipt(receipt, stored, self.state.device_id, self._key_for)

    def verify_receipt(
        self, receipt: Mapping[str, Any], sent: Mapping[str, Any], files: Sequence[Material]
    ) -> None:
        """The receipt is the server's and acknowledges exactly ``sent`` and its files."""
        self.verify_server_document(receipt)
        expected = {m.name: hashlib.sha256(m.data).hexdigest() for m in files}
        if receipt["for"]["id"] != sent["_id"] or receipt["for"]["sha256"] != chain_hash(sent):
            raise ReceiptMismatch("the receipt acknowledges another document")
        if receipt["attachments"] != expected:
            raise ReceiptMismatch("the receipt's attachment hashes differ from what was sent")


def _version_key(version: str) -> tuple[int, ...]:
    """``2026.10`` after ``2026.9``: catalog versions compare by their numbers."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)
