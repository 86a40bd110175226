"""Resumable uploads as the domain sees them: create, receive bytes at an offset, finish into
the blob store, terminate, expire.

An upload's bytes accumulate in a part file (:mod:`.parts`); when the last byte arrives they
are streamed into the content-addressed blob store (hashed, fsynced) and the device is
recorded as having uploaded that SHA-256 (``field_uploaded_blob``). Only then may the same
device name the bytes in a document by an attachment stub (:mod:`.stubs`), and until the
record expires compaction spares the blob (:meth:`Uploads.protected_blobs`).

Order of writes, for crashes: a part file exists before its row; the blob is durable before
the row says "completed"; the part file goes last. A crash in between leaves an upload whose
offset equals its length but is not completed — the next request on it finishes it.

Throughput (``bench/uploads_bench.py``: tus against a plain attachment ``PUT`` of the same
bytes): a finished part file is *hard-linked* into the blob store rather than copied — its
bytes were fsynced when they arrived, so finishing costs a link and three directory fsyncs,
not a second write and fsync of the whole file. The sha256 and md5 the store needs are
computed while the bytes arrive, on the worker thread that writes each 1 MiB batch (hashlib
releases the GIL, so the event loop keeps receiving meanwhile); only an upload sent in several
requests is read back once to hash it. Each batch's writeback to disk is started as soon as it
is written (:meth:`.parts.PartWriter.write_all`), so the fsync before the 204 waits for the
last batch only, not for the whole file (~12 ms of 20 MB). Where the filesystem cannot link,
the bytes are copied.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio.to_thread
from sqlalchemy import delete
from sqlmodel import SQLModel, col, select

from fieldhall.sync.blobs import BlobInfo, BlobStore

from ..clock import now
from ..service import FieldService
from .errors import (
    BadUploadRequest,
    BodyInterrupted,
    ChecksumMismatch,
    OffsetMismatch,
    UploadGone,
    UploadNotFound,
    UploadTooLarge,
)
from .parts import PartStore, PartWriter, is_upload_id
from .protocol import Checksum
from .tables import UploadedBlob, UploadResource

__all__ = ["ExpiryReport", "Upload", "UploadSettings", "Uploads"]

# Bytes gathered from the request before one write to the part file (one thread hop).
_WRITE_BATCH = 1 << 20
_WRITE_THREADS = 4
# A part file without its row is a create that crashed (or is in flight): spared this long.
_ORPHAN_GRACE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class UploadSettings:
    max_size: int = 512 * 1024 * 1024  # Tus-Max-Size
    incomplete_ttl: timedelta = timedelta(hours=24)  # an unfinished upload is cleaned after
    completed_ttl: timedelta = timedelta(days=7)  # a finished one may be referenced until
    lock_wait_seconds: float = 5.0  # how long a request waits for another one on the upload


@dataclass(frozen=True, slots=True)
class Upload:
    upload_id: str
    device_id: str
    length: int
    offset: int
    metadata_header: str
    expires_at: datetime
    sha256: str | None  # set once complete

    @property
    def complete(self) -> bool:
        return self.sha256 is not None


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    uploads: int  # expired upload resources removed (finished or not)
    uploaded_blobs: int  # expired device→bytes records removed (their blobs now collectable)
    orphan_parts: int  # part files without an upload removed


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive values; we only ever store UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _view(row: UploadResource, offset: int) -> Upload:
    return Upload(
        row.id,
        row.device_id,
        row.length,
        offset,
        row.metadata_header,
        _utc(row.expires_at),
        row.sha256,
    )


class Uploads:
    def __init__(self, service: FieldService, settings: UploadSettings | None = None) -> None:
        self.service = service
        self.settings = settings or UploadSettings()
        self.blobs = service.store.blobs
        self.parts = PartStore(self.blobs.tmp_dir / "uploads", fsync=self.blobs.fsync)
        # Part-file writes, one batch in flight per request (see ``_append``).
        self._writes = ThreadPoolExecutor(_WRITE_THREADS, thread_name_prefix="upload-writes")
        tables = [UploadResource.__table__, UploadedBlob.__table__]  # type: ignore[attr-defined]
        SQLModel.metadata.create_all(service.engine, tables=tables)

    # ------------------------------------------------------------------ resources

    def create(self, device_id: str, length: int, metadata_header: str = "") -> Upload:
        if length > self.settings.max_size:
            raise UploadTooLarge(f"Upload-Length {length} exceeds {self.settings.max_size}")
        upload_id = secrets.token_hex(16)
        self.parts.create(upload_id)  # the file first: a row always finds its file
        created = now()
        row = UploadResource(
            id=upload_id,
            device_id=device_id,
            length=length,
            metadata_header=metadata_header,
            created_at=created,
            expires_at=created + self.settings.incomplete_ttl,
        )
        with self.service.session() as session:
            session.add(row)
            session.commit()
        if length == 0:
            return self.finish(upload_id)
        return _view(row, 0)

    def _row(self, upload_id: str) -> UploadResource | None:
        if not is_upload_id(upload_id):
            return None
        with self.service.read_session() as session:
            return session.get(UploadResource, upload_id)

    def find(self, device_id: str, upload_id: str, *, allow_expired: bool = False) -> Upload:
        """The device's upload; another device's answers exactly as a missing one."""
        row = self._row(upload_id)
        if row is None or row.device_id != device_id:
            raise UploadNotFound(f"no upload {upload_id}")
        if not allow_expired and _utc(row.expires_at) <= now():
            raise UploadGone(f"upload {upload_id} has expired")
        if row.sha256 is not None:
            return _view(row, row.length)
        size = self.parts.size(upload_id)
        if size is None:
            raise UploadGone(f"the bytes of upload {upload_id} are gone")
        if size == row.length:
            # Every byte arrived but a crash came before the upload was finished.
            return self.finish(upload_id)
        return _view(row, size)

    # ------------------------------------------------------------------ bytes

    async def receive(
        self,
        upload: Upload,
        offset: int,
        body: AsyncIterator[bytes],
        checksum: Checksum | None = None,
        declared_length: int | None = None,
    ) -> Upload:
        """Append ``body`` at ``offset`` (which must be the upload's offset).

        With a ``checksum`` the body is all or nothing: a mismatch or an interrupted body
        leaves the offset where it was. Without one, whatever arrived before an interruption
        is kept (and :class:`BodyInterrupted` re-raised).
        """
        if offset != upload.offset:
            raise OffsetMismatch(f"Upload-Offset {offset} is not the upload's {upload.offset}")
        if declared_length is not None and offset + declared_length > upload.length:
            raise BadUploadRequest("the body would go beyond Upload-Length")
        if upload.complete:
            return upload
        writer = await anyio.to_thread.run_sync(
            self.parts.open_locked, upload.upload_id, self.settings.lock_wait_seconds
        )
        # From offset 0 this request may carry every byte: hash them as they arrive.
        content = _ContentHashes() if writer.offset == 0 else None
        try:
            if writer.offset != offset:
                raise OffsetMismatch(f"Upload-Offset {offset} is not the upload's {writer.offset}")
            await self._append(writer, upload.length, body, checksum, content)
            reached = writer.offset
            if reached == upload.length:
                # Still holding the part's lock: finish in the same thread hop.
                return await anyio.to_thread.run_sync(
                    self._finish_locked, writer, upload.upload_id, content, upload
                )
        finally:
            writer.close()
        return replace(upload, offset=reached)

    async def _append(
        self,
        writer: PartWriter,
        length: int,
        body: AsyncIterator[bytes],
        checksum: Checksum | None,
        content: _ContentHashes | None = None,
    ) -> None:
        start = writer.offset
        # From offset 0, a sha256 checksum of the body is the content's own sha256: one pass.
        shared = content is not None and checksum is not None and checksum.algorithm == "sha256"
        hasher = checksum.hasher() if checksum is not None and not shared else None
        hashers = [h for h in (hasher, content) if h is not None]

        def write(chunks: list[bytes], sync: bool = False) -> None:
            # On a worker thread: hashing and writing leave the event loop free.
            for each in hashers:
                for chunk in chunks:
                    each.update(chunk)
            writer.write_all(chunks)
            if sync:  # the last batch: durable before the offset is reported
                writer.sync()

        # The body's chunks are handed over as they came (no copying into one buffer), a
        # batch of ~1 MiB at a time, written while the next is received: awaiting each write
        # before reading on would stall the socket (uvicorn stops reading at 64 KiB
        # buffered) for as long as the write takes, and the client's sending with it.
        loop = asyncio.get_running_loop()
        writing: Future[None] | None = None
        received = start  # the writer's offset lags while a batch is in flight
        batch: list[bytes] = []
        batched = 0
        try:
            async for chunk in body:
                received += len(chunk)
                if received > length:
                    raise BadUploadRequest("the body goes beyond Upload-Length")
                batch.append(chunk)
                batched += len(chunk)
                if batched >= _WRITE_BATCH:
                    if writing is not None:
                        await asyncio.wrap_future(writing, loop=loop)
                    writing = self._writes.submit(write, batch)
                    batch, batched = [], 0
            if writing is not None:
                await asyncio.wrap_future(writing, loop=loop)
                writing = None
            await anyio.to_thread.run_sync(write, batch, True)
        except BodyInterrupted:
            if not _settle(writing) or checksum is not None:
                writer.rollback(start)  # half a checksummed body cannot be verified
            else:
                await anyio.to_thread.run_sync(_write_and_sync, writer, batch)
            raise
        except BaseException:
            _settle(writing)
            writer.rollback(start)
            raise
        if checksum is not None:
            verifier = hasher if hasher is not None else content.sha256 if content else None
            if verifier is None or verifier.digest() != checksum.digest:
                writer.rollback(start)
                raise ChecksumMismatch(f"the body does not match its {checksum.algorithm} checksum")

    def finish(self, upload_id: str) -> Upload:
        """Move a fully received upload into the blob store and record who uploaded it."""
        try:
            writer = self.parts.open_locked(upload_id, self.settings.lock_wait_seconds)
        except UploadNotFound:
            # Another request finished it (and removed the part file) first.
            row = self._row(upload_id)
            if row is None or row.sha256 is None:
                raise UploadGone(f"the bytes of upload {upload_id} are gone") from None
            return _view(row, row.length)
        try:
            return self._finish_locked(writer, upload_id)
        finally:
            writer.close()

    def _finish_locked(
        self,
        writer: PartWriter,
        upload_id: str,
        content: _ContentHashes | None = None,
        unfinished: Upload | None = None,
    ) -> Upload:
        """``finish`` with the part's lock held; ``content``: the hashes of every byte, if
        the caller computed them on the way in; ``unfinished``: the upload as this request
        read it, not complete (only a holder of the lock completes it, so it still is not;
        a termination meanwhile is caught when the row is updated)."""
        if unfinished is None:
            row = self._row(upload_id)
            if row is None:
                raise UploadNotFound(f"no upload {upload_id}")
            if row.sha256 is not None:
                return _view(row, row.length)
            unfinished = _view(row, writer.offset)
        length, device_id = unfinished.length, unfinished.device_id
        if writer.offset != length:
            raise OffsetMismatch(f"upload {upload_id} is not complete")
        if content is None or content.length != length:
            content = _ContentHashes.of(self.parts.read_chunks(upload_id))
        info = _link_into(self.blobs, self.parts.path(upload_id), content)
        if info is None:  # the filesystem cannot link: copy
            with self.blobs.writer() as blob:
                for chunk in self.parts.read_chunks(upload_id):
                    blob.write(chunk)
                info = blob.commit()
        finished = now()
        expires = finished + self.settings.completed_ttl
        with self.service.session() as session:
            stored = session.get(UploadResource, upload_id)
            if stored is None:
                raise UploadNotFound(f"upload {upload_id} was terminated")
            stored.sha256, stored.completed_at, stored.expires_at = (
                info.sha256,
                finished,
                expires,
            )
            session.add(stored)
            record = session.get(UploadedBlob, (device_id, info.sha256))
            if record is None:
                record = UploadedBlob(
                    device_id=device_id,
                    sha256=info.sha256,
                    length=info.length,
                    md5_digest=info.md5_digest,
                    completed_at=finished,
                    expires_at=expires,
                )
            else:
                record.completed_at, record.expires_at = finished, expires
            session.add(record)
            session.commit()
            view = _view(stored, info.length)
        self.parts.remove(upload_id)
        return view

    def terminate(self, device_id: str, upload_id: str) -> None:
        """Delete an upload (tus termination); a finished one is no longer referable."""
        upload = self.find(device_id, upload_id, allow_expired=True)
        with self.service.session() as session:
            session.execute(delete(UploadResource).where(col(UploadResource.id) == upload_id))
            if upload.sha256 is not None:
                others = session.exec(
                    select(UploadResource.id).where(
                        UploadResource.device_id == device_id,
                        UploadResource.sha256 == upload.sha256,
                    )
                ).first()
                if others is None:
                    session.execute(
                        delete(UploadedBlob).where(
                            col(UploadedBlob.device_id) == device_id,
                            col(UploadedBlob.sha256) == upload.sha256,
                        )
                    )
            session.commit()
        self.parts.remove(upload_id)

    # ------------------------------------------------------------------ lifetimes

    def expire(self, at: datetime | None = None) -> ExpiryReport:
        """Remove expired uploads (unfinished ones with their bytes), expired upload
        records, and part files no upload owns. Safe to run from any process at any time."""
        moment = at or now()
        with self.service.session() as session:
            gone = list(
                session.exec(
                    select(UploadResource.id).where(col(UploadResource.expires_at) <= moment)
                )
            )
            if gone:
                session.execute(delete(UploadResource).where(col(UploadResource.id).in_(gone)))
            removed = session.execute(
                delete(UploadedBlob).where(col(UploadedBlob.expires_at) <= moment)
            )
            blobs = getattr(removed, "rowcount", 0)
            live = set(session.exec(select(UploadResource.id)))
            session.commit()
        for upload_id in gone:
            self.parts.remove(upload_id)
        orphans = 0
        cutoff = time.time() - _ORPHAN_GRACE_SECONDS
        for upload_id, mtime in list(self.parts.ids()):
            if upload_id not in live and (mtime < cutoff or not is_upload_id(upload_id)):
                self.parts.root.joinpath(f"{upload_id}.part").unlink(missing_ok=True)
                orphans += 1
        return ExpiryReport(len(gone), int(blobs or 0), orphans)

    def protected_blobs(self, at: datetime | None = None) -> set[str]:
        """SHA-256 of finished uploads that may still be referenced: pass them to the store's
        compaction as ``extra_referenced``."""
        moment = at or now()
        with self.service.read_session() as session:
            return set(
                session.exec(
                    select(UploadedBlob.sha256).where(col(UploadedBlob.expires_at) > moment)
                )
            )

    def uploaded_blob(self, device_id: str, sha256: str) -> UploadedBlob | None:
        """The device's unexpired record of having uploaded these bytes."""
        with self.service.read_session() as session:
            record = session.get(UploadedBlob, (device_id, sha256))
        if record is None or _utc(record.expires_at) <= now():
            return None
        return record


class _ContentHashes:
    """The sha256 and md5 of an upload's bytes, as the blob store records them."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5()
        self.length = 0

    @classmethod
    def of(cls, chunks: Iterable[bytes]) -> _ContentHashes:
        hashes = cls()
        for chunk in chunks:
            hashes.update(chunk)
        return hashes

    def update(self, data: bytes) -> None:
        self.sha256.update(data)
        self.md5.update(data)
        self.length += len(data)

    def info(self) -> BlobInfo:
        md5 = "md5-" + base64.b64encode(self.md5.digest()).decode("ascii")
        return BlobInfo(sha256=self.sha256.hexdigest(), md5_digest=md5, length=self.length)


def _link_into(blobs: BlobStore, part: Path, content: _ContentHashes) -> BlobInfo | None:
    """The part file's bytes in the blob store under their sha256, by a hard link: the same
    durability as ``BlobWriter.commit`` (the part's data was fsynced as it arrived; the new
    names are made durable here) without writing the bytes again. ``None`` where the
    filesystem cannot link."""
    info = content.info()
    target = blobs.path_of(info.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(part, target)
    except FileExistsError:
        os.utime(target)  # reused bytes count as new for the collector's grace period
    except OSError:
        return None
    if blobs.fsync:
        for directory in (target.parent, target.parent.parent, target.parent.parent.parent):
            _fsync_directory(directory)
    return info


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _settle(writing: Future[None] | None) -> bool:
    """Wait for a batch still being written (a few milliseconds) before the part is touched
    again; whether it was written."""
    if writing is None:
        return True
    try:
        writing.result()
    except Exception:
        return False
    return True


def _write_and_sync(writer: PartWriter, chunks: list[bytes]) -> None:
    writer.write_all(chunks)
    writer.sync()
