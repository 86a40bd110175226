"""``multipart/related`` and ``multipart/mixed`` bodies, as Apache CouchDB's replicator sends
and asks for them: a JSON document part followed by one part per attachment whose
``_attachments`` entry says ``"follows": true``, in the order of those entries."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from ..documents import IncomingAttachment
from ..errors import BadRequest, TooLarge

__all__ = ["Part", "attachment_bytes", "build_multipart", "new_boundary", "parse_multipart"]


@dataclass(frozen=True, slots=True)
class Part:
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def new_boundary() -> str:
    return os.urandom(16).hex()


def parse_multipart(body: bytes, boundary: str | None) -> list[Part]:
    if not boundary:
        raise BadRequest("multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise BadRequest("multipart body does not contain its boundary")
    parts: list[Part] = []
    position = start + len(delimiter)
    while True:
        if body[position : position + 2] == b"--":
            return parts
        if body[position : position + 2] == b"\r\n":
            position += 2
        end = body.find(b"\r\n" + delimiter, position)
        if end < 0:
            raise BadRequest("multipart body is truncated")
        raw = body[position:end]
        header_end = raw.find(b"\r\n\r\n")
        if header_end < 0:
            head, content = b"", raw[2:] if raw.startswith(b"\r\n") else raw
        else:
            head, content = raw[:header_end], raw[header_end + 4 :]
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        parts.append(Part(headers, content))
        position = end + 2 + len(delimiter)


def build_multipart(parts: Iterable[tuple[list[tuple[str, str]], bytes]], boundary: str) -> bytes:
    chunks: list[bytes] = []
    for headers, content in parts:
        chunks.append(b"--" + boundary.encode() + b"\r\n")
        for key, value in headers:
            chunks.append(f"{key}: {value}\r\n".encode("latin-1"))
        chunks.append(b"\r\n")
        chunks.append(content)
        chunks.append(b"\r\n")
    chunks.append(b"--" + boundary.encode() + b"--")
    return b"".join(chunks)


def _md5_digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def _gunzip(data: bytes, limit: int, name: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"attachment {name}: invalid gzip data") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge()
    if not inflater.eof:
        raise BadRequest(f"attachment {name}: truncated gzip data")
    return out


def attachment_bytes(att: IncomingAttachment, part: Part, limit: int) -> bytes:
    """The bytes of an attachment that follows in ``part``, checked against its entry.

    CouchDB's replicator sends attachments that CouchDB stored compressed as they are on its
    disk: ``"encoding": "gzip"``, ``length`` the decoded size, ``encoded_length`` and
    ``digest`` those of the gzip bytes. We store the decoded bytes (and so report the digest of
    those, as for any other attachment). A declared digest that matches neither form of the
    bytes means they were damaged on the way and is refused.
    """
    encoded = part.body
    encoding = (att.encoding or part.headers.get("content-encoding") or "identity").lower()
    if encoding == "identity":
        data = encoded
    elif encoding == "gzip":
        if att.encoded_length is not None and att.encoded_length != len(encoded):
            raise BadRequest(f"attachment {att.name}: encoded_length does not match its part")
        data = _gunzip(encoded, limit, att.name)
    else:
        raise BadRequest(f"attachment {att.name}: unsupported encoding {encoding!r}")
    if att.length is not None and att.length != len(data):
        raise BadRequest(f"attachment {att.name}: length does not match its part")
    if att.digest is not None and att.digest.startswith("md5-"):
        forms = [encoded] if data is encoded else [encoded, data]
        if all(att.digest != _md5_digest(form) for form in forms):
            raise BadRequest(
                f"attachment {att.name}: digest does not match its bytes",
                error="content_md5_mismatch",
            )
    return data
