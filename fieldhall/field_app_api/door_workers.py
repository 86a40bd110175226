"""The door's state-free checks of a large batch, shared with worker processes.

A replicator sends its batches one after another and the door checks each document of a
batch in turn: the signature, the form's schema, every attached file. That work holds the GIL,
so more threads would not make it faster, while the machine's other cores sit idle. For a
batch of :data:`MIN_BATCH` documents or more, :class:`DoorWorkers` checks one share of it in
the writer's thread and the other shares in worker processes, at the same time, each with its
own :class:`~fieldhall.field_app_api.policy.FieldPolicy` built from the same parts.

While the blob store writes a batch's files, the writer's thread checks no share: writing a
file takes a dozen system calls, and the blob writer's thread needs the GIL back after each of
them, so a share checked here slows the write that the batch waits for (on two cores, 100
small files took about 50 ms to write with a share checked here, about 30 ms without).
Whoever checks a share also signs the receipts of its documents that passed (see
``receipts.ReceiptSigner``).

The workers are a speed-up, never a dependency: until they have started (they start on the
first large batch, in the background), and whenever one fails, the writer's thread checks the
whole batch itself. A worker process ends when the server that started it goes away.
"""

from __future__ import annotations

import functools
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, CancelledError, Future, ProcessPoolExecutor
from typing import Any

from fieldhall.sync.errors import Forbidden
from fieldhall.sync.policy import Principal

log = logging.getLogger("fieldhall.field_app_api.door_workers")

__all__ = [
    "MIN_BATCH",
    "DoorWorkers",
    "Signer",
    "Wire",
    "default_processes",
    "passed",
    "refusal_of",
    "wire_of",
]

MIN_BATCH = 32  # documents; a smaller batch is checked in the writer's thread alone
_MAX_PROCESSES = 3
_PARENT_CHECK_SECONDS = 1.0
_MIN_RELATIVE_COST, _MAX_RELATIVE_COST = 0.5, 4.0
_LEARNING_RATE = 0.2
_WARM_UP_SECONDS = 120.0

# What a worker checks with, and the warm-ups' meeting point (set by _start_worker).
_policy: Any = None
_barrier: Any = None

# A prepared outcome as it crosses between processes: exceptions do not pickle faithfully,
# so refusals travel as their reasons. (refusal, signed_hash, files, attachment refusal)
Wire = tuple[str | None, str, dict[str, tuple[Any, Any, Any]], str | None]
# Signs ahead the receipts of documents that passed, given with the hashes of their signed
# bytes; keyed as the receipt writer takes them. Pickles (it goes to the workers with a share).
Signer = Callable[[list[tuple[Mapping[str, Any], str]]], Mapping[Any, Any]]


def default_processes() -> int:
    """One worker per core beyond the writer's own, at most three; none on a single core.
    The cores this process may run on (a container's, not the host's)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min(_MAX_PROCESSES, (cores or 1) - 1))


class DoorWorkers:
    """Worker processes that run ``policy_factory()``'s ``prepare_write`` on shares of a batch.

    ``policy_factory`` and everything it refers to must pickle (a module-level function or a
    picklable object): it is sent to each worker, which builds its own policy with it.
    """

    def __init__(self, policy_factory: Callable[[], Any], processes: int) -> None:
        self.policy_factory = policy_factory
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._ready = False
        self._warming = 0
        self._lock = threading.Lock()
        self._closed = False
        self.batches_shared = 0  # batches the workers took shares of
        self._relative_cost = 1.0  # a worker's time per document over this thread's

    @property
    def ready(self) -> bool:
        return self._ready

    def start(self) -> None:
        """Start the workers in the background (a no-op once started or when there are none).
        Never raises: workers that cannot start are logged, and the caller works alone."""
        context = multiprocessing.get_context("spawn")
        with self._lock:
            if self._closed or self.processes <= 0 or self._pool is not None:
                return
            try:
                # Each warm-up waits for all the others, so each takes a process of its own:
                # ready means every worker is up.
                barrier = context.Barrier(self.processes)
                pool = ProcessPoolExecutor(
                    self.processes,
                    # Not fork: the server has threads (its database pool, its workers) that
                    # a fork would copy in whatever state they were in.
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(self.policy_factory, os.getpid(), barrier),
                )
            except (OSError, RuntimeError, ValueError) as exc:
                log.warning("the door's worker processes cannot start: %s", exc)
                return
            self._pool, self._warming = pool, self.processes
        try:
            for _ in range(self.processes):
                pool.submit(_warm_up).add_done_callback(functools.partial(self._started, pool))
        except Exception as exc:  # closed meanwhile, or a process could not be spawned
            log.warning("the door's worker processes did not start: %s", exc)
            self._discard(pool)

    def health(self) -> dict[str, Any]:
        """For ``/health``: how many workers there are to be, whether they are up (else the
        writer's thread checks every batch alone), how many batches they took shares of."""
        return {
            "processes": self.processes,
            "ready": self._ready,
            "batches_shared": self.batches_shared,
        }

    def wait_ready(self, timeout: float) -> bool:
        """Start the workers and wait until they are ready (or ``timeout`` seconds)."""
        self.start()
        deadline = time.monotonic() + timeout
        while not self._ready and self._pool is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._ready

    def _started(self, pool: ProcessPoolExecutor, warmup: Future[None]) -> None:
        if warmup.cancelled() or warmup.exception() is not None:
            if not warmup.cancelled():
                log.warning("the door's worker processes did not start: %s", warmup.exception())
            self._discard(pool)
            return
        with self._lock:
            if pool is self._pool:
                self._warming -= 1
                self._ready = self._warming == 0

    def prepare(
        self,
        principal: Principal,
        database: str,
        views: Sequence[Mapping[str, Any]],
        local: Callable[[Principal, str, Mapping[str, Any]], Any],
        rebuild: Callable[[Wire], Any],
        *,
        sign: Signer | None = None,
        here: bool = True,
    ) -> tuple[list[Any], dict[Any, Any]] | None:
        """The outcomes of ``views`` and the receipts ``sign`` signed for those that passed:
        one share checked by ``local`` in this thread (none unless ``here``) and the others
        by the workers. ``None`` when the workers are not (or no longer) there, or a share
        failed, and then the caller checks the batch itself."""
        pool = self._pool
        if pool is None or not self._ready:
            self.start()
            return None
        mine_count, sizes = self._split(len(views)) if here else self._even(len(views))
        chunks, start = [], mine_count
        for size in sizes:
            chunks.append(list(views[start : start + size]))
            start += size
        try:
            others = [pool.submit(_prepare_share, principal, database, c, sign) for c in chunks]
        except RuntimeError:  # shut down, or broken since the last batch
            self._discard(pool)
            return None
        started = time.perf_counter()
        mine = [local(principal, database, view) for view in views[:mine_count]]
        signed = dict(sign(passed(views[:mine_count], mine))) if sign and mine_count else {}
        local_seconds = time.perf_counter() - started
        try:
            shares = [future.result() for future in others]
        except BrokenExecutor:
            log.warning("a door worker died; the writer's thread checks this batch")
            self._discard(pool)
            return None
        except CancelledError:  # closed meanwhile
            return None
        except Exception:
            # What a worker raised, the writer's thread raises too when it checks the share
            # again (a 5xx, as without workers); the workers themselves are fine.
            for future in others:
                future.cancel()
            return None
        theirs = [rebuild(wire) for wires, _, _ in shares for wire in wires]
        for _, receipts, _ in shares:
            signed.update(receipts)
        if mine_count and sizes[0]:
            worker_seconds = max(seconds for _, _, seconds in shares)
            self._learn(local_seconds / mine_count, worker_seconds / sizes[0])
        with self._lock:
            self.batches_shared += 1
        return mine + theirs, signed

    def _split(self, count: int) -> tuple[int, list[int]]:
        """How many documents this thread checks and how many each worker does, so that all
        finish together: a worker's document costs ``_relative_cost`` of this thread's (a
        core shared with the disk's work, the handing over and back)."""
        per_worker = max(1, round(count / (self.processes + self._relative_cost)))
        per_worker = min(per_worker, count // self.processes)
        sizes = [per_worker] * self.processes
        return count - sum(sizes), sizes

    def _even(self, count: int) -> tuple[int, list[int]]:
        """The whole batch to the workers, in shares as equal as can be."""
        processes = min(self.processes, count) or 1
        base, extra = divmod(count, processes)
        return 0, [base + (1 if n < extra else 0) for n in range(processes)]

    def _learn(self, local_per_doc: float, worker_per_doc: float) -> None:
        if local_per_doc <= 0:
            return
        seen = min(_MAX_RELATIVE_COST, max(_MIN_RELATIVE_COST, worker_per_doc / local_per_doc))
        with self._lock:
            self._relative_cost += _LEARNING_RATE * (seen - self._relative_cost)

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Forget a broken pool (its processes end); the next large batch starts another."""
        with self._lock:
            if pool is not self._pool:
                return  # discarded already
            self._pool, self._ready = None, False
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool, self._ready = self._pool, None, False
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def wire_of(prepared: Any) -> Wire:
    """A prepared outcome (``policy._Prepared``) as it travels back from a worker."""
    return (
        None if prepared.refusal is None else prepared.refusal.reason,
        prepared.signed_hash,
        prepared.files,
        None if prepared.attachment_refusal is None else prepared.attachment_refusal.reason,
    )


def refusal_of(reason: str | None) -> Forbidden | None:
    return None if reason is None else Forbidden(reason)


def passed(
    views: Sequence[Mapping[str, Any]], outcomes: Sequence[Any]
) -> list[tuple[Mapping[str, Any], str]]:
    """The documents whose state-free checks all passed, with the hash of their signed
    bytes: those whose receipts may be signed ahead."""
    found = []
    for view, outcome in zip(views, outcomes, strict=True):
        if outcome is None:
            continue
        refusal, signed_hash, _, attachment_refusal = wire_of(outcome)
        if refusal is None and attachment_refusal is None:
            found.append((view, signed_hash))
    return found


# -- in the worker process ---------------------------------------------------------------------


def _start_worker(policy_factory: Callable[[], Any], parent: int, barrier: Any) -> None:
    global _policy, _barrier
    # Ctrl-C goes to the whole process group: the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _policy, _barrier = policy_factory(), barrier
    threading.Thread(target=_end_with, args=(parent,), daemon=True, name="parent").start()


def _end_with(parent: int) -> None:
    """Exit once the server is gone (killed: it never asked this process to stop)."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


def _warm_up() -> None:
    """Load what the first checks would (the catalog, its validators, the image decoders),
    once every worker has taken its own warm-up, and keep it out of the collector's sight."""
    _barrier.wait(_WARM_UP_SECONDS)
    warm = getattr(_policy, "warm_up", None)
    if warm is not None:
        warm()
    # What the worker holds by now (modules, the catalogs and their validators) lives as long
    # as it does. Frozen, a full collection in the middle of a batch does not walk it again
    # (50-90 ms a time on a 2-core VM), as `fieldhall serve` does with its own start-up heap.
    gc.collect()
    gc.freeze()


def _prepare_share(
    principal: Principal, database: str, views: list[Mapping[str, Any]], sign: Signer | None
) -> tuple[list[Wire], Mapping[Any, Any], float]:
    """The outcomes of a share, the receipts signed for what passed, and the seconds they took
    in this process."""
    started = time.perf_counter()
    outcomes = [_policy.prepare_write(principal, database, view) for view in views]
    signed = sign(passed(views, outcomes)) if sign is not None else {}
    return [wire_of(o) for o in outcomes], signed, time.perf_counter() - started
