"""The blob store's batch write: every blob durable and addressable, the fsyncs shared, and
the directory syncs overlapping the caller's work but always done before a row commits."""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path

import pytest

from fieldhall.sync import blobs
from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.store import Store


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


def test_started_blobs_are_addressed_at_once_and_durable_after_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``start_put_many`` returns with every blob's address and its bytes at hand while the
    files are written and their directories synced in the background; ``wait_durable``
    returns only once every one is, and then they read back."""
    store = BlobStore(tmp_path / "blobs")
    release = threading.Event()
    synced: list[Path] = []

    def slow_sync(path: Path) -> None:
        release.wait(10)
        synced.append(path)

    monkeypatch.setattr(blobs, "_fsync_dir", slow_sync)
    pending = store.start_put_many([b"one", b"two"])
    assert [info.sha256 for info in pending.infos] == [
        hashlib.sha256(b"one").hexdigest(),
        hashlib.sha256(b"two").hexdigest(),
    ]
    assert [info.length for info in pending.infos] == [3, 3]
    assert pending.bytes_of(pending.infos[1].sha256) == b"two"
    assert synced == []  # still syncing
    waiter = threading.Thread(target=pending.wait_durable)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # the wait waits for the syncs
    release.set()
    waiter.join(10)
    assert not waiter.is_alive()
    assert len(synced) == len(
        {d for i in pending.infos for d in blobs._entry_dirs(store.path_of(i.sha256))}
    )
    assert [store.read(info.sha256) for info in pending.infos] == [b"one", b"two"]
    assert pending.bytes_of(pending.infos[0].sha256) is None  # not kept once durable
    same = store.put(b"one")
    assert same == pending.infos[0]  # the digests made up front are the writer's


def test_a_failed_directory_sync_fails_the_write_and_stores_no_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory syncs run while the policy checks the batch; one that fails is raised
    before the transaction begins, so no row refers to bytes that may not survive."""
    store = Store(
        Database(create_store_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")),
        BlobStore(tmp_path / "blobs"),
    )
    store.create_database("db")

    def broken(path: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(blobs, "_fsync_dir", broken)
    doc = parse_incoming(
        {
            "_id": "a",
            "_attachments": {
                "f": {"content_type": "text/plain", "data": base64.b64encode(b"hi").decode()}
            },
        },
        new_edits=True,
    )
    with pytest.raises(OSError, match="Input/output"):
        store.bulk_docs("db", [doc])
    assert store.info("db").doc_count == 0


class _Looking:
    """A preparing policy that records what it was shown of each attachment, and whether the
    blob store could already give the bytes back."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: list[tuple[bytes | None, bool]] = []

    def prepare_write(self, principal: object, database: str, new_doc: dict[str, object]) -> None:
        for att in (new_doc.get("_attachments") or {}).values():  # type: ignore[attr-defined]
            self.seen.append((att.get("data"), self.store.blobs.exists(att["sha256"])))

    def check_write(self, *args: object) -> None:
        return None

    def after_write(self, *args: object) -> None:
        return None


def test_the_policy_sees_the_bytes_while_the_blob_store_is_still_writing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks run while the blobs are written: the bytes come with the preview, and the
    transaction begins only once they are durable."""
    store = Store(
        Database(create_store_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")),
        BlobStore(tmp_path / "blobs"),
    )
    store.create_database("db")
    looking = _Looking(store)
    store.write_policy = looking  # type: ignore[assignment]
    release = threading.Event()
    put_now = BlobStore._put_now

    def slow_put(self: BlobStore, *args: object) -> None:
        assert release.wait(10)
        put_now(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(BlobStore, "_put_now", slow_put)
    real_prepare = looking.prepare_write

    def prepare_then_release(*args: object) -> None:
        real_prepare(*args)  # type: ignore[arg-type]
        release.set()

    looking.prepare_write = prepare_then_release  # type: ignore[method-assign]
    doc = parse_incoming(
        {"_id": "a", "_attachments": {"f": {"content_type": "text/plain", "data": "aGk="}}},
        new_edits=True,
    )
    [result] = store.bulk_docs("db", [doc])
    assert result.error is None
    assert looking.seen == [(b"hi", False)]  # the bytes in hand, not yet in the store
    assert store.blobs.read(hashlib.sha256(b"hi").hexdigest()) == b"hi"


def test_when_the_checks_and_the_blob_sync_both_fail_the_checks_failure_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(
        Database(create_store_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")),
        BlobStore(tmp_path / "blobs"),
    )
    store.create_database("db")
    failing = _Looking(store)

    def broken_check(*args: object) -> None:
        raise RuntimeError("the policy's checks failed")

    failing.prepare_write = broken_check  # type: ignore[method-assign]
    store.write_policy = failing  # type: ignore[assignment]

    def broken_sync(path: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(blobs, "_fsync_dir", broken_sync)
    doc = parse_incoming(
        {"_id": "a", "_attachments": {"f": {"content_type": "text/plain", "data": "aGk="}}},
        new_edits=True,
    )
    with pytest.raises(RuntimeError, match="checks failed"):
        store.bulk_docs("db", [doc])
    assert store.info("db").doc_count == 0
