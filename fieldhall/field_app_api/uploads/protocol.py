"""The tus 1.0.0 wire details: versions, extensions, and parsing of its request headers.

Pure functions over header values; the HTTP layer reads the headers, the domain never sees
them. Spec: https://tus.io/protocols/resumable-upload (core, creation,
creation-with-upload, checksum, expiration, termination).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from .errors import BadUploadRequest, TusVersionMismatch, UnsupportedMedia

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "EXTENSIONS",
    "OFFSET_CONTENT_TYPE",
    "TUS_VERSION",
    "Checksum",
    "check_content_type",
    "check_version",
    "http_date",
    "parse_checksum",
    "parse_length",
    "parse_metadata",
    "parse_offset",
]

TUS_VERSION = "1.0.0"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "checksum",
    "expiration",
    "termination",
)
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# sha256 is what the contract names; sha1 too because stock clients (tuspy) send it.
CHECKSUM_ALGORITHMS: dict[str, Callable[[], hashlib._Hash]] = {
    "sha256": hashlib.sha256,
    "sha1": hashlib.sha1,
}


@dataclass(frozen=True, slots=True)
class Checksum:
    """An ``Upload-Checksum``: the algorithm and the digest the body must have."""

    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        return CHECKSUM_ALGORITHMS[self.algorithm]()


def check_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise TusVersionMismatch(f"Tus-Resumable must be {TUS_VERSION}, not {value!r}")


def check_content_type(value: str | None) -> None:
    if (value or "").split(";", 1)[0].strip().lower() != OFFSET_CONTENT_TYPE:
        raise UnsupportedMedia(f"Content-Type must be {OFFSET_CONTENT_TYPE}")


def _non_negative(name: str, value: str | None) -> int:
    if value is None:
        raise BadUploadRequest(f"{name} is required")
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise BadUploadRequest(f"{name} must be a non-negative integer")
    return int(value)


def parse_length(value: str | None) -> int:
    return _non_negative("Upload-Length", value)


def parse_offset(value: str | None) -> int:
    return _non_negative("Upload-Offset", value)


def parse_metadata(value: str | None) -> dict[str, str | None]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional).

    Values are kept as the client sent them (base64): the server does not interpret them.
    """
    if value is None or not value.strip():
        return {}
    pairs: dict[str, str | None] = {}
    for item in value.split(","):
        parts = item.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or not key.isascii() or key in pairs:
            raise BadUploadRequest(f"Upload-Metadata: malformed pair {item.strip()!r}")
        encoded = parts[1] if len(parts) == 2 else None
        if encoded is not None:
            try:
                base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise BadUploadRequest(f"Upload-Metadata: {key} is not base64") from None
        pairs[key] = encoded
    return pairs


def parse_checksum(value: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; an unknown algorithm is a 400."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadUploadRequest(f"Upload-Checksum: unsupported algorithm {algorithm!r}")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise BadUploadRequest("Upload-Checksum: the digest is not base64") from None
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise BadUploadRequest(f"Upload-Checksum: not a {algorithm} digest")
    return Checksum(algorithm, digest)


def http_date(moment: datetime) -> str:
    """RFC 9110 HTTP-date, as ``Upload-Expires`` carries it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)
