"""Resumable uploads (tus 1.0.0) at ``/api/v1/uploads``, and attachment stubs that name the
uploaded bytes by their SHA-256.

Wiring (the composition root): ``uploads = Uploads(field)``; give the store
``UploadedStubResolver(uploads)`` as its stub resolver; mount :class:`UploadsController`;
put ``upload_janitor(uploads)`` in the app's lifespan; pass ``uploads.protected_blobs()`` as
``extra_referenced`` when compacting.
"""

from .errors import UploadError
from .janitor import upload_janitor
from .service import ExpiryReport, Upload, Uploads, UploadSettings
from .stubs import StubResolver, UploadedStubResolver, sha256_digest
from .tus_api import UploadsController

__all__ = [
    "ExpiryReport",
    "StubResolver",
    "Upload",
    "UploadError",
    "UploadSettings",
    "UploadedStubResolver",
    "Uploads",
    "UploadsController",
    "sha256_digest",
    "upload_janitor",
]
