"""``multipart/related`` and ``multipart/mixed`` bodies, as Apache CouchDB's replicator sends
and asks for them: a JSON document part followed by one part per attachment whose
``_attachments`` entry says ``"follows": true``, in the order of those entries."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import BadRequest

__all__ = ["Part", "build_multipart", "new_boundary", "parse_multipart"]


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
