"""The projector: follows the changes feed of ``/sync/field`` into the hall's tables.

One batch is: read the checkpoint; read up to ``batch`` changes after it and their winning
revisions (``Store.changes``, ``Store.revisions``: read transactions of their own); then, in
**one** write transaction, check that the checkpoint has not moved (another worker may have
projected the batch: then start over), apply every document, move the checkpoint, and append
the audit entries (``device.document_received`` for each device document; the workflow's own
for the transitions documents trigger) last. Rows and checkpoint commit together, so a crash
anywhere replays the whole batch and nothing of it is half there.

Fast enough for a backlog (bench/hall_bench.py (a)): a device document's signed-bytes hash is
the one the door put in its receipt when the receipt is in the batch (a full batch ends
before a document whose receipt follows it, see :func:`_tail_to_next_batch`), and hashed
here otherwise; hot rows are built with :func:`~fieldhall.server.hall.rows.new_row`; the
search terms and materials of the whole batch are one insert each when it ends.

Idempotent: a device document is projected once (``hall_document`` is keyed by its id and a
synced device document is immutable), so a lost or rewound checkpoint re-reads documents
without duplicating a row, an event or an audit entry. Server documents in the feed complete
what the hall wrote: a ``case_event`` marks its outbox row published, a ``receipt`` is
recorded against the document it acknowledges.

:meth:`Projector.project_pending` runs batches until the feed is drained (tests call it);
:meth:`Projector.start` runs it in a background thread woken by every commit to the field
database (a store commit listener) and polling every ``poll_interval`` seconds for writes of
other server processes; given a pacer (``server/pacing``), each batch is a turn of it: the
thread waits for a pause in device writes before it projects, a second at most, and under a
sustained burst takes a bounded share of the time, so a push is projected in a few large
batches rather than competing with the door for every one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.schemas import chain_hash
from fieldhall.sync.policy import Principal
from fieldhall.sync.store import DocState

from ..pacing import IngestPacer
from .audit import Actor, Subject
from .events import publish_events
from .rows import new_row
from .tables import HallDocument, HallEvent, ProjectorCheckpoint
from .visits import receive_update
from .visits.documents import publish_visit_requests
from .workflow import Tx, Workflow

__all__ = ["DEVICE_TYPES", "Projector", "ProjectorLag", "unpublished_events"]

log = logging.getLogger("fieldhall.hall.projector")

DEVICE_TYPES = frozenset({"case", "supplement", "delivery", "visit_update"})
DEFAULT_BATCH = 500
_SHA256 = re.compile(r"[0-9a-f]{64}")
_UNSIGNED = ("_rev", "_revisions", "_attachments", "_conflicts", "_deleted_conflicts")


@dataclass(frozen=True, slots=True)
class ProjectorLag:
    checkpoint: int
    update_seq: int

    @property
    def lag(self) -> int:
        return max(0, self.update_seq - self.checkpoint)

    def to_json(self) -> dict[str, int]:
        return {"checkpoint": self.checkpoint, "update_seq": self.update_seq, "lag": self.lag}


class Projector:
    def __init__(
        self,
        field: FieldService,
        workflow: Workflow,
        *,
        name: str = "hall",
        batch: int = DEFAULT_BATCH,
        poll_interval: float = 1.0,
        pacer: IngestPacer | None = None,
    ) -> None:
        self.field = field
        self.workflow = workflow
        self.name = name
        self.batch = batch
        self.poll_interval = poll_interval
        # The background thread's batches wait for a pause in device writes (bounded).
        self.pacer = pacer
        self.projected_total = 0  # device documents this process projected (a counter)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ position

    def checkpoint(self) -> int:
        with self.field.read_session() as session:
            row = session.get(ProjectorCheckpoint, self.name)
            return int(row.seq) if row is not None else 0

    def lag(self) -> ProjectorLag:
        return ProjectorLag(self.checkpoint(), self.field.store.info(FIELD_DB).update_seq)

    def _locked_checkpoint(self, session: Session) -> ProjectorCheckpoint:
        query = select(ProjectorCheckpoint).where(ProjectorCheckpoint.name == self.name)
        row = session.exec(query.with_for_update()).first()
        if row is None:
            try:
                with session.begin_nested():
                    session.add(ProjectorCheckpoint(name=self.name, seq=0, updated_at=now()))
            except IntegrityError:
                pass  # another worker made it first
            row = session.exec(query.with_for_update()).one()
        return row

    # ------------------------------------------------------------------ projecting

    def project_pending(self) -> int:
        """Project until the feed is drained; returns the changes consumed."""
        total = 0
        while True:
            consumed = self.project_batch()
            if consumed == 0:
                return total
            total += max(consumed, 0)

    def project_batch(self) -> int:
        """One batch: the number of changes consumed, 0 when there were none, -1 when another
        worker moved the checkpoint first (the caller tries again)."""
        since = self.checkpoint()
        store = self.field.store
        states, _ = store.changes(FIELD_DB, since=since, limit=self.batch)
        if not states:
            return 0
        records = store.revisions(FIELD_DB, [(s.doc_id, s.winner) for s in states])
        docs = [
            (state, {"_id": state.doc_id, "_rev": record.rev, **record.body})
            for state in states
            if (record := records.get((state.doc_id, state.winner))) is not None
            and not record.deleted
        ]
        hashes = _door_hashes(docs)
        if len(states) == self.batch:  # the feed goes on: maybe with the tail's receipts
            states, docs = _tail_to_next_batch(states, docs, hashes)
        with self.workflow.transaction() as tx:
            checkpoint = self._locked_checkpoint(tx.session)
            if checkpoint.seq != since:
                return -1
            known = self._known_documents(tx, docs)
            for state, doc in docs:
                self._apply(tx, state, doc, known, hashes)
            checkpoint.seq = states[-1].seq
            checkpoint.updated_at = tx.at
            tx.session.add(checkpoint)
        return len(states)

    def _known_documents(
        self, tx: Tx, docs: list[tuple[DocState, dict[str, Any]]]
    ) -> dict[str, HallDocument]:
        """The batch's device documents projected before, and those its receipts are for
        (one query, instead of one lookup — and one autoflush — per document)."""
        wanted = {s.doc_id for s, d in docs if d.get("type") in DEVICE_TYPES}
        wanted |= {
            str((d.get("for") or {}).get("id")) for _, d in docs if d.get("type") == "receipt"
        }
        if not wanted:
            return {}
        rows = tx.session.exec(
            select(HallDocument).where(col(HallDocument.doc_id).in_(sorted(wanted)))
        )
        return {row.doc_id: row for row in rows}

    def _apply(
        self,
        tx: Tx,
        state: DocState,
        doc: dict[str, Any],
        known: dict[str, HallDocument],
        hashes: Mapping[tuple[str, str], str],
    ) -> None:
        doc_type = doc.get("type")
        if doc_type in DEVICE_TYPES:
            if state.doc_id in known:
                return  # projected before: a replayed batch or a rewound checkpoint
            sha = hashes.get((state.doc_id, str(doc["_rev"])))
            known[state.doc_id] = self._device_document(tx, state, doc, sha)
        elif doc_type == "case_event":
            event = tx.session.get(HallEvent, state.doc_id)
            if event is not None and event.published_at is None:
                event.published_at = tx.at
                tx.session.add(event)
        elif doc_type == "receipt":
            projected = known.get(str((doc.get("for") or {}).get("id")))
            if projected is not None and projected.receipt_id is None:
                projected.receipt_id = state.doc_id
                tx.session.add(projected)

    def _device_document(
        self, tx: Tx, state: DocState, doc: Mapping[str, Any], sha: str | None
    ) -> HallDocument:
        doc_type = str(doc["type"])
        case_id = state.doc_id if doc_type == "case" else doc.get("case_id")
        if sha is None:
            sha = chain_hash({k: v for k, v in doc.items() if k not in _UNSIGNED})
        row = new_row(
            HallDocument,
            doc_id=state.doc_id,
            type=doc_type,
            case_id=case_id,
            rev=str(doc["_rev"]),
            seq=state.seq,
            agent_id=str(doc.get("agent_id")),
            device_id=str(doc.get("device_id")),
            device_seq=int(doc.get("device_seq") or 0),
            signed_sha256=sha,
            received_at=tx.at,
        )
        tx.session.add(row)
        outcome: str | None = None
        mark = len(tx.audits)
        if doc_type == "case":
            self.workflow.receive_case(tx, doc, state.seq)
        elif doc_type == "supplement":
            outcome = self.workflow.receive_supplement(tx, doc).outcome
        elif doc_type == "delivery":
            outcome = self.workflow.receive_delivery(tx, doc).outcome
        elif doc_type == "visit_update":
            outcome = receive_update(tx, doc, self.workflow.calendar).outcome
        self.projected_total += 1
        # Received before the transitions it triggers: the audit log reads in causal order.
        tx.audits.insert(
            mark,
            (
                Actor.device(str(doc.get("device_id"))),
                "device.document_received",
                Subject(doc_type, state.doc_id),
                {
                    k: v
                    for k, v in {
                        "rev": doc["_rev"],
                        "seq": state.seq,
                        "case_id": case_id,
                        "sha256": sha,
                        "outcome": outcome,
                    }.items()
                    if v is not None
                },
            ),
        )
        return row

    # ------------------------------------------------------------------ running

    def start(self) -> Projector:
        """Project in a background thread until :meth:`stop`."""
        if self._thread is not None:
            return self
        self.field.store.commit_listeners.append(self._on_commit)
        if self.pacer is not None:
            self.field.store.write_listeners.append(self.pacer.on_write)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hall-projector", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._on_commit in self.field.store.commit_listeners:
            self.field.store.commit_listeners.remove(self._on_commit)
        if self.pacer is not None and self.pacer.on_write in self.field.store.write_listeners:
            self.field.store.write_listeners.remove(self.pacer.on_write)

    def wake(self) -> None:
        self._wake.set()

    def _on_commit(self, database: str, principal: Principal, docs: list[dict[str, Any]]) -> None:
        if database == FIELD_DB:
            self._wake.set()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while self._turn() and not self._stop.is_set():
                    pass
                failures = 0
            except Exception:
                failures += 1
                log.exception("projector batch failed (attempt %d); retrying", failures)
            delay = self.poll_interval * min(2**failures, 30) if failures else self.poll_interval
            self._wake.wait(delay)

    def _turn(self) -> bool:
        """One batch and the hall's documents it leads to (paced: a turn of the pacer);
        whether the feed may hold more."""
        with self.pacer.turn(self._stop) if self.pacer is not None else nullcontext():
            if self._stop.is_set():
                return False
            consumed = self.project_batch()
            publish_events(self.field)
            publish_visit_requests(self.field)  # a visit taken by its agent is re-signed
        return consumed != 0


def _door_hashes(docs: list[tuple[DocState, dict[str, Any]]]) -> dict[tuple[str, str], str]:
    """The signed-bytes hashes the door computed, from the batch's receipts: (id, rev) →
    SHA-256.

    A receipt's ``for.sha256`` is ``chain_hash`` of the revision ``for.rev`` of document
    ``for.id`` as the door stored it (``field_app_api.receipts``), which is what
    :meth:`Projector._device_document` would compute from that revision: ``chain_hash``
    hashes the signed bytes, which leave out exactly the members the two views differ in
    (``_rev``, ``_attachments``…). Only the server writes receipts. A document whose receipt
    is not in the batch, or names another revision, is hashed here (a backlog, where speed
    matters, has its receipts in the feed)."""
    hashes: dict[tuple[str, str], str] = {}
    for _, doc in docs:
        if doc.get("type") != "receipt":
            continue
        acknowledged = doc.get("for")
        if not isinstance(acknowledged, Mapping):
            continue
        doc_id, rev, sha = (
            acknowledged.get("id"),
            acknowledged.get("rev"),
            acknowledged.get("sha256"),
        )
        if (
            isinstance(doc_id, str)
            and isinstance(rev, str)
            and isinstance(sha, str)
            and _SHA256.fullmatch(sha)
        ):
            hashes[(doc_id, rev)] = sha
    return hashes


def _tail_to_next_batch(
    states: list[DocState],
    docs: list[tuple[DocState, dict[str, Any]]],
    hashes: Mapping[tuple[str, str], str],
) -> tuple[list[DocState], list[tuple[DocState, dict[str, Any]]]]:
    """A full batch ends before its first device document whose receipt is not in it, if
    that keeps half the batch: receipts follow their documents in the feed, so the next
    batch brings that document with its receipt, and the door's hash saves hashing it
    here. Never less than half, so a feed without receipts is projected at full pace."""
    for index, (state, doc) in enumerate(docs):
        if doc.get("type") in DEVICE_TYPES and (state.doc_id, str(doc["_rev"])) not in hashes:
            keep = sum(1 for s in states if s.seq < state.seq)
            if keep < max(1, len(states) // 2):
                break
            return states[:keep], docs[:index]
    return states, docs


def unpublished_events(field: FieldService) -> int:
    """Signed events not yet written into ``/sync/field`` (the outbox's depth)."""
    with field.read_session() as session:
        count = session.exec(
            select(func.count())
            .select_from(HallEvent)
            .where(col(HallEvent.published_at).is_(None), col(HallEvent.document).is_not(None))
        ).one()
    return int(count)
