from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fieldhall.server.photos import DerivativeJob, DerivativeStore
from fieldhall.sync.blobs import BlobStore

from .pictures import encoded, gps_exif, pattern, stored_as


@pytest.fixture
def store(tmp_path: Path) -> DerivativeStore:
    return DerivativeStore(tmp_path / "derivatives")


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    """Where the signed originals live, as in the hall."""
    return BlobStore(tmp_path / "blobs")


def job_for(blobs: BlobStore, data: bytes, content_type: str = "image/jpeg") -> DerivativeJob:
    info = blobs.put(data)
    return DerivativeJob(info.sha256, content_type, lambda: blobs.read(info.sha256))


def camera_photo(orientation: int = 6, seed: int = 0) -> bytes:
    """A small JPEG with GPS and an orientation, as a phone writes it."""
    shown = pattern(300 + seed, 200)
    return encoded(stored_as(shown, orientation), "JPEG", exif=gps_exif(orientation), quality=90)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
