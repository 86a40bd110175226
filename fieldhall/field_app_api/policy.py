"""The sync policy of ``/sync/field``: what an enrolled device may write.

Checked at the door in this order, so that a refused document is refused for the most basic
thing wrong with it; steps 1–5 and 7 depend on the document alone and run before the store's
write transaction (:meth:`FieldPolicy.prepare_write`, outside its lock; a large batch's are
shared with the door's worker processes, see ``door_workers``), steps 6 and 8 against the
stored state inside it, where the outcomes of the others are raised in their turn:

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

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image

from fieldhall.schemas import documents
from fieldhall.schemas.canonical import signed_bytes
from fieldhall.schemas.chain import ChainEntry as ChainLink
from fieldhall.schemas.chain import ChainStatus, chain_hash, check_chain
from fieldhall.schemas.errors import ContractError, IJsonError, SignatureInvalid
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.signatures import verify_document
from fieldhall.schemas.validation import build_validators
from fieldhall.sync.connection import Database, Raw
from fieldhall.sync.errors import Forbidden
from fieldhall.sync.policy import Principal, Unchanged, WriteContext

from .clock import now
from .devices import DeviceIdentity
from .door_workers import MIN_BATCH, DoorWorkers, Signer, Wire, passed, refusal_of
from .service import FIELD_DB
from .tables import ChainEntry

__all__ = ["DEVICE_TYPES", "FieldPolicy", "refuse"]

DEVICE_TYPES = frozenset(documents.DEVICE_TYPES)
SERVER_TYPES = frozenset(documents.SERVER_TYPES)

# The chain's statements run inside the write transaction, on the driver's connection
# (Database.raw), as the store's own hot statements are: for a batch, one read of the links
# around all of its documents before they are checked and one insert of the new links after
# (begin_batch, end_batch); for a lone document, the same per document.
_LINKS_AROUND = (
    f"SELECT device_seq, hash, prev_hash FROM {ChainEntry.__tablename__}"
    " WHERE device_id = ? AND device_seq BETWEEN ? AND ?"
)
# One statement text whatever the batch's size, as the store's own lists of keys: the
# sequence numbers as a JSON array on SQLite, as an array on PostgreSQL.
_LINKS_AT = {
    True: f"SELECT device_seq, hash, prev_hash FROM {ChainEntry.__tablename__}"
    " WHERE device_id = ? AND device_seq IN (SELECT value FROM json_each(?))",
    False: f"SELECT device_seq, hash, prev_hash FROM {ChainEntry.__tablename__}"
    " WHERE device_id = %s AND device_seq = ANY(%s)",
}
_ADD_LINK = (
    f"INSERT INTO {ChainEntry.__tablename__}"
    " (device_id, device_seq, doc_id, hash, prev_hash, received_at) VALUES (?, ?, ?, ?, ?, ?)"
)
# context.batch keys: the device's links around the batch's documents as the batch goes on
# (device_seq -> link), and the rows of the links its documents add.
_CHAIN, _NEW_LINKS = "field.chain", "field.new_links"
_REMEMBERED_HASHES = 10_000
_KEYS_KEPT = 1024  # devices whose public key stays loaded

DocumentValidator = Callable[[Mapping[str, Any]], None]
AttachmentInspector = Callable[[str, str, Mapping[str, Any]], None]


class Presigner(Protocol):
    """Signs the receipts of a batch's documents before its write (receipts.ReceiptWriter)."""

    def signer(self) -> Signer | None:
        """What signs this batch's receipts, wherever its documents are checked; ``None``:
        the write signs them itself."""

    def keep(self, signed: Mapping[Any, Any]) -> None:
        """The receipts signed, for the write to take."""


def refuse(code: str, detail: str) -> Forbidden:
    return Forbidden(f"{code}: {detail}")


def _device(principal: Principal) -> DeviceIdentity:
    identity = principal.context.get("device")
    if not isinstance(identity, DeviceIdentity):
        raise refuse("not_owner", "only enrolled devices write to /sync/field")
    return identity


@dataclass(frozen=True, slots=True)
class _Prepared:
    """The outcome of a device document's state-free checks (steps 1–5 and 7), made before
    the write transaction: the transaction raises the refusals in the order of the steps."""

    refusal: Forbidden | None  # steps 1–5
    signed_hash: str  # chain_hash of the signed view ("" when refused before it was computed)
    files: dict[str, tuple[Any, Any, Any]]  # the attachments the verdict below was made for
    attachment_refusal: Forbidden | None  # step 7


class FieldPolicy:
    """A :class:`~fieldhall.sync.policy.PreparingWritePolicy`: the signature, schema and
    attachment checks (the inspection of each file's bytes included) run before the store's
    write transaction; inside it, only what depends on stored state — ownership of an
    existing document, immutability, the chain — and the outcome of the former is raised."""

    def __init__(
        self,
        validate: DocumentValidator,
        inspect_attachment: AttachmentInspector | None = None,
        workers: DoorWorkers | None = None,
    ) -> None:
        self.validate = validate
        # (doc id, attachment name, stored attachment) -> raise Forbidden("bad_photo: …")
        self.inspect_attachment = inspect_attachment
        # Worker processes that check shares of a large batch (see door_workers).
        self.workers = workers
        # Signs the receipts of a batch's documents that pass the state-free checks, while
        # the blob store may still be writing their files (receipts.ReceiptWriter).
        self.presigner: Presigner | None = None
        # The signed-bytes hashes of documents just written, for their receipts.
        self._written: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._written_lock = threading.Lock()

    def signed_hash(self, doc: Mapping[str, Any]) -> str:
        """``chain_hash`` of a stored device document's signed view, remembered from its
        write when it was recent (keyed by id, rev and signature, which fix the signed bytes)."""
        with self._written_lock:
            known = self._written.pop(_written_key(doc), None)
        return known if known is not None else chain_hash(_signed_view(doc))

    def prepare_write(
        self, principal: Principal, database: str, new_doc: Mapping[str, Any]
    ) -> _Prepared | None:
        if principal.is_admin:
            return None
        try:
            signed_hash = self._check_document(principal, database, new_doc)
        except Forbidden as refusal:
            return _Prepared(refusal, "", {}, None)
        return _Prepared(None, signed_hash, _files(new_doc), self._attachment_refusal(new_doc))

    def prepare_writes(
        self, principal: Principal, database: str, new_docs: Sequence[Mapping[str, Any] | None]
    ) -> list[object]:
        """:meth:`prepare_write` for a batch; a large one is shared with the door's workers."""
        if principal.is_admin:
            return [None] * len(new_docs)
        views = [view for view in new_docs if view is not None]
        # Receipts are signed ahead only where revisions are known (new_edits=false).
        ahead = self.presigner is not None and any(isinstance(v.get("_rev"), str) for v in views)
        sign = self.presigner.signer() if ahead and self.presigner is not None else None
        checked = None
        if self.workers is not None and len(views) >= MIN_BATCH:
            checked = self.workers.prepare(
                principal,
                database,
                views,
                self.prepare_write,
                _from_wire,
                sign=sign,
                here=not any(_files_being_written(view) for view in views),
            )
        if checked is None:
            done: list[Any] = [self.prepare_write(principal, database, view) for view in views]
            signed = sign(passed(views, done)) if sign is not None else {}
        else:
            done, signed = checked
        if signed and self.presigner is not None:
            self.presigner.keep(signed)
        outcomes = iter(done)
        return [None if view is None else next(outcomes) for view in new_docs]

    def warm_up(self) -> None:
        """Load what checking the first documents would: the catalogs, the package's validators
        of the documents and forms (validate_document's), the image decoders."""
        build_validators()
        Image.init()

    def check_write(
        self,
        principal: Principal,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None,
        context: WriteContext,
    ) -> None:
        if principal.is_admin:
            return
        prepared = context.prepared
        if not isinstance(prepared, _Prepared):
            prepared = self.prepare_write(principal, context.database, new_doc)
            assert prepared is not None
        if prepared.refusal is not None:
            raise prepared.refusal
        device = _device(principal)
        doc_id = str(new_doc.get("_id"))
        if old_doc is not None and not old_doc.get("_deleted"):
            if old_doc.get("agent_id") != device.agent_id:
                # Another agent's document answers as the store answers for an invisible one.
                raise refuse("not_owner", f"document {doc_id} belongs to another principal")
            same_bytes = chain_hash(_signed_view(old_doc)) == prepared.signed_hash
            if same_bytes and _files(old_doc) == _files(new_doc):
                raise Unchanged()
            raise refuse("immutable", f"{doc_id} is already synced and cannot be changed")
        # The attachments prepared may not be all (a stub resolves only in the transaction).
        files = _files(new_doc)
        refusal = (
            prepared.attachment_refusal
            if files == prepared.files
            else self._attachment_refusal(new_doc)
        )
        if refusal is not None:
            raise refusal
        self._check_chain(device, new_doc, prepared.signed_hash, context)

    def after_write(
        self, principal: Principal, new_doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        if principal.is_admin:
            return
        device = _device(principal)
        prepared = context.prepared
        signed_hash = (
            prepared.signed_hash
            if isinstance(prepared, _Prepared) and prepared.signed_hash
            else chain_hash(_signed_view(new_doc))
        )
        seq, prev_hash = new_doc["device_seq"], new_doc.get("prev_hash")
        link = (device.device_id, seq, new_doc["_id"], signed_hash, prev_hash)
        chain = context.batch.get(_CHAIN)
        if chain is None:  # a write without begin_batch
            raw = Database.raw(context.connection)
            raw.run(raw.statement(_ADD_LINK), (*link, _column_time(raw, now())))
        else:  # the batch's later documents are checked against this one
            chain[seq] = ChainLink(signed_hash, prev_hash)
            context.batch[_NEW_LINKS].append(link)
        with self._written_lock:
            self._written[_written_key(new_doc)] = signed_hash
            while len(self._written) > _REMEMBERED_HASHES:
                self._written.popitem(last=False)

    def begin_batch(
        self, principal: Principal, bodies: Sequence[Mapping[str, Any]], context: WriteContext
    ) -> None:
        """Read the device's links around every document of the batch at once."""
        device = principal.context.get("device")
        if principal.is_admin or not isinstance(device, DeviceIdentity):
            return
        wanted = list(
            {
                near
                for body in bodies
                if isinstance(seq := body.get("device_seq"), int) and not isinstance(seq, bool)
                for near in (seq - 1, seq, seq + 1)
            }
        )
        raw = Database.raw(context.connection)
        seqs = orjson.dumps(wanted).decode() if raw.is_sqlite else wanted
        rows = raw.rows(_LINKS_AT[raw.is_sqlite], (device.device_id, seqs))
        chain = {seq: ChainLink(hash_, prev) for seq, hash_, prev in rows}
        context.batch[_CHAIN], context.batch[_NEW_LINKS] = chain, []

    def end_batch(self, principal: Principal, context: WriteContext) -> None:
        """Add the batch's new links in one statement."""
        links = context.batch.get(_NEW_LINKS)
        if not links:
            return
        raw = Database.raw(context.connection)
        at = _column_time(raw, now())
        raw.many(raw.statement(_ADD_LINK), [(*link, at) for link in links])
        links.clear()

    def _check_document(self, principal: Principal, database: str, doc: Mapping[str, Any]) -> str:
        """Steps 1–5; the hash of the document's signed bytes."""
        device = _device(principal)
        if database != FIELD_DB:
            raise refuse("not_owner", f"/{database} is read-only for devices")
        if doc.get("_deleted"):
            raise refuse("delete_forbidden", "devices cannot delete documents")
        view = _signed_view(doc)
        signed = self._check_signature(device, view)
        doc_type = doc.get("type")
        if doc_type not in DEVICE_TYPES:
            kind = "server" if doc_type in SERVER_TYPES else "unknown"
            raise refuse("unknown_type", f"devices may not write {kind} type {doc_type!r}")
        try:
            self.validate(view)
        except ContractError as exc:
            raise Forbidden(exc.reason) from exc
        self._check_owner(device, doc)
        return hashlib.sha256(signed).hexdigest()

    def _attachment_refusal(self, doc: Mapping[str, Any]) -> Forbidden | None:
        try:
            self._check_attachments(doc)
        except Forbidden as refusal:
            return refusal
        return None

    def _check_signature(self, device: DeviceIdentity, view: Mapping[str, Any]) -> bytes:
        """The signed bytes of ``view`` (the document as signed), once they verify."""
        signature = view.get("signature")
        if not isinstance(signature, Mapping):
            raise refuse("bad_signature", "/signature: missing")
        kid = signature.get("kid")
        if kid != device.device_id:
            raise refuse("kid_mismatch", "/signature/kid: not the authenticated device")
        try:
            signed = signed_bytes(view)
        except IJsonError:
            signed = b""  # verify_document refuses the document and says why
        try:
            verify_document(view, _public_key(device.public_key), payload=signed or None)
        except SignatureInvalid as exc:
            raise Forbidden(exc.reason) from exc
        return signed

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
        self,
        device: DeviceIdentity,
        doc: Mapping[str, Any],
        signed_hash: str,
        context: WriteContext,
    ) -> None:
        seq = doc.get("device_seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise refuse("schema_invalid", "/device_seq: must be an integer")
        entries = context.batch.get(_CHAIN)
        if entries is None:  # a write without begin_batch
            raw = Database.raw(context.connection)
            rows = raw.rows(raw.statement(_LINKS_AROUND), (device.device_id, seq - 1, seq + 1))
            entries = {row_seq: ChainLink(hash_, prev) for row_seq, hash_, prev in rows}
        verdict = check_chain(entries, _signed_view(doc), own_hash=signed_hash)
        if verdict.status is ChainStatus.CHAIN_FORK:
            raise refuse("chain_fork", verdict.detail)
        if verdict.status is ChainStatus.RETRY_IDENTICAL:
            raise Unchanged()


def _column_time(raw: Raw, moment: datetime) -> datetime | str:
    """A time as SQLAlchemy binds it to the table's DateTime column: on SQLite, its text
    format (UTC, as ``now`` gives it); psycopg takes the value itself."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if raw.is_sqlite else moment


@functools.lru_cache(maxsize=_KEYS_KEPT)
def _public_key(text: str) -> Ed25519PublicKey:
    """An enrolled device's key (checked at enrollment), loaded once per device: the
    documents of a batch share it."""
    return Ed25519PublicKey.from_public_bytes(b64url_decode(text))


def _from_wire(wire: Wire) -> _Prepared:
    refusal, signed_hash, files, attachment_refusal = wire
    return _Prepared(refusal_of(refusal), signed_hash, files, refusal_of(attachment_refusal))


def _written_key(doc: Mapping[str, Any]) -> tuple[str, str, str]:
    signature = doc.get("signature")
    sig = signature.get("sig") if isinstance(signature, Mapping) else None
    return str(doc.get("_id")), str(doc.get("_rev")), str(sig)


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


def _files_being_written(view: Mapping[str, Any]) -> bool:
    """Whether a document as prepared brings bytes the blob store is writing (the store's
    preview puts them under ``data``)."""
    attachments: Mapping[str, Any] = view.get("_attachments") or {}
    return any(isinstance(att.get("data"), bytes) for att in attachments.values())


def _signed_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as the device signed it: the store's attachment metadata removed."""
    return {k: v for k, v in doc.items() if k not in ("_rev", "_attachments", "_revisions")}
