"""Documents as they cross the wire: parsing what clients send, shaping what we return.

Incoming JSON is checked with CouchDB's rules (ids, special ``_`` members, revs,
``_revisions``, inline attachments) and split into an :class:`IncomingDoc`: the body without
special members, plus the edit's metadata. Nothing here touches storage.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest
from .revtree import InvalidRev, parse_rev, path_from_revisions

__all__ = [
    "IncomingAttachment",
    "IncomingDoc",
    "StoredAttachment",
    "check_doc_id",
    "parse_incoming",
]

ALLOWED_SPECIAL = frozenset(
    {
        "_id",
        "_rev",
        "_deleted",
        "_attachments",
        "_revisions",
        "_conflicts",
        "_deleted_conflicts",
        "_local_seq",
        "_revs_info",
    }
)
MAX_DOC_ID_BYTES = 4096


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """Attachment metadata kept with a revision; bytes live in the blob store by ``sha256``."""

    content_type: str
    length: int
    digest: str  # CouchDB's "md5-<base64>"
    sha256: str
    revpos: int

    def to_json(self) -> dict[str, Any]:
        return {
            "content_type": self.content_type,
            "length": self.length,
            "digest": self.digest,
            "sha256": self.sha256,
            "revpos": self.revpos,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredAttachment:
        return cls(
            content_type=data["content_type"],
            length=data["length"],
            digest=data["digest"],
            sha256=data["sha256"],
            revpos=data["revpos"],
        )


@dataclass(slots=True)
class IncomingAttachment:
    """One entry of a document's ``_attachments`` as the client sent it."""

    name: str
    content_type: str
    stub: bool = False
    data: bytes | None = None  # decoded inline bytes
    follows: bool = False  # bytes arrive in a later multipart part
    length: int | None = None
    encoding: str | None = None  # of a following part: "gzip" when CouchDB sends it compressed
    encoded_length: int | None = None
    digest: str | None = None
    revpos: int | None = None
    resolved: StoredAttachment | None = None  # set once the bytes are in the blob store


@dataclass(slots=True)
class IncomingDoc:
    doc_id: str
    rev: str | None  # the client's `_rev`
    path: list[str] | None  # with new_edits=false: leaf first, from `_revisions`
    deleted: bool
    body: dict[str, Any]  # without special members
    attachments: dict[str, IncomingAttachment] | None
    raw_revisions: bool = False  # `_revisions` was given
    extra: dict[str, Any] = field(default_factory=dict)


def check_doc_id(doc_id: object, *, allow_local: bool = False) -> str:
    """CouchDB's id rules: a non-empty string; a leading ``_`` only for design/local docs."""
    if not isinstance(doc_id, str) or doc_id == "":
        raise BadRequest("Document id must be a non-empty string", error="illegal_docid")
    if len(doc_id.encode("utf-8", "surrogatepass")) > MAX_DOC_ID_BYTES:
        raise BadRequest("Document id is too long", error="illegal_docid")
    if doc_id.startswith("_"):
        if doc_id.startswith("_design/") and len(doc_id) > len("_design/"):
            return doc_id
        if allow_local and doc_id.startswith("_local/") and len(doc_id) > len("_local/"):
            return doc_id
        raise BadRequest(
            "Only reserved document ids may start with underscore.", error="illegal_docid"
        )
    _check_text(doc_id, "Document id")
    if "\x00" in doc_id:  # PostgreSQL text cannot hold NUL; refuse it on every engine
        raise BadRequest("Document id must not contain NUL characters", error="illegal_docid")
    return doc_id


def _check_text(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"{what} is not valid UTF-8 (lone surrogate)") from exc


def parse_incoming(
    raw: object,
    *,
    new_edits: bool,
    doc_id: str | None = None,
    generate_id: Any = None,
) -> IncomingDoc:
    """Check one document as sent by a client.

    ``doc_id`` is the id from the URL (PUT); ``generate_id`` makes one for POST without ``_id``.
    """
    if not isinstance(raw, dict):
        raise BadRequest("Document must be a JSON object")
    raw_id = raw.get("_id", doc_id)
    if "_id" not in raw and doc_id is None and generate_id is not None and new_edits:
        raw_id = generate_id()  # but an explicit `"_id": null` is an illegal id
    if doc_id is not None and "_id" in raw and raw["_id"] != doc_id:
        raise BadRequest("Document id in the body does not match the URL")
    checked_id = check_doc_id(raw_id)

    body: dict[str, Any] = {key: value for key, value in raw.items() if key[:1] != "_"}
    if len(body) != len(raw):
        for key in raw:
            if key[:1] == "_" and key not in ALLOWED_SPECIAL:
                raise BadRequest(f"Bad special document member: {key}", error="doc_validation")

    rev = raw.get("_rev")
    if rev is not None:
        try:
            parse_rev(rev)
        except InvalidRev as exc:
            raise BadRequest(str(exc)) from exc
    deleted = raw.get("_deleted", False)
    if not isinstance(deleted, bool):
        raise BadRequest("_deleted must be a boolean", error="doc_validation")

    path: list[str] | None = None
    revisions = raw.get("_revisions")
    if not new_edits:
        if rev is None:
            raise BadRequest("new_edits=false requires a _rev for every document")
        if revisions is not None:
            try:
                path = path_from_revisions(revisions, rev)
            except InvalidRev as exc:
                raise BadRequest(str(exc)) from exc
        else:
            path = [rev]
    elif revisions is not None and rev is not None:
        try:
            path_from_revisions(revisions, rev)
        except InvalidRev as exc:
            raise BadRequest(str(exc)) from exc

    attachments = _parse_attachments(raw.get("_attachments"))
    return IncomingDoc(
        doc_id=checked_id,
        rev=rev,
        path=path,
        deleted=deleted,
        body=body,
        attachments=attachments,
        raw_revisions=revisions is not None,
    )


def _parse_attachments(raw: object) -> dict[str, IncomingAttachment] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequest("_attachments must be an object")
    parsed: dict[str, IncomingAttachment] = {}
    for name, spec in raw.items():
        if not name or name.startswith("_"):
            raise BadRequest(f"Attachment name '{name}' is invalid", error="bad_request")
        _check_text(name, "Attachment name")
        if not isinstance(spec, dict):
            raise BadRequest(f"Attachment '{name}' must be an object")
        content_type = spec.get("content_type", "application/octet-stream")
        if not isinstance(content_type, str):
            raise BadRequest(f"Attachment '{name}' content_type must be a string")
        length = spec.get("length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int)):
            raise BadRequest(f"Attachment '{name}' length must be an integer")
        digest = spec.get("digest")
        if digest is not None and not isinstance(digest, str):
            raise BadRequest(f"Attachment '{name}' digest must be a string")
        revpos = spec.get("revpos")
        # Replicated revisions keep the revpos their source gave them (new_edits=false).
        revpos = revpos if isinstance(revpos, int) and not isinstance(revpos, bool) else None
        if spec.get("stub") is True:
            parsed[name] = IncomingAttachment(
                name, content_type, stub=True, length=length, digest=digest, revpos=revpos
            )
        elif spec.get("follows") is True:
            encoding = spec.get("encoding")
            encoded_length = spec.get("encoded_length")
            if encoding is not None and not isinstance(encoding, str):
                raise BadRequest(f"Attachment '{name}' encoding must be a string")
            if encoded_length is not None and (
                isinstance(encoded_length, bool) or not isinstance(encoded_length, int)
            ):
                raise BadRequest(f"Attachment '{name}' encoded_length must be an integer")
            parsed[name] = IncomingAttachment(
                name, content_type, follows=True, length=length, digest=digest, revpos=revpos,
                encoding=encoding, encoded_length=encoded_length,
            )  # fmt: skip
        elif "data" in spec:
            data = spec["data"]
            if not isinstance(data, str):
                raise BadRequest(f"Attachment '{name}' data must be a base64 string")
            try:
                if len(data) % 4:
                    raise ValueError("base64 data must come in padded groups of four")
                decoded = binascii.a2b_base64(data, strict_mode=True)
            except (binascii.Error, ValueError) as exc:
                raise BadRequest(f"Invalid attachment data for {name}") from exc
            parsed[name] = IncomingAttachment(name, content_type, data=decoded, revpos=revpos)
        else:
            raise BadRequest(f"Attachment '{name}' has neither data, stub nor follows")
    return parsed
