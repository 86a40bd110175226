"""``DerivativeWorker``: concurrent, idempotent, and never stopped by a bad job."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from fieldhall.server.photos import (
    DerivationFailed,
    DerivativeJob,
    DerivativeStore,
    DerivativeWorker,
    Derived,
    NotDerived,
    Outcome,
)
from fieldhall.server.photos import worker as worker_module
from fieldhall.server.photos.worker import derive
from fieldhall.sync.blobs import BlobStore

from .conftest import camera_photo, job_for, sha256
from .pictures import QUADRANTS, quadrant_colours

WAIT = 30  # seconds; generous for a loaded CI machine


class Recorder:
    """The hall's side, ten lines: what the worker recorded, in order."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()

    def __call__(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)


def counting(read: Callable[[], bytes]) -> tuple[Callable[[], bytes], list[int]]:
    calls: list[int] = []

    def reader() -> bytes:
        calls.append(1)
        return read()

    return reader, calls


def test_a_job_records_sizes_files_and_hashes(store: DerivativeStore, blobs: BlobStore) -> None:
    recorder = Recorder()
    job = job_for(blobs, camera_photo(orientation=6))
    with DerivativeWorker(store, recorder) as worker:
        outcome = worker.submit(job).result(WAIT)
    assert recorder.outcomes == [outcome]
    assert isinstance(outcome, Derived)
    assert (outcome.sha256, outcome.content_type) == (job.sha256, "image/jpeg")
    assert (outcome.width, outcome.height) == (300, 200)
    assert set(outcome.files) == {"thumb", "preview"}
    with Image.open(outcome.files["thumb"]) as thumb:
        assert thumb.size == (256, 171)
        assert not thumb.getexif()
        assert quadrant_colours(thumb)[0][0] > 180  # red top-left: upright
    assert len(outcome.hashes.phash) == 16 and len(outcome.hashes.dhash) == 16
    assert len(outcome.hashes.detail) == 256


def test_the_signed_originals_are_never_changed(store: DerivativeStore, blobs: BlobStore) -> None:
    jobs = [job_for(blobs, camera_photo(orientation, seed=orientation)) for orientation in (1, 6)]
    before = {job.sha256: blobs.path_of(job.sha256).stat().st_mtime_ns for job in jobs}
    with DerivativeWorker(store, Recorder()) as worker:
        for future in [worker.submit(job) for job in jobs]:
            assert isinstance(future.result(WAIT), Derived)
    for job in jobs:
        assert sha256(blobs.read(job.sha256)) == job.sha256
        assert blobs.path_of(job.sha256).stat().st_mtime_ns == before[job.sha256]


def test_jobs_run_concurrently_on_the_pool(store: DerivativeStore, blobs: BlobStore) -> None:
    # Both readers must be inside read() at once, or the barrier times out.
    barrier = threading.Barrier(2, timeout=WAIT)
    threads: set[str] = set()

    def held(job: DerivativeJob) -> DerivativeJob:
        def read() -> bytes:
            threads.add(threading.current_thread().name)
            barrier.wait()
            return job.read()

        return DerivativeJob(job.sha256, job.content_type, read)

    jobs = [held(job_for(blobs, camera_photo(seed=seed))) for seed in range(2)]
    with DerivativeWorker(store, Recorder(), max_workers=2) as worker:
        outcomes = [future.result(WAIT) for future in [worker.submit(job) for job in jobs]]
    assert all(isinstance(outcome, Derived) for outcome in outcomes)
    assert len(threads) == 2
    assert all(name.startswith("photo-derivatives") for name in threads)


def test_the_pool_is_sized_to_the_cores(store: DerivativeStore) -> None:
    with DerivativeWorker(store, Recorder()) as worker:
        assert worker.max_workers == worker_module.cores() >= 1


def test_a_job_submitted_again_is_answered_from_the_store(
    store: DerivativeStore, blobs: BlobStore
) -> None:
    recorder = Recorder()
    job = job_for(blobs, camera_photo())
    reader, reads = counting(job.read)
    job = DerivativeJob(job.sha256, job.content_type, reader)
    with DerivativeWorker(store, recorder) as worker:
        first = worker.submit(job).result(WAIT)
        files = {path: path.stat().st_mtime_ns for path in store.directory(job.sha256).iterdir()}
        second = worker.submit(job).result(WAIT)
    assert first == second
    assert recorder.outcomes == [first, first]  # recorded again: the hall upserts
    assert len(reads) == 1  # the original was not read a second time
    assert files == {
        path: path.stat().st_mtime_ns for path in store.directory(job.sha256).iterdir()
    }


def test_a_job_already_in_flight_is_not_run_twice(store: DerivativeStore, blobs: BlobStore) -> None:
    release = threading.Event()
    job = job_for(blobs, camera_photo())
    reader, reads = counting(job.read)

    def slow() -> bytes:
        release.wait(WAIT)
        return reader()

    job = DerivativeJob(job.sha256, job.content_type, slow)
    recorder = Recorder()
    with DerivativeWorker(store, recorder, max_workers=2) as worker:
        first, second = worker.submit(job), worker.submit(job)
        release.set()
        assert first is second
        assert isinstance(first.result(WAIT), Derived)
    assert len(reads) == 1 and len(recorder.outcomes) == 1


def test_a_corrupt_image_is_recorded_as_an_error_and_the_worker_goes_on(
    store: DerivativeStore, blobs: BlobStore
) -> None:
    recorder = Recorder()
    corrupt = job_for(blobs, camera_photo()[:300])
    good = job_for(blobs, camera_photo(seed=1))
    with DerivativeWorker(store, recorder, max_workers=1) as worker:
        failed = worker.submit(corrupt).result(WAIT)
        derived = worker.submit(good).result(WAIT)
    assert isinstance(failed, DerivationFailed)
    assert (failed.sha256, failed.code, failed.retryable) == (
        corrupt.sha256,
        "photo.unreadable",
        False,
    )
    assert "JPEG" in failed.detail
    assert isinstance(derived, Derived)
    assert recorder.outcomes == [failed, derived]
    assert store.load(corrupt.sha256) is None


def test_a_pdf_is_recorded_as_not_derived_without_reading_it(store: DerivativeStore) -> None:
    reader, reads = counting(lambda: b"%PDF-1.7")
    outcome = derive(DerivativeJob("a" * 64, "application/pdf", reader), store)
    assert outcome == NotDerived("a" * 64, "application/pdf")
    assert reads == []


@pytest.mark.parametrize(
    ("content_type", "read", "code", "retryable"),
    [
        ("image/gif", lambda: b"GIF89a", "photo.unsupported_type", False),
        ("image/jpeg", lambda: b"other bytes", "photo.digest_mismatch", False),
        (
            "image/jpeg",
            lambda: (_ for _ in ()).throw(FileNotFoundError("gone")),
            "photo.original_unavailable",
            True,
        ),
    ],
)
def test_failures_become_outcomes_with_stable_codes(
    store: DerivativeStore,
    content_type: str,
    read: Callable[[], bytes],
    code: str,
    retryable: bool,
) -> None:
    outcome = derive(DerivativeJob("b" * 64, content_type, read), store)
    assert isinstance(outcome, DerivationFailed)
    assert (outcome.code, outcome.retryable) == (code, retryable)


def test_a_bug_is_an_unexpected_failure_not_a_dead_worker(
    store: DerivativeStore, blobs: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(worker_module, "render", broken)
    with DerivativeWorker(store, Recorder()) as worker:
        outcome = worker.submit(job_for(blobs, camera_photo())).result(WAIT)
    assert isinstance(outcome, DerivationFailed)
    assert (outcome.code, outcome.retryable) == ("photo.unexpected", True)
    assert "ZeroDivisionError" in outcome.detail


def test_a_failing_callback_fails_that_future_only(
    store: DerivativeStore, blobs: BlobStore
) -> None:
    calls: list[Outcome] = []

    def flaky(outcome: Outcome) -> None:
        calls.append(outcome)
        if len(calls) == 1:
            raise RuntimeError("database is locked")

    with DerivativeWorker(store, flaky, max_workers=1) as worker:
        first = worker.submit(job_for(blobs, camera_photo()))
        with pytest.raises(RuntimeError, match="locked"):
            first.result(WAIT)
        assert isinstance(worker.submit(job_for(blobs, camera_photo(seed=3))).result(WAIT), Derived)
    assert len(calls) == 2


def test_a_closed_worker_takes_no_jobs(store: DerivativeStore, tmp_path: Path) -> None:
    worker = DerivativeWorker(store, Recorder())
    worker.close()
    with pytest.raises(RuntimeError):
        worker.submit(DerivativeJob("c" * 64, "image/jpeg", lambda: b""))


def test_a_job_needs_a_lowercase_sha256() -> None:
    with pytest.raises(ValueError):
        DerivativeJob("ABC", "image/jpeg", lambda: b"")


def test_the_quadrant_colours_helper_sees_the_pattern() -> None:
    # Guards the helper the orientation checks rely on.
    from .pictures import pattern

    assert quadrant_colours(Image.fromarray(pattern())) == list(QUADRANTS)
