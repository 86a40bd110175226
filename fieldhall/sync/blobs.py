"""Content-addressed attachment bytes: ``<root>/sha256/ab/cd/<hex digest>``.

Attachment bytes never live in the hot document rows. A blob is written to a temporary
file, fsynced, renamed into place and its directory fsynced *before* the row that refers to it
commits: after a crash a committed row always finds its bytes; the opposite case (bytes with
no row) is garbage that compaction removes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

__all__ = ["GC_GRACE_SECONDS", "BlobInfo", "BlobStore", "BlobWriter", "PendingBlobs"]

_CHUNK = 1 << 20
_STALE_INCOMING_SECONDS = 24 * 3600
_OPEN_FILES = 64  # put_many keeps at most this many files open at once
_SYNC_THREADS = 16
_WRITE_THREADS = 4  # batches whose files are written at once; more wait their turn
# A write's bytes reach the store before its row commits; no write waits this long.
GC_GRACE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What CouchDB reports of stored bytes, plus our content address."""

    sha256: str  # hex
    md5_digest: str  # "md5-<base64>", CouchDB's attachment digest
    length: int


@dataclass(slots=True)
class PendingBlobs:
    """Blobs being written, synced and placed at their address in the background."""

    infos: list[BlobInfo]
    _written: Future[None] | None = None
    # The bytes by sha256, for whoever must look at them before they can be read back.
    _contents: dict[str, bytes] = field(default_factory=dict)

    def bytes_of(self, sha256: str) -> bytes | None:
        return self._contents.get(sha256)

    def wait_durable(self) -> None:
        """Return once every blob is durable; re-raises the failure (then nothing that refers
        to these blobs may commit)."""
        written, self._written = self._written, None
        try:
            if written is not None:
                written.result()
        finally:
            self._contents = {}


class BlobWriter:
    """Streams bytes into the store; :meth:`commit` makes them durable and addressable."""

    def __init__(self, store: BlobStore, known: BlobInfo | None = None) -> None:
        """``known``: the digests of the bytes to come, computed already (not again here)."""
        self._store = store
        self._known = known
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5()
        self._length = 0
        fd, name = tempfile.mkstemp(prefix=".incoming-", dir=store.tmp_dir)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._tmp = Path(name)
        self._done = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._known is None:
            self._sha.update(data)
            self._md5.update(data)
        self._length += len(data)
        self._file.write(data)

    def commit(self) -> BlobInfo:
        self._sync_file()
        info, target = self._place()
        if self._store.fsync:
            for directory in _entry_dirs(target):
                _fsync_dir(directory)
        return info

    def _sync_file(self) -> None:
        self._file.flush()
        if self._store.fsync:
            os.fsync(self._file.fileno())
        self._file.close()

    def _place(self) -> tuple[BlobInfo, Path]:
        """Renames the (synced, closed) file to its address; its directory entries are not
        durable yet."""
        info = self._known or _blob_info(self._sha, self._md5, self._length)
        if info.length != self._length:
            raise ValueError(f"{self._length} bytes written, {info.length} announced")
        target = self._store.path_of(info.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            self._tmp.unlink()
            # Reused bytes count as new for the garbage collector's grace period.
            os.utime(target)
        else:
            os.replace(self._tmp, target)
        self._done = True
        return info, target

    def abort(self) -> None:
        if not self._done:
            self._file.close()  # a no-op when already closed
            self._tmp.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class BlobStore:
    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.tmp_dir = self.root / "tmp"
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put(self, data: bytes) -> BlobInfo:
        with self.writer() as writer:
            writer.write(data)
            return writer.commit()

    def put_many(self, items: Sequence[bytes]) -> list[BlobInfo]:
        """:meth:`put` for several blobs at once, as durable when it returns, with one fsync
        per file and one per directory for the lot: every file is written before the first
        is synced (the file system flushes them together), and a directory shared by several
        blobs is synced once, after all of them are renamed into it."""
        pending = self.start_put_many(items)
        pending.wait_durable()
        return pending.infos

    def start_put_many(self, items: Sequence[bytes]) -> PendingBlobs:
        """:meth:`put_many`, returning at once with every blob's address (its digests, computed
        here) while a background thread writes, syncs and renames the files into place and
        syncs their directories. Until :meth:`PendingBlobs.wait_durable` returns, the blobs may
        not be read yet and nothing that refers to them may commit; meanwhile the caller works
        (on the CPU) while the disk and the kernel do theirs: creating and syncing files costs
        little CPU in this process but much time."""
        if not items:
            return PendingBlobs([])
        infos = [_info_of(data) for data in items]
        written = _writers().submit(self._put_now, items, infos)
        return PendingBlobs(
            infos, written, {info.sha256: data for info, data in zip(infos, items, strict=True)}
        )

    def _put_now(self, items: Sequence[bytes], infos: Sequence[BlobInfo]) -> None:
        """Write, sync and place ``items`` (whose digests are ``infos``), then sync their
        directories: durable on return."""
        placed: list[tuple[BlobInfo, Path]] = []
        for start in range(0, len(items), _OPEN_FILES):
            writers: list[BlobWriter] = []
            try:
                for data, info in zip(
                    items[start : start + _OPEN_FILES],
                    infos[start : start + _OPEN_FILES],
                    strict=True,
                ):
                    writer = BlobWriter(self, info)
                    writers.append(writer)
                    writer.write(data)
                    writer._file.flush()
                _each(BlobWriter._sync_file, writers)
                placed += [writer._place() for writer in writers]
            finally:
                for writer in writers:
                    writer.abort()
        if self.fsync and placed:
            directories = {d: None for _, target in placed for d in _entry_dirs(target)}
            _each(_fsync_dir, list(directories))

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()

    def open(self, sha256: str) -> BinaryIO:
        return self.path_of(sha256).open("rb")

    def iter_chunks(self, sha256: str, chunk_size: int = _CHUNK) -> Iterator[bytes]:
        with self.open(sha256) as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def all_digests(self) -> Iterator[str]:
        for path in (self.root / "sha256").glob("*/*/*"):
            if path.is_file():
                yield path.name

    def candidates_for_removal(self, grace_seconds: float = GC_GRACE_SECONDS) -> list[str]:
        """Blobs old enough to be collected if nothing refers to them.

        List these *before* reading which blobs are referenced: a write stores its bytes
        before its row commits (it may wait a while for the database's write lock), so a blob
        younger than the grace period may belong to a write still in flight.
        """
        cutoff = time.time() - grace_seconds
        found = []
        for path in (self.root / "sha256").glob("*/*/*"):
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    found.append(path.name)
        return found

    def remove_unreferenced(self, candidates: Iterable[str], referenced: Iterable[str]) -> int:
        """Delete the ``candidates`` not in ``referenced``; returns how many were removed."""
        keep = set(referenced)
        removed = 0
        for digest in candidates:
            if digest not in keep:
                self.path_of(digest).unlink(missing_ok=True)
                removed += 1
        # Incoming files of writes still in progress are young; leftovers of a crash are old.
        cutoff = time.time() - _STALE_INCOMING_SECONDS
        for stale in self.tmp_dir.glob(".incoming-*"):
            with contextlib.suppress(FileNotFoundError):
                if stale.stat().st_mtime < cutoff:
                    stale.unlink()
        return removed


_T = TypeVar("_T")
_syncers: ThreadPoolExecutor | None = None
_batch_writers: ThreadPoolExecutor | None = None
_pools_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """The threads that issue fsyncs together (see :func:`_each`)."""
    global _syncers
    with _pools_lock:
        if _syncers is None:
            _syncers = ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="blob-fsync")
        return _syncers


def _writers() -> ThreadPoolExecutor:
    """The threads that write a batch's blobs; apart from :func:`_pool`, whose threads they
    wait for, so that they can never hold every thread of the pool they wait on."""
    global _batch_writers
    with _pools_lock:
        if _batch_writers is None:
            _batch_writers = ThreadPoolExecutor(_WRITE_THREADS, thread_name_prefix="blob-write")
        return _batch_writers


def _info_of(data: bytes) -> BlobInfo:
    return _blob_info(hashlib.sha256(data), hashlib.md5(data), len(data))


def _blob_info(sha256: Any, md5: Any, length: int) -> BlobInfo:
    """From the two running hashes of the bytes (hashlib objects) and their length."""
    return BlobInfo(
        sha256=sha256.hexdigest(),
        md5_digest="md5-" + base64.b64encode(md5.digest()).decode("ascii"),
        length=length,
    )


def _each(action: Callable[[_T], object], items: Sequence[_T]) -> None:
    """``action`` on every item, from a few threads at once when there are several: fsyncs
    issued together are flushed together (one journal commit, one cache flush for the lot on
    ext4 and XFS) where one after another each waits for its own."""
    if len(items) <= 1:
        for item in items:
            action(item)
        return
    for _ in _pool().map(action, items):  # re-raises the first failure
        pass


def _entry_dirs(target: Path) -> tuple[Path, Path, Path]:
    """The directories whose entries lead to a blob: whoever renamed the file or made its
    directories (this writer or a concurrent one), they are durable before the row that refers
    to the blob commits."""
    return target.parent, target.parent.parent, target.parent.parent.parent


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
