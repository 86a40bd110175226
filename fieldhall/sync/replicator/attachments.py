"""Attachments: which bytes must cross the wire, and how a document carries them.

A revision fetched from the source lists each attachment either with its bytes (inline
base64 ``data``) or as a stub (``stub: true``, ``revpos`` = the generation that added it).
The target can fill in a stub only from an ancestor it already has: one of the
``possible_ancestors`` it named in ``_revs_diff`` that lies on this revision's own path. So an
attachment needs its bytes iff its ``revpos`` is newer than the newest such ancestor — the rule
CouchDB applies for ``atts_since``.

Documents with large attachments are written alone as ``multipart/related`` (JSON first,
then the raw bytes of each ``follows`` attachment, in order), as CouchDB's replicator does.

Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import orjson

from .errors import PeerProtocolError

__all__ = [
    "ancestors_on_path",
    "for_bulk_docs",
    "inline_size",
    "known_generation",
    "missing_attachments",
    "revision_path",
    "to_multipart",
]


def _generation(rev: str) -> int:
    head = rev.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


def revision_path(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The revision's path, newest first, from ``_revisions`` (or just its ``_rev``)."""
    revisions = doc.get("_revisions")
    rev = doc.get("_rev")
    if isinstance(revisions, Mapping):
        start, ids = revisions.get("start"), revisions.get("ids")
        if isinstance(start, int) and isinstance(ids, list):
            return tuple(f"{start - i}-{h}" for i, h in enumerate(ids) if isinstance(h, str))
    return (rev,) if isinstance(rev, str) else ()


def ancestors_on_path(doc: Mapping[str, Any], possible_ancestors: Sequence[str]) -> tuple[str, ...]:
    """The target's possible ancestors that really are ancestors of this revision."""
    path = set(revision_path(doc))
    return tuple(rev for rev in possible_ancestors if rev in path)


def known_generation(doc: Mapping[str, Any], possible_ancestors: Sequence[str]) -> int:
    """The newest generation on this revision's path that the target already has."""
    return max((_generation(r) for r in ancestors_on_path(doc, possible_ancestors)), default=0)


def _attachments(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    atts = doc.get("_attachments")
    return atts if isinstance(atts, Mapping) else {}


def missing_attachments(doc: Mapping[str, Any], possible_ancestors: Sequence[str]) -> list[str]:
    """Names of stub attachments whose bytes the target cannot have: added after the newest
    ancestor of this revision the target knows."""
    known = known_generation(doc, possible_ancestors)
    missing = []
    for name, att in _attachments(doc).items():
        if isinstance(att, Mapping) and att.get("stub"):
            revpos = att.get("revpos")
            if not isinstance(revpos, int) or revpos > known:
                missing.append(name)
    return missing


def inline_size(doc: Mapping[str, Any]) -> int:
    """Bytes of the attachments carried inline (decoded size)."""
    total = 0
    for att in _attachments(doc).values():
        if isinstance(att, Mapping) and isinstance(att.get("data"), str):
            data: str = att["data"]
            total += len(data) * 3 // 4 - data[-2:].count("=")
    return total


def for_bulk_docs(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as ``_bulk_docs`` takes it: inline attachments keep only their bytes,
    type and revpos (the target computes its own digest of the bytes)."""
    atts = _attachments(doc)
    if not atts:
        return dict(doc)
    clean: dict[str, Any] = {}
    for name, att in atts.items():
        if isinstance(att, Mapping) and "data" in att:
            clean[name] = {k: att[k] for k in ("content_type", "revpos", "data") if k in att}
        else:
            clean[name] = att
    return {**doc, "_attachments": clean}


def to_multipart(doc: Mapping[str, Any]) -> tuple[str, bytes]:
    """``(content_type, body)`` of a ``multipart/related`` upload of ``doc``: every inline
    attachment becomes a ``follows`` part with its raw bytes."""
    atts = _attachments(doc)
    parts: list[tuple[str, str, bytes]] = []
    entries: dict[str, Any] = {}
    for name, att in atts.items():
        if isinstance(att, Mapping) and isinstance(att.get("data"), str):
            try:
                data = base64.b64decode(att["data"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise PeerProtocolError(f"attachment {name!r} is not valid base64") from exc
            md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            content_type = str(att.get("content_type") or "application/octet-stream")
            entry = {
                "content_type": content_type,
                "length": len(data),
                "digest": "md5-" + md5,
                "follows": True,
            }
            if isinstance(att.get("revpos"), int):
                entry["revpos"] = att["revpos"]
            entries[name] = entry
            parts.append((name, content_type, data))
        else:
            entries[name] = att
    boundary = os.urandom(16).hex()
    delimiter = b"--" + boundary.encode()
    chunks = [
        delimiter,
        b"\r\nContent-Type: application/json\r\n\r\n",
        orjson.dumps({**doc, "_attachments": entries}),
    ]
    for name, content_type, data in parts:
        chunks += [
            b"\r\n",
            delimiter,
            b'\r\nContent-Disposition: attachment; filename="',
            quote(name).encode(),
            b'"\r\nContent-Type: ',
            content_type.encode("latin-1", "replace"),
            b"\r\nContent-Length: ",
            str(len(data)).encode(),
            b"\r\n\r\n",
            data,
        ]
    chunks += [b"\r\n", delimiter, b"--"]
    return f'multipart/related; boundary="{boundary}"', b"".join(chunks)
