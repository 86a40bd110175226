"""Errors of the resumable upload endpoint, each with its tus status.

Hierarchy::

    FieldError (field_app_api.errors)
    └── UploadError            raised when a tus request cannot be carried out
        ├── TusVersionMismatch raised when Tus-Resumable is missing or not 1.0.0 (412)
        ├── BadUploadRequest   raised when a tus header is missing or malformed (400)
        ├── UnsupportedMedia   raised when a PATCH body is not offset+octet-stream (415)
        ├── UploadTooLarge     raised when Upload-Length or a body exceeds the limit (413)
        ├── UploadNotFound     raised when no upload of the device has that id (404)
        ├── UploadGone         raised when the upload expired and awaits cleaning (410)
        ├── OffsetMismatch     raised when Upload-Offset is not the stored offset (409)
        ├── UploadLocked       raised when another request is writing the upload (423)
        └── ChecksumMismatch   raised when Upload-Checksum does not match the body (460)

    BodyInterrupted        raised by the HTTP layer when the client went away mid-body
"""

from __future__ import annotations

from ..errors import FieldError

__all__ = [
    "BadUploadRequest",
    "BodyInterrupted",
    "ChecksumMismatch",
    "OffsetMismatch",
    "TusVersionMismatch",
    "UnsupportedMedia",
    "UploadError",
    "UploadGone",
    "UploadLocked",
    "UploadNotFound",
    "UploadTooLarge",
]


class UploadError(FieldError):
    code = "upload.error"
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(type(self).code, message, status=type(self).status_code)


class TusVersionMismatch(UploadError):
    code, status_code = "upload.version_mismatch", 412


class BadUploadRequest(UploadError):
    code, status_code = "upload.bad_request", 400


class UnsupportedMedia(UploadError):
    code, status_code = "upload.unsupported_media_type", 415


class UploadTooLarge(UploadError):
    code, status_code = "upload.too_large", 413


class UploadNotFound(UploadError):
    code, status_code = "upload.not_found", 404


class UploadGone(UploadError):
    code, status_code = "upload.gone", 410


class OffsetMismatch(UploadError):
    code, status_code = "upload.offset_mismatch", 409


class UploadLocked(UploadError):
    code, status_code = "upload.locked", 423


class ChecksumMismatch(UploadError):
    code, status_code = "upload.checksum_mismatch", 460


class BodyInterrupted(Exception):
    """Raised by the HTTP layer's body stream when the client went away mid-body; the
    bytes that did arrive are kept (unless the body was checksummed), as tus expects."""
