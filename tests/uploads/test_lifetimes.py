"""Expiration and compaction: unfinished uploads are cleaned with their bytes, finished ones
stay protected from compaction until they expire, and only the uploading device's record
lets a stub name the bytes. On the domain directly (no HTTP)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.uploads import Uploads, UploadSettings
from fieldhall.field_app_api.uploads.errors import BadUploadRequest, UploadGone
from fieldhall.field_app_api.uploads.protocol import parse_checksum, parse_metadata
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_field


@pytest.fixture
def uploads(tmp_path: Path) -> Uploads:
    service = open_field(Settings.from_env(data_dir=tmp_path / "data"))
    return Uploads(service, UploadSettings(incomplete_ttl=timedelta(hours=1)))


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _send(uploads: Uploads, device: str, data: bytes) -> str:
    upload = uploads.create(device, len(data))
    done = asyncio.run(uploads.receive(upload, 0, _chunks(data[:3], data[3:])))
    assert done.complete and done.sha256 is not None
    return done.sha256


def test_unfinished_uploads_expire_with_their_bytes(uploads: Uploads) -> None:
    upload = uploads.create("device-b", 10)
    asyncio.run(uploads.receive(upload, 0, _chunks(b"abc")))
    assert uploads.parts.size(upload.upload_id) == 3
    assert uploads.expire().uploads == 0
    later = now() + timedelta(hours=2)
    report = uploads.expire(later)
    assert report.uploads == 1
    assert uploads.parts.size(upload.upload_id) is None
    with pytest.raises(Exception, match="no upload"):
        uploads.find("device-b", upload.upload_id)


def test_expired_upload_is_gone_before_it_is_cleaned(uploads: Uploads) -> None:
    short = Uploads(uploads.service, UploadSettings(incomplete_ttl=timedelta(seconds=-1)))
    upload = short.create("device-b", 10)
    with pytest.raises(UploadGone):
        short.find("device-b", upload.upload_id)


def test_finished_uploads_are_protected_from_compaction_until_they_expire(
    uploads: Uploads,
) -> None:
    sha256 = _send(uploads, "device-b", b"signed original bytes")
    store = uploads.service.store
    assert sha256 in uploads.protected_blobs()
    removed = store.collect_garbage(uploads.protected_blobs(), grace_seconds=0)
    assert removed == 0 and store.blobs.exists(sha256)
    later = now() + timedelta(days=30)
    assert uploads.expire(later).uploaded_blobs == 1
    assert sha256 not in uploads.protected_blobs(later)
    store.collect_garbage(uploads.protected_blobs(later), grace_seconds=0)
    assert not store.blobs.exists(sha256)


def test_the_record_names_only_the_uploading_device(uploads: Uploads) -> None:
    sha256 = _send(uploads, "device-b", b"bob's photo")
    record = uploads.uploaded_blob("device-b", sha256)
    assert record is not None and record.length == len(b"bob's photo")
    assert record.md5_digest.startswith("md5-")
    assert uploads.uploaded_blob("device-c", sha256) is None


def test_orphan_part_files_are_cleaned(uploads: Uploads) -> None:
    orphan = uploads.parts.root / ("f" * 32 + ".part")
    orphan.write_bytes(b"left by a crash")
    assert uploads.expire().orphan_parts == 0  # young: may be a create in flight
    os.utime(orphan, (0, 0))
    assert uploads.expire().orphan_parts == 1
    assert not orphan.exists()


def test_header_parsing() -> None:
    assert parse_metadata("filename aGk=,is_confidential") == {
        "filename": "aGk=",
        "is_confidential": None,
    }
    for bad in ("a b c", "k !!!", "k aGk=,k aGk="):
        with pytest.raises(BadUploadRequest):
            parse_metadata(bad)
    assert parse_checksum(None) is None
    with pytest.raises(BadUploadRequest):
        parse_checksum("sha256 AAAA")  # not 32 bytes
    with pytest.raises(BadUploadRequest):
        parse_checksum("md5 AAAAAAAAAAAAAAAAAAAAAA==")
