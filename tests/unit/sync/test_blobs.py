"""The blob store's batch write: every blob durable and addressable, the fsyncs shared."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from fieldhall.sync import blobs
from fieldhall.sync.blobs import BlobStore


def test_put_many_stores_each_blob_at_its_address_as_put_does(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    items = [f"photo {i}".encode() * (i + 1) for i in range(150)]  # more than are held open
    items.append(items[3])  # the same bytes twice in one batch
    infos = store.put_many(items)
    assert [info.sha256 for info in infos] == [hashlib.sha256(b).hexdigest() for b in items]
    assert [info.length for info in infos] == [len(b) for b in items]
    assert all(store.read(info.sha256) == data for info, data in zip(infos, items, strict=True))
    alone = BlobStore(tmp_path / "other").put(items[7])
    assert infos[7] == alone
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []  # no temporary file left
    assert store.put_many([]) == []


def test_put_many_syncs_every_file_and_each_directory_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BlobStore(tmp_path / "blobs")
    synced_dirs: list[Path] = []
    synced_files: list[int] = []
    monkeypatch.setattr(blobs, "_fsync_dir", synced_dirs.append)
    real_fsync = blobs.os.fsync
    monkeypatch.setattr(blobs.os, "fsync", lambda fd: (synced_files.append(fd), real_fsync(fd)))
    infos = store.put_many([b"a", b"b", b"c", b"a"])
    assert len(synced_files) == 4  # each file before it is renamed into place
    expected = {
        d
        for info in infos
        for d in (
            store.path_of(info.sha256).parent,
            store.path_of(info.sha256).parent.parent,
            tmp_path / "blobs" / "sha256",
        )
    }
    assert sorted(synced_dirs) == sorted(expected)  # once each, after every rename


def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BlobStore(tmp_path / "blobs")

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(blobs.os, "fsync", broken)
    with pytest.raises(OSError):
        store.put_many([b"x", b"y"])
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []
    assert not store.exists(hashlib.sha256(b"x").hexdigest())
