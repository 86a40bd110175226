"""How a finished upload reaches the blob store: hard-linked from its part file (no second
write), hashed on the way in or read back when it came in several requests, copied where the
filesystem cannot link; a wrong checksum or an overlong body leaves nothing behind."""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fieldhall.field_app_api.uploads import Uploads
from fieldhall.field_app_api.uploads import service as service_module
from fieldhall.field_app_api.uploads.errors import BadUploadRequest, ChecksumMismatch
from fieldhall.field_app_api.uploads.protocol import parse_checksum
from fieldhall.field_app_api.uploads.tables import UploadedBlob
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_field

DATA = os.urandom(3 * 1024 * 1024 + 12345)  # several write batches and a ragged end


@pytest.fixture
def uploads(tmp_path: Path) -> Uploads:
    return Uploads(open_field(Settings.from_env(data_dir=tmp_path / "data")))


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _sha256_checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _stored(uploads: Uploads, data: bytes) -> UploadedBlob:
    sha = hashlib.sha256(data).hexdigest()
    assert uploads.blobs.read(sha) == data
    record = uploads.uploaded_blob("bob", sha)
    assert record is not None
    md5 = "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()
    assert (record.length, record.md5_digest) == (len(data), md5)
    assert list(uploads.parts.ids()) == []  # the part file is gone
    return record


def test_one_request_with_a_checksum_is_linked_not_copied(uploads: Uploads) -> None:
    upload = uploads.create("bob", len(DATA))
    part = uploads.parts.path(upload.upload_id)
    inode = None

    real_link = os.link

    def link(source: object, target: object) -> None:
        nonlocal inode
        inode = os.stat(str(source)).st_ino
        real_link(str(source), str(target))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service_module.os, "link", link)
        done = asyncio.run(
            uploads.receive(upload, 0, _chunks(DATA), parse_checksum(_sha256_checksum(DATA)))
        )
    assert done.complete and done.sha256 == hashlib.sha256(DATA).hexdigest()
    _stored(uploads, DATA)
    assert inode is not None and uploads.blobs.path_of(done.sha256).stat().st_ino == inode
    assert not part.exists()


def test_an_upload_in_several_requests_is_read_back_to_hash(uploads: Uploads) -> None:
    upload = uploads.create("bob", len(DATA))
    half = len(DATA) // 2
    upload = asyncio.run(uploads.receive(upload, 0, _chunks(DATA[:half])))
    assert (upload.offset, upload.complete) == (half, False)
    done = asyncio.run(uploads.receive(upload, half, _chunks(DATA[half:])))
    assert done.complete
    _stored(uploads, DATA)


def test_bytes_are_copied_where_the_filesystem_cannot_link(uploads: Uploads) -> None:
    def refuse(source: object, target: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    upload = uploads.create("bob", len(DATA))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service_module.os, "link", refuse)
        done = asyncio.run(uploads.receive(upload, 0, _chunks(DATA)))
    assert done.complete
    _stored(uploads, DATA)


def test_the_same_bytes_uploaded_twice_keep_one_blob(uploads: Uploads) -> None:
    inodes = []
    for _ in range(2):
        upload = uploads.create("bob", len(DATA))
        assert asyncio.run(uploads.receive(upload, 0, _chunks(DATA))).complete
        inodes.append(uploads.blobs.path_of(hashlib.sha256(DATA).hexdigest()).stat().st_ino)
    _stored(uploads, DATA)
    assert inodes[0] == inodes[1]  # the second upload found the blob: not replaced
    stored = [p for p in (uploads.blobs.root / "sha256").rglob("*") if p.is_file()]
    assert len(stored) == 1


def test_a_wrong_checksum_or_an_overlong_body_leaves_nothing(uploads: Uploads) -> None:
    upload = uploads.create("bob", len(DATA))
    wrong = parse_checksum(_sha256_checksum(DATA[:-1] + b"x"))
    with pytest.raises(ChecksumMismatch):
        asyncio.run(uploads.receive(upload, 0, _chunks(DATA), wrong))
    assert uploads.parts.size(upload.upload_id) == 0
    short = uploads.create("bob", len(DATA) - 1)
    with pytest.raises(BadUploadRequest):
        asyncio.run(uploads.receive(short, 0, _chunks(DATA)))
    assert uploads.parts.size(short.upload_id) == 0
    assert not uploads.blobs.exists(hashlib.sha256(DATA).hexdigest())
    # A sha1 checksum is checked by its own hasher.
    sha1 = "sha1 " + base64.b64encode(hashlib.sha1(DATA).digest()).decode()
    done = asyncio.run(uploads.receive(upload, 0, _chunks(DATA), parse_checksum(sha1)))
    assert done.complete
    uploads.terminate("bob", short.upload_id)
    _stored(uploads, DATA)
