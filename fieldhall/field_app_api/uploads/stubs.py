"""Attachment stubs by SHA-256 digest: a document names bytes its device already uploaded.

ARCHITECTURE ("Signed documents"): an ``_attachments`` entry may be
``{"stub": true, "digest": "sha256-<base64>", "length": n, "content_type": …}`` naming bytes
the same device uploaded through ``/api/v1/uploads``; a digest the device did not upload
itself is ``attachment_mismatch``.

The store resolves a stub from the document's ancestor revisions first (CouchDB's rule); a
stub it cannot find there it hands to a :data:`StubResolver` — this module's
:class:`UploadedStubResolver` — which answers with the stored attachment, ``None`` (not a
digest stub: the store reports CouchDB's ``missing_stub``), or raises ``Forbidden``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Callable

from fieldhall.sync.documents import IncomingAttachment, StoredAttachment
from fieldhall.sync.errors import Forbidden
from fieldhall.sync.policy import Principal

from ..devices import DeviceIdentity
from .service import Uploads

__all__ = ["SHA256_DIGEST_PREFIX", "StubResolver", "UploadedStubResolver", "sha256_digest"]

SHA256_DIGEST_PREFIX = "sha256-"

StubResolver = Callable[[Principal, str, str, IncomingAttachment], StoredAttachment | None]
"""``(principal, doc_id, attachment name, the stub as sent) -> the stored attachment``,
``None`` when the resolver has nothing to say; raises ``Forbidden`` to refuse the document.
Called inside the write transaction: it must not write to the database."""


def sha256_digest(sha256_hex: str) -> str:
    """The stub digest of bytes with this SHA-256: ``sha256-<standard base64, padded>``."""
    return SHA256_DIGEST_PREFIX + base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def _mismatch(detail: str) -> Forbidden:
    return Forbidden(f"attachment_mismatch: {detail}")


def _digest_hex(digest: str) -> str | None:
    try:
        raw = base64.b64decode(digest.removeprefix(SHA256_DIGEST_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


class UploadedStubResolver:
    def __init__(self, uploads: Uploads) -> None:
        self.uploads = uploads

    def __call__(
        self, principal: Principal, doc_id: str, name: str, att: IncomingAttachment
    ) -> StoredAttachment | None:
        digest = att.digest or ""
        if not digest.startswith(SHA256_DIGEST_PREFIX):
            return None
        device = principal.context.get("device")
        if not isinstance(device, DeviceIdentity):
            return None  # the hall writes bytes inline; only devices upload
        where = f"_attachments/{name}"
        sha256 = _digest_hex(digest)
        if sha256 is None:
            raise _mismatch(f"{where}: the digest is not sha256-<base64 of 32 bytes>")
        record = self.uploads.uploaded_blob(device.device_id, sha256)
        blob = self.uploads.blobs.path_of(sha256)
        if record is None or not blob.is_file():
            raise _mismatch(f"{where}: this device has not uploaded bytes with that digest")
        if att.length is not None and att.length != record.length:
            raise _mismatch(f"{where}: length {att.length} differs from the upload's")
        with contextlib.suppress(FileNotFoundError):
            # Young again for the garbage collector until the document referring to it commits.
            os.utime(blob)
        return StoredAttachment(att.content_type, record.length, record.md5_digest, sha256, 0)
