"""The pipeline: runs the protocol's steps, batch after batch, and survives failures.

One *session* = verify peers → replication id → read both checkpoints and pick the start →
then per batch: changes → ``_revs_diff`` → fetch → write → checkpoint. A one-shot replication
ends when the feed has nothing more; a continuous one waits on a longpoll feed and goes on.

A transient failure (network, timeout, 5xx, 429) ends the session; the job waits (exponential
backoff with jitter, :mod:`.backoff`) and starts a new session, which resumes from the last
checkpoint — replication is idempotent, so redoing part of a batch is harmless. Everything
else stops the job with a :class:`ReplicationError`. While the job starts, an unreachable peer
is an error at once: that is a typo or a server that is down, not a hiccup.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from .backoff import retry_delay
from .changes import ChangesBatch, read_changes
from .checkpoint import (
    ReplicationLog,
    Seq,
    StartPoint,
    compare_logs,
    next_log_body,
    read_log,
    write_log,
)
from .client import PeerClient
from .errors import PeerUnauthorized, PeerUnreachable, ReplicationError, TransientError
from .fetch import fetch_missing, fetch_revision
from .ids import checkpoint_doc_id, replication_id
from .peers import PeerInfo, ensure_full_commit, verify_source, verify_target
from .progress import Progress, State, Stats
from .replication import Replication
from .revs_diff import find_missing
from .write import DocFailure, Written, write_docs

__all__ = ["ProgressCallback", "ReplicationJob", "replicate"]

log = logging.getLogger("fieldhall.sync.replicator")

ProgressCallback = Callable[[Progress], None]


def _now() -> str:
    return email.utils.formatdate(usegmt=True)  # CouchDB's checkpoint time format


@dataclass(frozen=True, slots=True)
class _Session:
    """What one session knows: the peers' info, the checkpoints, where it started and what
    it has committed since."""

    source_info: PeerInfo
    target_info: PeerInfo
    source_log: ReplicationLog
    target_log: ReplicationLog
    start: StartPoint
    committed: Seq
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: str = field(default_factory=_now)
    write_source_checkpoint: bool = True


class ReplicationJob:
    """A running replication: :meth:`start` it in an event loop, read :attr:`progress`,
    :meth:`cancel` it, :meth:`wait` for its end."""

    def __init__(
        self,
        replication: Replication,
        *,
        on_progress: ProgressCallback | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.replication = replication
        self._on_progress = on_progress
        self._transport = transport
        self._random = rng or random.Random()
        self._progress = Progress()
        self._task: asyncio.Task[Progress] | None = None
        self._cancel_requested = False
        self._verified = False
        self._progressed = False
        self._use_bulk_get = True

    @property
    def progress(self) -> Progress:
        return self._progress

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def add_done_callback(self, callback: Callable[[ReplicationJob], None]) -> None:
        """Call ``callback(job)`` once the started job has ended, however it ended."""
        if self._task is None:
            raise RuntimeError("the replication was not started")
        self._task.add_done_callback(lambda _: callback(self))

    def start(self) -> ReplicationJob:
        """Start in the running event loop (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def cancel(self) -> None:
        """Stop at the next opportunity; :meth:`wait` then returns a ``cancelled`` progress.
        Progress up to the last checkpoint is kept."""
        self._cancel_requested = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait(self) -> Progress:
        """The final progress (``completed`` or ``cancelled``); raises the
        :class:`ReplicationError` that stopped the job. Cancelling the waiter does not
        cancel the job."""
        if self._task is None:
            raise RuntimeError("the replication was not started")
        return await asyncio.shield(self._task)

    # ---------------------------------------------------------------- progress

    def _set(self, **changes: Any) -> None:
        self._progress = self._progress.evolve(**changes)
        if self._on_progress is not None:
            try:
                self._on_progress(self._progress)
            except Exception:
                log.exception("progress callback failed")

    def _count(self, stats: Stats) -> None:
        self._set(stats=self._progress.stats + stats)

    # ---------------------------------------------------------------- the loop

    async def _run(self) -> Progress:
        rep = self.replication
        timeout = httpx.Timeout(rep.request_timeout, connect=min(10.0, rep.request_timeout))
        limits = httpx.Limits(max_connections=2 * rep.concurrency + 4)
        try:
            async with httpx.AsyncClient(
                timeout=timeout, limits=limits, transport=self._transport, trust_env=False
            ) as http:
                await self._sessions(PeerClient(rep.source, http), PeerClient(rep.target, http))
        except asyncio.CancelledError:
            if not self._cancel_requested:
                raise
            self._set(state=State.CANCELLED)
            return self._progress
        except ReplicationError as exc:
            self._set(state=State.FAILED, error=str(exc))
            raise
        self._set(state=State.COMPLETED, error=None)
        return self._progress

    async def _sessions(self, source: PeerClient, target: PeerClient) -> None:
        """Sessions until one completes; a transient failure waits and starts another."""
        failures = 0
        while True:
            try:
                return await self._session(source, target)
            except TransientError as exc:
                if exc.connect and not self._verified:
                    raise PeerUnreachable(str(exc), url=exc.url) from exc
                # A session that made progress proves the peers work: count afresh.
                failures = 1 if self._progressed else failures + 1
                self._progressed = False
                policy = self.replication.retry_policy
                if policy.gives_up(failures):
                    raise
                delay = retry_delay(policy, failures, self._random.random(), exc.retry_after)
                log.warning("replication of %s: %s; retrying in %.2fs", source.url, exc, delay)
                self._set(state=State.RETRYING, retries=self._progress.retries + 1, error=str(exc))
                await asyncio.sleep(delay)

    async def _session(self, source: PeerClient, target: PeerClient) -> None:
        rep = self.replication
        source_info = await verify_source(source)
        target_info = await verify_target(target, create=rep.create_target)
        self._verified = True
        rep_id = replication_id(
            rep.source,
            rep.target,
            replicator=rep.replicator,
            doc_ids=rep.doc_ids,
            selector=rep.selector,
        )
        doc_id = checkpoint_doc_id(rep_id)
        source_log, target_log = await asyncio.gather(
            read_log(source, doc_id), read_log(target, doc_id)
        )
        start, source_log = await self._start_point(source, source_log, target_log)
        session = _Session(source_info, target_info, source_log, target_log, start, start.seq)
        self._set(
            state=State.RUNNING,
            replication_id=rep_id,
            session_id=session.session_id,
            source_seq=source_info.update_seq,
            end_last_seq=start.seq,
            **({"start_last_seq": start.seq} if self._progress.start_last_seq is None else {}),
        )
        since = start.seq
        caught_up = False
        while True:
            batch = await read_changes(
                source,
                since,
                limit=rep.batch_size,
                doc_ids=rep.doc_ids,
                selector=rep.selector,
                wait=rep.continuous and caught_up,
                heartbeat_ms=rep.heartbeat_ms,
            )
            if batch.changes:
                await self._replicate_batch(source, target, batch)
            since = batch.last_seq
            if since != session.committed:
                session = await self._checkpoint(source, target, session, since)
            self._progressed = True
            if batch.complete and not rep.continuous:
                return
            caught_up = batch.complete
            self._set(state=State.IDLE if caught_up else State.RUNNING, error=None)

    async def _start_point(
        self, source: PeerClient, source_log: ReplicationLog, target_log: ReplicationLog
    ) -> tuple[StartPoint, ReplicationLog]:
        if not source_log.exists and target_log.exists:
            # Only the target remembers this replication. If the source cannot store
            # checkpoints (read-only access), its log could never exist: trust the target's,
            # as PouchDB does. If it can, the source lost its log (recreated, restored) and
            # the only safe start is the beginning.
            try:
                source_log = await write_log(source, source_log, {"replicator": "fieldhall"})
            except PeerUnauthorized:
                log.info("source %s refuses checkpoints; resuming from the target's", source.url)
                return StartPoint(target_log.source_last_seq, target_log.history), source_log
        return compare_logs(source_log, target_log), source_log

    async def _replicate_batch(
        self, source: PeerClient, target: PeerClient, batch: ChangesBatch
    ) -> None:
        rep = self.replication
        missing, checked = await find_missing(target, batch.changes)
        self._count(checked)
        if not missing:
            return
        fetched = await fetch_missing(
            source, missing, use_bulk_get=self._use_bulk_get, concurrency=rep.concurrency
        )
        self._use_bulk_get = fetched.use_bulk_get
        self._count(fetched.stats)
        written = await write_docs(target, fetched.docs, concurrency=rep.concurrency)
        if written.missing_stubs:
            written = Written(written.written, written.failures) + await self._rewrite_in_full(
                source, target, written.missing_stubs
            )
        self._count(written.stats)

    async def _rewrite_in_full(
        self, source: PeerClient, target: PeerClient, docs: tuple[dict[str, Any], ...]
    ) -> Written:
        """The target lacked attachments we expected it to have: fetch those revisions with
        every attachment and write them again (CouchDB's replicator does the same)."""
        fetched = await asyncio.gather(
            *(
                fetch_revision(source, str(doc["_id"]), [str(doc["_rev"])], attachments=True)
                for doc in docs
            )
        )
        full = [doc for docs_ in fetched for doc in docs_]
        again = await write_docs(target, full, concurrency=self.replication.concurrency)
        stubborn = tuple(
            DocFailure(str(d.get("_id")), str(d.get("_rev")), "missing_stub", "")
            for d in again.missing_stubs
        )
        return Written(again.written, again.failures + stubborn)

    async def _checkpoint(
        self, source: PeerClient, target: PeerClient, session: _Session, seq: Seq
    ) -> _Session:
        await ensure_full_commit(target, session.target_info.instance_start_time)
        body = next_log_body(
            session_id=session.session_id,
            recorded_seq=seq,
            start_seq=session.start.seq,
            started_at=session.started_at,
            ended_at=_now(),
            stats=self._progress.stats.to_json(),
            history=session.start.history,
        )
        source_log, write_source = session.source_log, session.write_source_checkpoint
        if write_source:
            try:
                source_log = await write_log(source, source_log, body)
            except PeerUnauthorized:
                log.info("source %s refuses checkpoints; keeping them on the target", source.url)
                write_source = False
        target_log = await write_log(target, session.target_log, body)
        self._set(end_last_seq=seq, checkpoint=body)
        return replace(
            session,
            source_log=source_log,
            target_log=target_log,
            committed=seq,
            write_source_checkpoint=write_source,
        )


async def replicate(
    replication: Replication,
    *,
    on_progress: ProgressCallback | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Progress:
    """Run a replication to its end (a continuous one until it is cancelled, e.g. by
    cancelling this coroutine) and return its final progress; raises
    :class:`ReplicationError` when it cannot complete."""
    job = ReplicationJob(replication, on_progress=on_progress, transport=transport).start()
    try:
        return await job.wait()
    except asyncio.CancelledError:
        job.cancel()
        raise
