"""The hall's photo worker: follows ``hall_material`` and derives every file the cases bring.

A pass (:meth:`MaterialPhotos.run_pending`) is three steps, each in transactions of its own:

1. **queue** — the ``hall_material`` rows after the checkpoint become ``hall_photo`` rows in
   status ``pending``, and the checkpoint moves past them, in one transaction;
2. **derive** — pending rows (and failed ones whose retry is due) go to the
   :class:`~fieldhall.server.photos.worker.DerivativeWorker`, one job per original (rows with
   the same bytes share it); decoding happens on its threads, never in a request;
3. **record** — each outcome is written to every row of that original, and a derived photo is
   matched with the photos already derived: the same file (same sha256) always, found by an
   index lookup, and a near copy (:func:`~.nearcopy.find_near_copies`, on the stored
   thumbnail) only between photos large enough for their hashes to mean something
   (:func:`~.nearcopy.comparable`: a thumbnail at least ``MIN_COMPARED_SIDE``, 64 px, on its
   shorter side). A smaller photo, such as a 16×4 consent signature, is neither probed nor
   a candidate: it is matched only as the same file. A match in another case becomes a
   ``hall_photo_match``.

Resumable and idempotent: a row leaves ``pending`` only when its outcome commits, so a process
killed anywhere derives it again on the next pass (the derivative store then answers without
decoding the original); ``hall_photo`` is keyed by the material's id and a match by its pair,
so a rewound checkpoint or a job recorded twice adds nothing. The originals are only read.

Every write to these tables first locks the checkpoint row, so recordings are serialized across
threads and server processes: of two copies derived at the same moment, the one recorded
second sees the first. ``hall_material`` ids are assigned by the projector, whose batches are
serialized by its own checkpoint lock, so they commit in increasing order and the checkpoint
never passes a row that is still to come; :meth:`queue_missed` (run at start) queues any
material without a photo row regardless, should that ever not hold.

Recording costs the same however many photos the hall holds, and holds the write lock only to
write. Reading every derived row for each outcome, under the lock, made a push of 1,000
cases quadratic and kept device writes waiting. Instead:

* the photos to compare with live in memory, in a :class:`~.derived_index.DerivedIndex` (one a
  process), read once and then only the rows recorded since, by ``derived_seq``;
* the probe of the thumbnail, the refresh and the search run *before* the lock;
* under the lock: the original's unsettled rows (by sha256), the photos derived after the
  number the search covered, the next number, the writes, then the derived rows of the same
  sha256. Each read is an index lookup. A photo too small to compare skips the probe, the
  refresh and the search: it costs the reads under the lock and nothing that grows.

Why the guarantee still holds, across processes too (PostgreSQL, several workers): a derived
row's ``derived_seq`` is allocated under the checkpoint lock (the largest so far + 1, a unique
column) and commits with it, so numbers commit in increasing order and any read sees all the
rows up to some number, never a later one without an earlier. Say the search covered every
photo up to *n*. Whoever recorded a photo after that did so holding the lock, and committed
before we got it; so the rows above *n*, read under the lock, are exactly the photos recorded
meanwhile (usually none), and the new photo is compared with them before it is written. The
same file needs no search: the derived rows with the new photo's sha256 are read under the lock
after its rows are written, so they are every copy recorded before it, by any process, and
those recorded with it (the same file in two cases); this holds for photos of any size. Every
derived row gets a ``derived_seq``, too small to compare or not (the index reads past those).
The migration to revision 0005 numbers the rows already derived; a fieldhall older than that,
still running alongside during an upgrade, records rows without a number, which a process
sees at its next start (its first read takes every derived row). The size rule needs no
migration (width and height are stored): near-copy matches recorded between small photos
before it stay, and no new ones are made.

The background thread's passes yield to device ingest in a bounded way (``server/pacing``:
each batch is a turn of its pacer, the first with the queueing); a pass started with
:meth:`run_pending` does not.

The projector knows nothing of this worker; it notices new materials by polling (cheap: an
index range after the checkpoint) and by store commits on ``/sync/field`` waking it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_futures
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.sync.policy import Principal

from ..hall.tables import HallMaterial
from ..pacing import IngestPacer
from .derived_index import DerivedIndex
from .hashes import PhotoHashes, hash_image
from .nearcopy import NearCopy, Probe, comparable, find_near_copies, probe
from .outcomes import DerivationFailed, Derived, NotDerived, Outcome
from .rendering import THUMBNAIL
from .store import DerivativeStore
from .tables import HallPhoto, HallPhotoMatch, PhotoCheckpoint, PhotoStatus
from .worker import DerivativeJob, DerivativeWorker

__all__ = ["MaterialPhotos", "PhotoBacklog"]

log = logging.getLogger("fieldhall.photos")

DEFAULT_BATCH = 64
# A paced turn's batch while devices are writing: a turn holds the door back for as long as
# it takes (64 consent images: about a second), however small the pacer keeps its share.
INGESTING_BATCH = 8
# A retryable failure (the original unreadable for now, memory) is tried again after
# RETRY_BASE × 4^(attempts-1), at most MAX_ATTEMPTS times; then the row stays failed.
RETRY_BASE = timedelta(seconds=30)
MAX_ATTEMPTS = 5
# A pass waits this long for its jobs before it returns (they still finish and record).
_PASS_TIMEOUT_SECONDS = 600.0

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class PhotoBacklog:
    """What /health shows: rows waiting for a derivation and materials not yet queued."""

    pending: int
    unqueued: int

    def to_json(self) -> dict[str, int]:
        return {"pending": self.pending, "unqueued": self.unqueued}


class MaterialPhotos:
    def __init__(
        self,
        field: FieldService,
        store: DerivativeStore,
        *,
        name: str = "hall",
        batch: int = DEFAULT_BATCH,
        poll_interval: float = 1.0,
        max_workers: int | None = None,
        clock: Clock = now,
        pacer: IngestPacer | None = None,
    ) -> None:
        self.field = field
        self.store = store
        self.name = name
        self.batch = batch
        self.poll_interval = poll_interval
        self.max_workers = max_workers
        self.clock = clock
        self.pacer = pacer or IngestPacer()
        self._worker: DerivativeWorker | None = None
        self._worker_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._index = DerivedIndex()

    # ------------------------------------------------------------------ position

    def checkpoint(self) -> int:
        with self.field.read_session() as session:
            row = session.get(PhotoCheckpoint, self.name)
            return int(row.material_id) if row is not None else 0

    def backlog(self) -> PhotoBacklog:
        with self.field.read_session() as session:
            pending = session.exec(
                select(func.count())
                .select_from(HallPhoto)
                .where(col(HallPhoto.status) == PhotoStatus.PENDING)
            ).one()
            row = session.get(PhotoCheckpoint, self.name)
            since = int(row.material_id) if row is not None else 0
            unqueued = session.exec(
                select(func.count()).select_from(HallMaterial).where(col(HallMaterial.id) > since)
            ).one()
        return PhotoBacklog(int(pending), int(unqueued))

    def _locked_checkpoint(self, session: Session) -> PhotoCheckpoint:
        query = select(PhotoCheckpoint).where(PhotoCheckpoint.name == self.name)
        row = session.exec(query.with_for_update()).first()
        if row is None:
            try:
                with session.begin_nested():
                    session.add(PhotoCheckpoint(name=self.name, material_id=0, updated_at=now()))
            except IntegrityError:
                pass  # another worker made it first
            row = session.exec(query.with_for_update()).one()
        return row

    # ------------------------------------------------------------------ queueing

    def queue_new(self) -> int:
        """Queue the materials after the checkpoint; returns how many rows were queued."""
        queued = 0
        while self._unqueued():
            with self.field.session() as session:
                checkpoint = self._locked_checkpoint(session)
                materials = list(
                    session.exec(
                        select(HallMaterial)
                        .where(col(HallMaterial.id) > checkpoint.material_id)
                        .order_by(col(HallMaterial.id))
                        .limit(self.batch * 8)
                    )
                )
                if not materials:
                    return queued
                queued += self._queue(session, materials)
                checkpoint.material_id = int(materials[-1].id or 0)
                checkpoint.updated_at = self.clock()
                session.add(checkpoint)
        return queued

    def _unqueued(self) -> bool:
        """Whether materials wait after the checkpoint: a read, so that an idle poll does not
        take the database's write lock."""
        since = self.checkpoint()
        with self.field.read_session() as session:
            first = session.exec(
                select(HallMaterial.id).where(col(HallMaterial.id) > since).limit(1)
            ).first()
        return first is not None

    def queue_missed(self) -> int:
        """Queue every material up to the checkpoint that has no photo row (a safety net)."""
        with self.field.session() as session:
            checkpoint = self._locked_checkpoint(session)
            missing = list(
                session.exec(
                    select(HallMaterial)
                    .outerjoin(HallPhoto, col(HallPhoto.id) == col(HallMaterial.id))
                    .where(
                        col(HallPhoto.id).is_(None),
                        col(HallMaterial.id) <= checkpoint.material_id,
                    )
                )
            )
            return self._queue(session, missing) if missing else 0

    def _queue(self, session: Session, materials: Sequence[HallMaterial]) -> int:
        ids = [int(m.id or 0) for m in materials]
        known = set(session.exec(select(HallPhoto.id).where(col(HallPhoto.id).in_(ids))))
        at = self.clock()
        fresh = [m for m in materials if m.id not in known]
        for material in fresh:
            session.add(
                HallPhoto(
                    id=int(material.id or 0),
                    case_id=material.case_id,
                    doc_id=material.doc_id,
                    name=material.name,
                    sha256=material.sha256,
                    content_type=material.content_type,
                    status=PhotoStatus.PENDING,
                    queued_at=at,
                )
            )
        return len(fresh)

    # ------------------------------------------------------------------ deriving

    def run_pending(self) -> int:
        """Queue new materials, then derive until nothing is due; returns the rows settled.

        A row whose outcome could not be recorded stays pending for the next pass. Not paced:
        it runs at once, with every thread (the background thread's passes yield to ingest).
        """
        return self._pass(paced=False)

    def _pass(self, *, paced: bool) -> int:
        settled = 0
        tried: set[int] = set()
        first = True
        while not self._stop.is_set():
            with self._paced(paced):
                if first:
                    self.queue_new()
                    first = False
                limit = INGESTING_BATCH if paced and self.pacer.ingesting() else self.batch
                due = [row for row in self._due(limit) if row.id not in tried]
                if not due:
                    return settled
                tried.update(row.id for row in due)
                futures = self._submit(due, paced=paced)
                done, _ = wait_futures(futures, timeout=_PASS_TIMEOUT_SECONDS)
            settled += sum(
                count
                for future, count in futures.items()
                if future in done and not future.cancelled() and future.exception() is None
            )
        return settled

    def _paced(self, paced: bool) -> AbstractContextManager[None]:
        """A turn of the pacer (a batch), or no wait at all."""
        return self.pacer.turn(self._stop) if paced else nullcontext()

    def _due(self, limit: int) -> list[HallPhoto]:
        at = self.clock()
        with self.field.read_session() as session:
            return list(
                session.exec(
                    select(HallPhoto)
                    .where(
                        or_(
                            col(HallPhoto.status) == PhotoStatus.PENDING,
                            (col(HallPhoto.status) == PhotoStatus.FAILED)
                            & (col(HallPhoto.retry_at) <= at),
                        )
                    )
                    .order_by(col(HallPhoto.id))
                    .limit(limit)
                )
            )

    def _submit(self, rows: Iterable[HallPhoto], *, paced: bool) -> dict[Future[Outcome], int]:
        by_original: dict[str, list[HallPhoto]] = {}
        for row in rows:
            by_original.setdefault(row.sha256, []).append(row)
        worker = self._derivatives()
        blobs = self.field.store.blobs
        futures: dict[Future[Outcome], int] = {}
        for sha256, same in by_original.items():
            if paced:
                self._one_at_a_time_while_ingesting(futures)
            job = DerivativeJob(sha256, same[0].content_type, _reader(blobs.read, sha256))
            futures[worker.submit(job)] = len(same)
        return futures

    def _one_at_a_time_while_ingesting(self, submitted: Iterable[Future[Outcome]]) -> None:
        """While devices write, let one job run at a time rather than one per core."""
        while self.pacer.ingesting() and not self._stop.is_set():
            running = [future for future in submitted if not future.done()]
            if not running:
                return
            wait_futures(running, timeout=self.pacer.quiet, return_when=FIRST_COMPLETED)

    def _derivatives(self) -> DerivativeWorker:
        with self._worker_lock:
            if self._worker is None:
                self._worker = DerivativeWorker(
                    self.store, self._record, max_workers=self.max_workers
                )
            return self._worker

    # ------------------------------------------------------------------ recording

    def _record(self, outcome: Outcome) -> None:
        """Write an outcome to every unsettled row of its original (on a pool thread)."""
        query: Probe | None = None
        near: list[NearCopy[int]] = []
        searched = 0
        if isinstance(outcome, Derived) and comparable(outcome.width, outcome.height):
            with Image.open(outcome.files[THUMBNAIL.name], formats=["JPEG"]) as thumbnail:
                query = probe(thumbnail)
            # Before the write lock: the photos derived up to now (see the module docstring).
            with self.field.read_session() as session:
                self._index.refresh(session)
            near, searched = self._index.search(query)
        with self.field.session() as session:
            self._locked_checkpoint(session)  # serializes recordings: see the module docstring
            rows = list(
                session.exec(
                    select(HallPhoto).where(
                        HallPhoto.sha256 == outcome.sha256,
                        col(HallPhoto.status).in_([PhotoStatus.PENDING, PhotoStatus.FAILED]),
                    )
                )
            )
            if not rows:
                return
            at = self.clock()
            derived = isinstance(outcome, Derived)
            if query is not None:
                # Recorded after the search (by another thread or process): few, often none.
                near += find_near_copies(query, _derived_since(session, searched))
            seq = _last_derived_seq(session) if derived else 0
            for row in rows:
                _apply(row, outcome, at)
                if derived:
                    seq += 1
                    row.derived_seq = seq
                session.add(row)
            session.flush()
            if derived:
                # The same file, recorded before or together with these rows, whatever its
                # size: the bytes are the same, and so are the derivatives and hashes.
                near += [NearCopy(other, 0, 0) for other in _same_file(session, outcome.sha256)]
            if near:
                self._match(session, rows, near, at)

    def _match(
        self, session: Session, rows: list[HallPhoto], near: list[NearCopy[int]], at: datetime
    ) -> None:
        # SQLAlchemy's select: SQLModel's result rows are typed for at most four columns.
        others = {
            int(photo_id): (str(case_id), str(sha256))
            for photo_id, case_id, sha256 in session.execute(
                sa_select(col(HallPhoto.id), col(HallPhoto.case_id), col(HallPhoto.sha256)).where(
                    col(HallPhoto.id).in_({match.key for match in near})
                )
            )
        }
        pairs: dict[tuple[int, int], tuple[HallPhoto, int, int, int]] = {}
        for row in rows:
            for match in near:
                if match.key == row.id or match.key not in others:
                    continue
                other_case, other_sha = others[match.key]
                if other_case == row.case_id:
                    continue
                pair = (min(row.id, match.key), max(row.id, match.key))
                kind = 0 if other_sha == row.sha256 else 1
                pairs.setdefault(pair, (row, kind, match.phash_distance, match.detail_distance))
        if not pairs:
            return
        existing = {
            (int(a), int(b))
            for a, b in session.exec(
                select(HallPhotoMatch.photo_id, HallPhotoMatch.other_photo_id).where(
                    or_(
                        col(HallPhotoMatch.photo_id).in_([row.id for row in rows]),
                        col(HallPhotoMatch.other_photo_id).in_([row.id for row in rows]),
                    )
                )
            )
        }
        for (first, second), (row, kind, coarse, fine) in pairs.items():
            if (first, second) in existing:
                continue
            case_of = {row.id: row.case_id}
            other = second if first == row.id else first
            case_of[other] = others[other][0]
            session.add(
                HallPhotoMatch(
                    photo_id=first,
                    other_photo_id=second,
                    case_id=case_of[first],
                    other_case_id=case_of[second],
                    kind="identical" if kind == 0 else "near_copy",
                    phash_distance=coarse,
                    detail_distance=fine,
                    found_at=at,
                )
            )
            log.info(
                "photo %s of case %s is %s photo %s of case %s",
                first,
                case_of[first],
                "the same as" if kind == 0 else "a near copy of",
                second,
                case_of[second],
            )

    # ------------------------------------------------------------------ running

    def start(self) -> MaterialPhotos:
        """Derive in a background thread until :meth:`stop`."""
        if self._thread is not None:
            return self
        self._stop.clear()
        self.field.store.commit_listeners.append(self._on_commit)
        self.field.store.write_listeners.append(self.pacer.on_write)
        self._thread = threading.Thread(target=self._run, name="hall-photos", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread; jobs already running finish and record, queued ones are dropped
        (they stay pending in the table)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._on_commit in self.field.store.commit_listeners:
            self.field.store.commit_listeners.remove(self._on_commit)
        if self.pacer.on_write in self.field.store.write_listeners:
            self.field.store.write_listeners.remove(self.pacer.on_write)
        self.close()

    def close(self) -> None:
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close(wait=False)

    def wake(self) -> None:
        self._wake.set()

    def _on_commit(self, database: str, principal: Principal, docs: list[dict[str, Any]]) -> None:
        if database == FIELD_DB:
            self._wake.set()

    def _run(self) -> None:
        failures = 0
        try:
            # imagehash imports scipy on its first hash, a third of a second holding the GIL:
            # at start, not in the middle of the first push.
            hash_image(Image.new("RGB", (32, 32), "white"))
        except Exception:
            log.exception("warming up the perceptual hash failed")
        try:
            self.queue_missed()
        except Exception:
            log.exception("queueing materials without a photo row failed")
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._pass(paced=True)
                failures = 0
            except Exception:
                failures += 1
                log.exception("photo pass failed (attempt %d); retrying", failures)
            delay = self.poll_interval * min(2**failures, 30) if failures else self.poll_interval
            # A commit on /sync/field wakes us, but the projector has yet to make its
            # materials: wait a little even then.
            if self._wake.wait(delay):
                self._stop.wait(min(0.2, self.poll_interval))


def _derived_since(session: Session, seq: int) -> list[tuple[int, PhotoHashes]]:
    """The photos derived after ``derived_seq`` ``seq`` that are large enough to compare,
    with their hashes."""
    rows = session.execute(
        sa_select(
            col(HallPhoto.id),
            col(HallPhoto.phash),
            col(HallPhoto.dhash),
            col(HallPhoto.detail_hash),
            col(HallPhoto.width),
            col(HallPhoto.height),
        ).where(col(HallPhoto.derived_seq) > seq, col(HallPhoto.status) == PhotoStatus.DERIVED)
    ).all()
    return [
        (int(i), PhotoHashes(str(p), str(d), str(h)))
        for i, p, d, h, width, height in rows
        if p and h and comparable(width, height)
    ]


def _same_file(session: Session, sha256: str) -> list[int]:
    """The derived photos of these bytes, in any case (an index lookup by sha256)."""
    return [
        int(photo_id)
        for photo_id in session.exec(
            select(HallPhoto.id).where(
                HallPhoto.sha256 == sha256, col(HallPhoto.status) == PhotoStatus.DERIVED
            )
        )
    ]


def _last_derived_seq(session: Session) -> int:
    return int(session.exec(select(func.max(HallPhoto.derived_seq))).one() or 0)


def _reader(read: Callable[[str], bytes], sha256: str) -> Callable[[], bytes]:
    return lambda: read(sha256)


def _apply(row: HallPhoto, outcome: Outcome, at: datetime) -> None:
    row.done_at = at
    if isinstance(outcome, Derived):
        row.status = PhotoStatus.DERIVED
        row.width, row.height = outcome.width, outcome.height
        row.phash = outcome.hashes.phash
        row.dhash = outcome.hashes.dhash
        row.detail_hash = outcome.hashes.detail
        row.error_code = row.error_detail = None
        row.retry_at = None
    elif isinstance(outcome, NotDerived):
        row.status = PhotoStatus.NOT_DERIVED
        row.error_code = row.error_detail = None
        row.retry_at = None
    elif isinstance(outcome, DerivationFailed):
        row.status = PhotoStatus.FAILED
        row.attempts += 1
        row.error_code = outcome.code
        row.error_detail = outcome.detail[:2000]
        retry = outcome.retryable and row.attempts < MAX_ATTEMPTS
        row.retry_at = at + RETRY_BASE * 4 ** (row.attempts - 1) if retry else None
