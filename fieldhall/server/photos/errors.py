"""Errors of photo derivation, each with a stable code the hall can store and switch on.

Hierarchy::

    PhotoError               raised when the derivatives of an original cannot be made
    ├── UnsupportedType      photo.unsupported_type: a content type we make no derivatives of
    ├── UnreadableImage      photo.unreadable: bytes that do not decode as their declared type
    │                        (corrupt, truncated, another format)
    ├── TooManyPixels        photo.too_many_pixels: more pixels than ``MAX_PIXELS`` (a bomb)
    ├── DigestMismatch       photo.digest_mismatch: the bytes read are not the named original
    ├── OriginalUnavailable  photo.original_unavailable: reading the original failed
    └── Unexpected           photo.unexpected: a bug or a resource failure while deriving

``retryable`` says whether the same job may succeed later (the original may become readable,
memory may be free again); the others fail the same way every time.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "DigestMismatch",
    "OriginalUnavailable",
    "PhotoError",
    "TooManyPixels",
    "Unexpected",
    "UnreadableImage",
    "UnsupportedType",
]


class PhotoError(Exception):
    """Raised when the derivatives of an original cannot be made."""

    code: ClassVar[str] = "photo.error"
    retryable: ClassVar[bool] = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class UnsupportedType(PhotoError):
    """Raised for a content type we make no derivatives of."""

    code = "photo.unsupported_type"


class UnreadableImage(PhotoError):
    """Raised when the bytes do not decode as an image of their declared type."""

    code = "photo.unreadable"


class TooManyPixels(PhotoError):
    """Raised when an image has more pixels than we decode (a decompression bomb)."""

    code = "photo.too_many_pixels"


class DigestMismatch(PhotoError):
    """Raised when the bytes read for an original do not have its sha256."""

    code = "photo.digest_mismatch"


class OriginalUnavailable(PhotoError):
    """Raised when the original's bytes cannot be read."""

    code = "photo.original_unavailable"
    retryable = True


class Unexpected(PhotoError):
    """Raised for a failure that is not the image's fault: a bug, memory, the disk."""

    code = "photo.unexpected"
    retryable = True
