"""A photo or file to attach, and its entry in the signed ``materials`` manifest."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldhall.schemas.signatures import rfc3339_utc

from .errors import InvalidDocument

__all__ = ["Material", "check_files", "sniff_content_type"]

# The file types field apps attach, told by their first bytes: a name can lie, and the
# server checks the bytes against the declared content_type at the door (bad_photo).
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"%PDF-", 0, "application/pdf"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heif"),
    (b"RIFF", 0, "image/webp"),
)


def sniff_content_type(data: bytes, filename: str = "") -> str | None:
    """The content type of ``data`` by its first bytes, else by the file name's extension."""
    for magic, offset, content_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if content_type == "image/webp" and data[8:12] != b"WEBP":
                continue
            return content_type
    guessed, _ = mimetypes.guess_type(filename)
    return guessed


@dataclass(frozen=True, slots=True)
class Material:
    """A photo or file to attach: its bytes and what the catalog calls it."""

    name: str
    data: bytes
    content_type: str
    material_id: str
    captured_at: str | None = None
    location: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.captured_at is None:
            # Fixed once, so that every manifest of this material says the same.
            object.__setattr__(self, "captured_at", rfc3339_utc(datetime.now(UTC)))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def from_file(
        cls,
        path: Path,
        material_id: str,
        *,
        name: str | None = None,
        content_type: str | None = None,
    ) -> Material:
        """A material from a file; ``captured_at`` is the file's modification time (UTC).

        Raises :class:`ValueError` when the content type cannot be told.
        """
        data = path.read_bytes()
        kind = content_type or sniff_content_type(data, path.name)
        if kind is None:
            raise ValueError(f"cannot tell the content type of {path}")
        taken = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return cls(name or path.name, data, kind, material_id, rfc3339_utc(taken))

    def manifest(self) -> dict[str, Any]:
        """This file's entry of the signed ``materials`` manifest."""
        return {
            "name": self.name,
            "material_id": self.material_id,
            "sha256": self.sha256,
            "length": len(self.data),
            "content_type": self.content_type,
            "captured_at": self.captured_at,
            "location": dict(self.location) if self.location is not None else None,
        }


def check_files(doc: Mapping[str, Any], files: Sequence[Material]) -> None:
    """Raise :class:`InvalidDocument` unless ``files`` are exactly the manifest's entries,
    byte for byte — what the server would refuse as ``attachment_mismatch``."""
    manifest = {entry["name"]: entry for entry in doc.get("materials") or []}
    given = {material.name: material for material in files}
    if set(manifest) != set(given):
        odd = sorted(set(given) ^ set(manifest))[0]
        raise InvalidDocument(f"attachment_mismatch: {odd!r} is not both a file and listed")
    for name, material in given.items():
        entry = manifest[name]
        if (entry["sha256"], entry["length"], entry["content_type"]) != (
            material.sha256,
            len(material.data),
            material.content_type,
        ):
            raise InvalidDocument(f"attachment_mismatch: {name!r} differs from its manifest entry")
