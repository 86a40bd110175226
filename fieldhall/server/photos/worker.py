"""The background worker: derivation jobs on a thread pool sized to the cores.

A request handler (or the projector) only calls ``DerivativeWorker.submit``, which returns at
once; decoding happens on the pool's threads, never in a request. Each job ends in exactly one
``Outcome`` passed to the ``record`` callback (on a pool thread, so it must be thread-safe,
e.g. open its own database session) and set on the job's future. A corrupt image, an
unreadable original or a bug in one job becomes a ``DerivationFailed``; the worker goes on.

Threads rather than processes: Pillow releases the GIL while it decodes, resamples and encodes
(nearly all the time a job takes), so threads use every core without pickling the originals
or the callback across processes; ``bench/photos_bench.py`` measures the scaling.

Jobs are idempotent: a job whose derivatives are already stored is answered from the store
without reading its original, and a job for an original already in flight gets that job's
future. The original's bytes are read only when a thread takes the job, so a backlog holds no
image in memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from .errors import DigestMismatch, OriginalUnavailable, PhotoError, Unexpected, UnsupportedType
from .outcomes import DerivationFailed, NotDerived, Outcome
from .rendering import DEFAULT_VARIANTS, FORMATS, UNRENDERED, Variant, media_type, render
from .store import DerivativeStore

__all__ = ["DerivativeJob", "DerivativeWorker", "cores", "derive"]

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class DerivativeJob:
    """An original to derive from: its sha256 (hex), declared content type and a reader."""

    sha256: str
    content_type: str
    read: Callable[[], bytes]

    def __post_init__(self) -> None:
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"not a lowercase hex sha256: {self.sha256!r}")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def derive(
    job: DerivativeJob, store: DerivativeStore, variants: Sequence[Variant] = DEFAULT_VARIANTS
) -> Outcome:
    """One job, start to finish, in the calling thread; every failure becomes an outcome."""
    try:
        stored = store.load(job.sha256, variants)
        if stored is not None:
            return stored
        kind = media_type(job.content_type)
        if kind in UNRENDERED:
            return NotDerived(job.sha256, job.content_type)
        if kind not in FORMATS:
            raise UnsupportedType(f"no derivatives are made of {kind!r}")
        data = _read(job)
        rendering = render(data, kind, variants)
        if rendering is None:
            return NotDerived(job.sha256, job.content_type)
        return store.save(job.sha256, job.content_type, rendering, variants)
    except PhotoError as exc:
        return _failed(job, exc)
    except Exception as exc:
        logger.exception("deriving %s failed unexpectedly", job.sha256)
        return _failed(job, Unexpected(f"{type(exc).__name__}: {exc}"))


class DerivativeWorker:
    """Runs ``derive`` for submitted jobs on ``max_workers`` threads (default: the cores)."""

    def __init__(
        self,
        store: DerivativeStore,
        record: Callable[[Outcome], None],
        *,
        max_workers: int | None = None,
        variants: Sequence[Variant] = DEFAULT_VARIANTS,
    ) -> None:
        self.store = store
        self.variants = tuple(variants)
        self.max_workers = max_workers or cores()
        self._record = record
        self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="photo-derivatives")
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future[Outcome]] = {}
        self._closed = False

    def submit(self, job: DerivativeJob) -> Future[Outcome]:
        """Queue a job; the future ends in its outcome, or in the exception ``record`` raised."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the derivative worker is closed")
            future = self._in_flight.get(job.sha256)
            if future is not None:
                return future
            future = self._pool.submit(self._run, job)
            self._in_flight[job.sha256] = future
        future.add_done_callback(lambda done: self._forget(job.sha256, done))
        return future

    def close(self, *, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, finish the queued ones, else drop them."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def __enter__(self) -> DerivativeWorker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, job: DerivativeJob) -> Outcome:
        outcome = derive(job, self.store, self.variants)
        try:
            self._record(outcome)
        except Exception:
            logger.exception("recording the derivatives of %s failed", job.sha256)
            raise
        return outcome

    def _forget(self, sha256: str, future: Future[Outcome]) -> None:
        with self._lock:
            if self._in_flight.get(sha256) is future:
                del self._in_flight[sha256]


def _read(job: DerivativeJob) -> bytes:
    try:
        data = job.read()
    except Exception as exc:
        raise OriginalUnavailable(f"{type(exc).__name__}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != job.sha256:
        raise DigestMismatch(f"the bytes read have sha256 {digest}")
    return data


def _failed(job: DerivativeJob, error: PhotoError) -> DerivationFailed:
    return DerivationFailed(
        sha256=job.sha256,
        content_type=job.content_type,
        code=error.code,
        detail=error.detail,
        retryable=error.retryable,
    )
