"""The bytes of unfinished uploads: one file per upload under the blob store's tmp area.

A part file's size *is* the upload's offset: bytes are appended, fsynced before the offset is
reported to the client, and cut back when a checksummed body turns out wrong. One writer at a
time holds an exclusive ``flock`` on the file — across the server's processes, so two PATCHes
of one upload never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import UploadLocked, UploadNotFound

__all__ = ["PartStore", "PartWriter", "is_upload_id"]

_ID = re.compile(r"[0-9a-f]{32}")
_SUFFIX = ".part"
_POLL_SECONDS = 0.02
_START_WRITEBACK = os.POSIX_FADV_DONTNEED if sys.platform == "linux" else None
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") else 16


def is_upload_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


class PartWriter:
    """Appends to one part file while holding its lock; :meth:`close` releases it."""

    def __init__(self, fd: int, fsync: bool) -> None:
        self._fd = fd
        self._fsync = fsync
        self.offset = os.lseek(fd, 0, os.SEEK_END)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.offset += len(data)

    def write_all(self, chunks: list[bytes]) -> None:
        """Append ``chunks`` in order, with as few system calls as the kernel allows."""
        start = self.offset
        pending = [memoryview(chunk) for chunk in chunks if chunk]
        while pending:
            written = os.writev(self._fd, pending[:_IOV_MAX])
            self.offset += written
            while pending and written >= len(pending[0]):
                written -= len(pending[0])
                pending.pop(0)
            if written:
                pending[0] = pending[0][written:]
        if self._fsync and _START_WRITEBACK is not None and self.offset > start:
            # Linux starts writing these (still dirty, so not dropped) pages back without
            # waiting: they reach the disk while the next batch arrives, and the fsync before
            # the offset is reported finds little left to do. Durability is still the fsync's.
            os.posix_fadvise(self._fd, start, self.offset - start, _START_WRITEBACK)

    def rollback(self, offset: int) -> None:
        """Forget everything after ``offset`` (a body that failed its checksum)."""
        os.ftruncate(self._fd, offset)
        os.lseek(self._fd, offset, os.SEEK_SET)
        self.offset = offset

    def sync(self) -> None:
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


class PartStore:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        root.mkdir(parents=True, exist_ok=True)

    def path(self, upload_id: str) -> Path:
        if not is_upload_id(upload_id):
            raise UploadNotFound(f"no upload {upload_id!r}")
        return self.root / f"{upload_id}{_SUFFIX}"

    def create(self, upload_id: str) -> None:
        fd = os.open(self.path(upload_id), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        if self.fsync:
            _fsync_dir(self.root)

    def size(self, upload_id: str) -> int | None:
        try:
            return self.path(upload_id).stat().st_size
        except FileNotFoundError:
            return None

    def remove(self, upload_id: str) -> None:
        self.path(upload_id).unlink(missing_ok=True)

    def ids(self) -> Iterator[tuple[str, float]]:
        """Every part file's upload id and modification time (for cleaning orphans)."""
        for path in self.root.glob(f"*{_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                yield path.name.removesuffix(_SUFFIX), path.stat().st_mtime

    def open_locked(self, upload_id: str, wait_seconds: float) -> PartWriter:
        """The part file, locked for appending; :class:`UploadLocked` if another request
        still holds it after ``wait_seconds`` (e.g. a PATCH whose client vanished and whose
        disconnect the server has not seen yet)."""
        try:
            fd = os.open(self.path(upload_id), os.O_RDWR)
        except FileNotFoundError:
            raise UploadNotFound(f"no data file for upload {upload_id}") from None
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return PartWriter(fd, self.fsync)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise UploadLocked(f"upload {upload_id} is being written") from None
                time.sleep(_POLL_SECONDS)

    def read_chunks(self, upload_id: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        with self.path(upload_id).open("rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
