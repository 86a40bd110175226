"""Signed bytes: the RFC 8785 (JCS) canonical JSON a signature and the device chain cover.

ARCHITECTURE, "Signed documents": the signed bytes of a document are the JCS of the document
without the members CouchDB owns or rewrites in transit (``_rev``, ``_revisions``,
``_attachments``, ``_conflicts``, ``_deleted_conflicts``) and without ``signature.sig``.
``_id`` is signed, so a signature cannot be moved to another document; attachments are bound
through the signed ``materials`` manifest (sha256 and length of every file) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rfc8785

from fieldhall.schemas.errors import IJsonError
from fieldhall.schemas.ijson import check_ijson

__all__ = ["UNSIGNED_MEMBERS", "signable", "signed_bytes"]

UNSIGNED_MEMBERS = frozenset(
    {"_rev", "_revisions", "_attachments", "_conflicts", "_deleted_conflicts"}
)


def signable(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as it is signed: a shallow copy without the unsigned members."""
    body = {key: value for key, value in doc.items() if key not in UNSIGNED_MEMBERS}
    signature = body.get("signature")
    if isinstance(signature, Mapping):
        body["signature"] = {key: value for key, value in signature.items() if key != "sig"}
    return body


def signed_bytes(doc: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of :func:`signable` ``(doc)``; :class:`IJsonError` if not I-JSON."""
    body = signable(doc)
    try:
        return rfc8785.dumps(body)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, RecursionError) as exc:
        # Walk the document only now, to say where it is not I-JSON.
        check_ijson(body)
        raise IJsonError(f"cannot be canonicalized: {exc}") from exc
