"""The document store: databases, documents and their revision trees, sequences, channels.

Every write is one transaction that first locks its database's row (``update_seq`` is the
sequence counter), so sequences are allocated in commit order on SQLite and PostgreSQL alike,
and revision-tree updates are decided inside the transaction — several server processes may
share one database. Attachment bytes reach the blob store (fsynced) before the transaction
that refers to them begins.

Read paths take a :class:`Principal`; one with channels sees only documents in them, and for
everything else the store answers exactly as if the document did not exist.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from . import revtree
from . import tables as t
from .blobs import GC_GRACE_SECONDS, BlobStore, PendingBlobs
from .changes import NOTIFY_CHANNEL, ChangeNotifier
from .connection import Database, Raw, for_driver
from .documents import IncomingDoc, StoredAttachment
from .errors import BadRequest, Conflict, CouchError, Forbidden, NotFound, PreconditionFailed
from .policy import (
    ADMIN,
    BatchPreparingWritePolicy,
    BatchWritePolicy,
    ChannelFunction,
    PreparingWritePolicy,
    Principal,
    StubResolver,
    Unchanged,
    WriteContext,
    WritePolicy,
)
from .revs import new_rev
from .revtree import MergeOutcome, RevNode

__all__ = [
    "CommitListener",
    "CompanionWriter",
    "DatabaseInfo",
    "DocState",
    "RevisionRecord",
    "Store",
    "WriteResult",
]

CommitListener = Callable[[str, Principal, list[dict[str, Any]]], None]
# (database, principal, writing): True as a write starts, False as it ends, committed or not.
WriteListener = Callable[[str, Principal, bool], None]
# (connection, database, principal, stored docs) -> documents to store with them, as admin.
CompanionWriter = Callable[
    [Connection, str, Principal, list[dict[str, Any]]], Sequence["IncomingDoc"]
]

log = logging.getLogger("fieldhall.sync.store")

_DB_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_$()+-/")
_SELECTOR_SCAN_BATCH = 500


@dataclass(frozen=True, slots=True)
class DocState:
    """A document's row: its tree, winner and latest sequence."""

    doc_id: str
    seq: int
    winner: str
    deleted: bool
    tree: dict[str, RevNode]
    channels: frozenset[str]

    def leaves(self) -> list[str]:
        return revtree.leaves(self.tree)


@dataclass(frozen=True, slots=True)
class RevisionRecord:
    rev: str
    deleted: bool
    body: dict[str, Any]
    attachments: dict[str, StoredAttachment]


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    name: str
    update_seq: int
    doc_count: int
    doc_del_count: int
    revs_limit: int
    created_at: float


@dataclass(slots=True)
class WriteResult:
    doc_id: str
    rev: str | None = None
    error: CouchError | None = None
    changed: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"id": self.doc_id, "error": self.error.error_name, "reason": self.error.reason}
        return {"ok": True, "id": self.doc_id, "rev": self.rev}


@dataclass(slots=True)
class _PendingDoc:
    """A document's state while a batch is being applied."""

    old: DocState | None
    tree: dict[str, RevNode]
    channels: frozenset[str]
    removed_revs: set[str] = field(default_factory=set)


def _tree_to_json(tree: Mapping[str, RevNode]) -> str:
    return orjson.dumps(
        {rev: [node.parent, int(node.deleted)] for rev, node in tree.items()}
    ).decode()


def _tree_from_json(text: str) -> dict[str, RevNode]:
    return {rev: RevNode(p, bool(d)) for rev, (p, d) in orjson.loads(text).items()}


def _state_from_row(row: Sequence[Any]) -> DocState:
    """A document row selected as ``_DOC_COLUMNS`` (raw SQL) or ``_DOC_SELECT`` (Core)."""
    doc_id, seq, winner, deleted, tree, channels = row
    return DocState(
        doc_id,
        seq,
        winner,
        bool(deleted),  # SQLite's driver answers 0/1
        _tree_from_json(tree),
        frozenset(orjson.loads(channels)) if channels else frozenset(),
    )


@dataclass(frozen=True, slots=True)
class _DbRow:
    """A database's row (``sync_database``), as every request reads it first."""

    id: int
    name: str
    update_seq: int
    revs_limit: int
    doc_count: int
    doc_del_count: int
    created_at: float


def _atts_to_json(atts: Mapping[str, StoredAttachment]) -> str | None:
    if not atts:
        return None
    return orjson.dumps({name: att.to_json() for name, att in atts.items()}).decode()


def _atts_from_json(text: str | None) -> dict[str, StoredAttachment]:
    if not text:
        return {}
    return {name: StoredAttachment.from_json(v) for name, v in orjson.loads(text).items()}


def check_db_name(name: str) -> str:
    """CouchDB's rule: a lowercase letter, then lowercase letters, digits and ``_$()+-/``."""
    if (
        not name
        or not ("a" <= name[0] <= "z")
        or not set(name) <= _DB_NAME_CHARS
        or len(name) > 238
    ):
        raise BadRequest(
            "Name: '" + name + "'. Only lowercase characters (a-z), digits (0-9), and any of"
            " the characters _, $, (, ), +, -, and / are allowed. Must begin with a letter.",
            error="illegal_database_name",
        )
    return name


class Store:
    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        *,
        channel_function: ChannelFunction | None = None,
        write_policy: WritePolicy | None = None,
        notifier: ChangeNotifier | None = None,
        stub_resolver: StubResolver | None = None,
    ) -> None:
        self.db = database
        self.sql = _Sql(database.is_sqlite)
        self.blobs = blobs
        self.channel_function = channel_function
        self.write_policy = write_policy
        # Consulted for a stub the document's ancestors do not have (e.g. uploaded bytes).
        self.stub_resolver = stub_resolver
        self.notifier = notifier or ChangeNotifier()
        # Called after a write commits, with (database, principal, stored docs); e.g. to
        # acknowledge what arrived. Runs in the writer's thread, outside its transaction.
        self.commit_listeners: list[CommitListener] = []
        # Called as each write starts and as it ends (committed, refused or failed), in the
        # writer's thread: what is being written right now, e.g. to hold background work
        # back while the door is busy, however long a batch takes.
        self.write_listeners: list[WriteListener] = []
        # Called inside a write's transaction once its documents are applied, with the same
        # arguments; the documents it returns are stored in that transaction as the admin's
        # (e.g. a signed acknowledgement of each; no attachment bytes), and its own statements
        # on the connection commit with them: the write and its companions commit together or
        # not at all.
        self.companion_writers: list[CompanionWriter] = []
        # Compaction never removes blobs younger than this (their writes may be in flight).
        self.blob_grace_seconds = GC_GRACE_SECONDS
        t.metadata.create_all(database.engine)

    def server_uuid(self) -> str:
        """The server's identity, stable for the life of the data (clients key replications on
        it); shared by every process that uses the same database."""
        with self.db.write() as conn:
            query = select(t.server.c.value).where(t.server.c.key == "uuid")
            value = conn.execute(query).scalar()
            if value is None:
                value = uuid.uuid4().hex
                conn.execute(insert(t.server).values(key="uuid", value=value))
            return str(value)

    # ------------------------------------------------------------------ databases

    def _db_row(self, conn: Connection | Raw, name: str, *, lock: bool = False) -> _DbRow:
        raw = conn if isinstance(conn, Raw) else Database.raw(conn)
        row = raw.first(self.sql.db_row_for_update if lock else self.sql.db_row, (name,))
        if row is None:
            raise NotFound("Database does not exist.")
        return _DbRow(*row)

    def create_database(self, name: str, *, exist_ok: bool = False) -> bool:
        check_db_name(name)
        with self.db.write() as conn:
            exists = conn.execute(select(t.database.c.id).where(t.database.c.name == name)).first()
            if exists is not None:
                if exist_ok:
                    return False
                raise PreconditionFailed()
            conn.execute(
                insert(t.database).values(
                    name=name,
                    update_seq=0,
                    revs_limit=revtree.DEFAULT_REVS_LIMIT,
                    doc_count=0,
                    doc_del_count=0,
                    created_at=time.time(),
                )
            )
        return True

    def delete_database(self, name: str) -> None:
        with self.db.write() as conn:
            row = self._db_row(conn, name, lock=True)
            for table in (t.document, t.revision, t.channel, t.local):
                conn.execute(delete(table).where(table.c.db_id == row.id))
            conn.execute(delete(t.database).where(t.database.c.id == row.id))
        self.notifier.notify(name)

    def database_names(self) -> list[str]:
        with self.db.read() as conn:
            return list(conn.scalars(select(t.database.c.name).order_by(t.database.c.name)))

    def database_exists(self, name: str) -> bool:
        with self.db.read() as conn:
            query = select(t.database.c.id).where(t.database.c.name == name)
            return conn.execute(query).first() is not None

    def info(self, name: str, principal: Principal = ADMIN) -> DatabaseInfo:
        if principal.channels is None:
            with self.db.read_raw() as raw:
                row = self._db_row(raw, name)
            return DatabaseInfo(
                name,
                row.update_seq,
                row.doc_count,
                row.doc_del_count,
                row.revs_limit,
                row.created_at,
            )
        with self.db.read() as conn:
            row = self._db_row(conn, name)
            states = self._load_states(
                conn, row.id, self._visible_ids(conn, row.id, principal.channels)
            )
            live = sum(1 for state in states.values() if not state.deleted)
            dead = len(states) - live
            seq = max((state.seq for state in states.values()), default=0)
            return DatabaseInfo(name, seq, live, dead, row.revs_limit, row.created_at)

    def _visible_ids(self, conn: Connection, db_id: int, channels: frozenset[str]) -> list[str]:
        """The sorted ids of the documents in ``channels``, read from the channel index alone
        (its key leads with the channel), so the cost follows what the principal may see."""
        ch = t.channel.c
        rows = conn.execute(
            select(ch.doc_id).where(ch.db_id == db_id, ch.channel.in_(sorted(channels)))
        )
        return sorted({doc_id for (doc_id,) in rows})

    def _visible_docs_subquery(self, db_id: int, channels: frozenset[str]) -> Any:
        return (
            select(t.channel.c.doc_id)
            .where(t.channel.c.db_id == db_id, t.channel.c.channel.in_(sorted(channels)))
            .scalar_subquery()
        )

    def get_revs_limit(self, name: str) -> int:
        with self.db.read() as conn:
            return int(self._db_row(conn, name).revs_limit)

    def set_revs_limit(self, name: str, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise BadRequest("revs_limit must be a positive integer")
        with self.db.write() as conn:
            row = self._db_row(conn, name, lock=True)
            conn.execute(
                update(t.database).where(t.database.c.id == row.id).values(revs_limit=limit)
            )

    # ------------------------------------------------------------------ reads

    def _load_states(
        self, conn: Connection | Raw, db_id: int, doc_ids: Iterable[str]
    ) -> dict[str, DocState]:
        raw = conn if isinstance(conn, Raw) else Database.raw(conn)
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        rows = raw.rows(self.sql.states, (db_id, self.sql.id_list(ids)))
        return {row[0]: _state_from_row(row) for row in rows}

    def document(self, name: str, doc_id: str, principal: Principal = ADMIN) -> DocState:
        """The state of a document the principal may see; 404 ``missing`` otherwise."""
        with self.db.read_raw() as raw:
            row = self._db_row(raw, name)
            state = self._load_states(raw, row.id, [doc_id]).get(doc_id)
        if state is None or not principal.may_see(state.channels):
            raise NotFound("missing")
        return state

    def documents(
        self, name: str, doc_ids: Iterable[str], principal: Principal = ADMIN
    ) -> dict[str, DocState]:
        """States of the given documents the principal may see (others are absent)."""
        with self.db.read_raw() as raw:
            row = self._db_row(raw, name)
            states = self._load_states(raw, row.id, doc_ids)
        return {k: v for k, v in states.items() if principal.may_see(v.channels)}

    def revisions(
        self, name: str, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RevisionRecord]:
        """Stored bodies for ``(doc_id, rev)`` pairs (absent when not stored)."""
        with self.db.read_raw() as raw:
            row = self._db_row(raw, name)
            return self._load_revisions(raw, row.id, pairs)

    def _load_revisions(
        self, conn: Connection | Raw, db_id: int, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], RevisionRecord]:
        if not pairs:
            return {}
        raw = conn if isinstance(conn, Raw) else Database.raw(conn)
        wanted = set(pairs)
        ids = list(dict.fromkeys(doc_id for doc_id, _ in pairs))
        revs = list(dict.fromkeys(rev for _, rev in pairs))
        rows = raw.rows(self.sql.revisions, (db_id, self.sql.id_list(ids), self.sql.id_list(revs)))
        return _revision_records(rows, wanted)

    def revs_diff(
        self, name: str, request: Mapping[str, Sequence[str]], principal: Principal = ADMIN
    ) -> dict[str, dict[str, list[str]]]:
        states = self.documents(name, request.keys(), principal)
        answer: dict[str, dict[str, list[str]]] = {}
        for doc_id, revs in request.items():
            state = states.get(doc_id)
            known = state.tree if state is not None else {}
            missing = [rev for rev in dict.fromkeys(revs) if rev not in known]
            if not missing:
                continue
            entry: dict[str, list[str]] = {"missing": missing}
            if state is not None:
                # As couch_db:find_missing: a leaf older than any missing rev may be its ancestor.
                highest = max(revtree.generation(r) for r in missing)
                ancestors = [r for r in state.leaves() if revtree.generation(r) < highest]
                if ancestors:
                    entry["possible_ancestors"] = ancestors
            answer[doc_id] = entry
        return answer

    def pending_changes(
        self,
        name: str,
        after: int,
        *,
        principal: Principal = ADMIN,
        doc_ids: Sequence[str] | None = None,
    ) -> int:
        """How many changed documents follow ``after`` (CouchDB's ``pending``)."""
        with self.db.read() as conn:
            row = self._db_row(conn, name)
            return self._pending(conn, row, after, principal, doc_ids)

    def _pending(
        self,
        conn: Connection | Raw,
        row: _DbRow,
        after: int,
        principal: Principal,
        doc_ids: Sequence[str] | None,
    ) -> int:
        if principal.channels is None and doc_ids is None:
            raw = conn if isinstance(conn, Raw) else Database.raw(conn)
            found = raw.first(self.sql.pending, (row.id, after))
            return int(found[0]) if found else 0
        assert isinstance(conn, Connection)
        if principal.channels is not None and doc_ids is None:
            # From the channel index: a principal's rows after `after`, never the database.
            ch = t.channel.c
            seqs = (
                select(ch.seq)
                .where(
                    ch.db_id == row.id,
                    ch.channel.in_(sorted(principal.channels)),
                    ch.seq > after,
                )
                .distinct()
                .subquery()
            )
            return int(conn.execute(select(func.count()).select_from(seqs)).scalar_one())
        query = (
            select(func.count())
            .select_from(t.document)
            .where(t.document.c.db_id == row.id, t.document.c.seq > after)
        )
        if principal.channels is not None:
            visible = self._visible_docs_subquery(row.id, principal.channels)
            query = query.where(t.document.c.doc_id.in_(visible))
        if doc_ids is not None:
            query = query.where(t.document.c.doc_id.in_(list(doc_ids)))
        return int(conn.execute(query).scalar_one())

    def changes(
        self,
        name: str,
        *,
        since: int,
        limit: int | None,
        descending: bool = False,
        principal: Principal = ADMIN,
        doc_ids: Sequence[str] | None = None,
        match: Callable[[DocState, RevisionRecord | None], bool] | None = None,
    ) -> tuple[list[DocState], int]:
        """Changed documents after ``since`` in sequence order, and the feed's ``last_seq``.

        ``match`` (a selector) is given the winning revision and filters while scanning.
        """
        states, last, _ = self.changes_and_pending(
            name,
            since=since,
            limit=limit,
            descending=descending,
            principal=principal,
            doc_ids=doc_ids,
            match=match,
            count_pending=False,
        )
        return states, last

    def changes_and_pending(
        self,
        name: str,
        *,
        since: int,
        limit: int | None,
        descending: bool = False,
        principal: Principal = ADMIN,
        doc_ids: Sequence[str] | None = None,
        match: Callable[[DocState, RevisionRecord | None], bool] | None = None,
        count_pending: bool = True,
    ) -> tuple[list[DocState], int, int]:
        """As :meth:`changes`, plus CouchDB's ``pending`` (the changes left after a full
        page; 0 for a selector or a descending feed), read in the same transaction."""
        # An unfiltered feed (a replication's) is a few statements on the driver's connection.
        plain = principal.channels is None and doc_ids is None and not descending
        with self.db.read_raw() if plain else self.db.read() as conn:
            row = self._db_row(conn, name)

            def page(cursor: int, count: int | None) -> list[DocState]:
                if isinstance(conn, Raw):
                    if count is None:
                        found = conn.rows(self.sql.changes_all, (row.id, cursor))
                    else:
                        found = conn.rows(self.sql.changes_page, (row.id, cursor, count))
                    return [_state_from_row(r) for r in found]
                query = self._changes_page(
                    conn, row.id, cursor, count, descending, principal.channels, doc_ids
                )
                return [_state_from_row(r) for r in conn.execute(query)]

            if match is not None:
                states, last = self._scan_matching(
                    conn, row, page, since, limit, descending, match, principal
                )
                return states, last, 0
            states = page(since, limit)
            last = self._last_seq(conn, row, principal, states, limit, since, descending)
            pending = 0
            if count_pending and not descending and limit is not None and len(states) >= limit:
                pending = self._pending(conn, row, last, principal, doc_ids)
            return states, last, pending

    def _changes_page(
        self,
        conn: Connection,
        db_id: int,
        cursor: int,
        count: int | None,
        descending: bool,
        channels: frozenset[str] | None,
        doc_ids: Sequence[str] | None,
    ) -> Any:
        """The documents changed after ``cursor`` (before it when descending; 0 is the end).

        With channels and no id filter the walk starts from the channel index, so a feed costs
        what it returns, not the size of the database."""
        doc = t.document.c
        seq_col = doc.seq
        if channels is not None and doc_ids is None:
            ch = t.channel.c
            seqs = select(ch.seq).where(ch.db_id == db_id, ch.channel.in_(sorted(channels)))
            if descending:
                if cursor > 0:
                    seqs = seqs.where(ch.seq < cursor)
                seqs = seqs.distinct().order_by(ch.seq.desc())
            else:
                seqs = seqs.where(ch.seq > cursor).distinct().order_by(ch.seq)
            if count is not None:
                seqs = seqs.limit(count)
            # Two steps on purpose: joined, SQLite walks every document of the database.
            picked = [seq for (seq,) in conn.execute(seqs)]
            query = select(*_DOC_SELECT).where(doc.db_id == db_id, seq_col.in_(picked))
            return query.order_by(seq_col.desc() if descending else seq_col)
        query = select(*_DOC_SELECT).where(doc.db_id == db_id)
        if channels is not None:
            query = query.where(doc.doc_id.in_(self._visible_docs_subquery(db_id, channels)))
        if doc_ids is not None:
            query = query.where(doc.doc_id.in_(list(doc_ids)))
        if descending:
            if cursor > 0:
                query = query.where(seq_col < cursor)
            query = query.order_by(seq_col.desc())
        else:
            query = query.where(seq_col > cursor).order_by(seq_col)
        return query.limit(count) if count is not None else query

    def _last_seq(
        self,
        conn: Connection | Raw,
        db_row: _DbRow,
        principal: Principal,
        states: list[DocState],
        limit: int | None,
        since: int,
        descending: bool,
    ) -> int:
        if states and (descending or (limit is not None and len(states) >= limit)):
            return states[-1].seq
        if principal.channels is None:
            return int(db_row.update_seq) if not descending else 0
        if states:
            return states[-1].seq
        return since if not descending else 0

    def _scan_matching(
        self,
        conn: Connection | Raw,
        db_row: _DbRow,
        page: Callable[[int, int | None], list[DocState]],
        since: int,
        limit: int | None,
        descending: bool,
        match: Callable[[DocState, RevisionRecord | None], bool],
        principal: Principal = ADMIN,
    ) -> tuple[list[DocState], int]:
        matched: list[DocState] = []
        cursor = since
        while True:
            batch = page(cursor, _SELECTOR_SCAN_BATCH)
            if not batch:
                break
            bodies = self._load_revisions(conn, db_row.id, [(s.doc_id, s.winner) for s in batch])
            for state in batch:
                cursor = state.seq
                if match(state, bodies.get((state.doc_id, state.winner))):
                    matched.append(state)
                    if limit is not None and len(matched) >= limit:
                        return matched, cursor
            if len(batch) < _SELECTOR_SCAN_BATCH:
                break
        if descending:
            return matched, 0
        if principal.channels is not None:
            # The scan covered every document this principal may see: its own end, never
            # the database's update_seq (that would reveal others' activity).
            return matched, cursor
        return matched, max(cursor, int(db_row.update_seq))

    def all_docs(
        self,
        name: str,
        *,
        principal: Principal = ADMIN,
        start: str | None = None,
        end: str | None = None,
        inclusive_end: bool = True,
        descending: bool = False,
        limit: int | None = None,
        skip: int = 0,
    ) -> tuple[list[DocState], int]:
        """Live documents in id order within the range, and ``total_rows``."""
        with self.db.read() as conn:
            row = self._db_row(conn, name)
            doc = t.document.c
            query = select(*_DOC_SELECT).where(doc.db_id == row.id, doc.deleted.is_(False))
            count_query = select(func.count()).select_from(t.document)
            count_query = count_query.where(doc.db_id == row.id, doc.deleted.is_(False))
            if principal.channels is not None:
                return self._visible_all_docs(
                    conn,
                    row.id,
                    principal.channels,
                    start,
                    end,
                    inclusive_end,
                    descending,
                    limit,
                    skip,
                )
            else:
                total = int(row.doc_count)
            low, high = (end, start) if descending else (start, end)
            if low is not None:
                query = query.where(
                    doc.doc_id >= low if (inclusive_end or not descending) else doc.doc_id > low
                )
            if high is not None:
                query = query.where(
                    doc.doc_id <= high if (inclusive_end or descending) else doc.doc_id < high
                )
            query = query.order_by(doc.doc_id.desc() if descending else doc.doc_id)
            if skip:
                query = query.offset(skip)
            if limit is not None:
                query = query.limit(limit)
            return [_state_from_row(r) for r in conn.execute(query)], total

    def _visible_all_docs(
        self,
        conn: Connection,
        db_id: int,
        channels: frozenset[str],
        start: str | None,
        end: str | None,
        inclusive_end: bool,
        descending: bool,
        limit: int | None,
        skip: int,
    ) -> tuple[list[DocState], int]:
        ids = self._visible_ids(conn, db_id, channels)
        states = self._load_states(conn, db_id, ids)
        live = [states[i] for i in ids if i in states and not states[i].deleted]
        if descending:
            live.reverse()
        low, high = (end, start) if descending else (start, end)

        def in_range(doc_id: str) -> bool:
            if low is not None and (
                doc_id < low or (doc_id == low and not inclusive_end and descending)
            ):
                return False
            return not (
                high is not None
                and (doc_id > high or (doc_id == high and not inclusive_end and not descending))
            )

        chosen = [state for state in live if in_range(state.doc_id)][skip:]
        return (chosen[:limit] if limit is not None else chosen), len(live)

    # ------------------------------------------------------------------ writes

    def resolve_attachment_bytes(self, docs: Iterable[IncomingDoc]) -> PendingBlobs:
        """Write inline attachment bytes to the blob store before the transaction, all of a
        batch's together (their fsyncs are shared), in the background: they are addressed when
        this returns (the bytes at hand in the result's ``bytes_of``), readable and durable once
        its ``wait_durable`` returns, before the transaction begins."""
        inline = [
            att
            for doc in docs
            for att in (doc.attachments or {}).values()
            if att.data is not None and att.resolved is None
        ]
        pending = self.blobs.start_put_many([att.data for att in inline if att.data is not None])
        for att, info in zip(inline, pending.infos, strict=True):
            att.resolved = StoredAttachment(
                att.content_type, info.length, info.md5_digest, info.sha256, revpos=att.revpos or 0
            )
            att.data = None
        return pending

    def bulk_docs(
        self,
        name: str,
        docs: Sequence[IncomingDoc | CouchError],
        *,
        new_edits: bool = True,
        principal: Principal = ADMIN,
        in_transaction: Callable[[Connection, list[WriteResult]], None] | None = None,
    ) -> list[WriteResult]:
        """Apply a batch; each document succeeds or fails on its own, in one transaction.

        ``in_transaction(connection, results)`` runs in that transaction once the batch is
        applied: the caller's own rows about these documents commit with them, or not at all.
        """
        with self._writing(name, principal):
            blobs = self.resolve_attachment_bytes(d for d in docs if isinstance(d, IncomingDoc))
            try:
                # The policy's checks run while the blobs are being written and synced.
                prepared = self._prepare_writes(name, docs, principal, blobs.bytes_of)
            except BaseException:
                with suppress(Exception):  # the checks' failure is the one to report
                    blobs.wait_durable()
                raise
            blobs.wait_durable()
            with self.db.write() as conn:
                db_row = self._db_row(conn, name, lock=True)
                batch = _Batch(self, conn, db_row, principal, new_edits)
                batch.prefetch(d.doc_id for d in docs if isinstance(d, IncomingDoc))
                batch.begin([d.body for d in docs if isinstance(d, IncomingDoc)])
                results = [
                    batch.apply(doc, ready) for doc, ready in zip(docs, prepared, strict=True)
                ]
                batch.end()
                batch.flush()
                companions = self._write_companions(conn, db_row, name, principal, batch)
                if in_transaction is not None:
                    in_transaction(conn, results)
            if batch.changed:
                self.notifier.notify(name)
                self._tell_listeners(name, principal, batch.stored_docs)
                if companions is not None and companions.changed:
                    self._tell_listeners(name, ADMIN, companions.stored_docs)
        return results

    @contextmanager
    def _writing(self, name: str, principal: Principal) -> Iterator[None]:
        for listener in self.write_listeners:
            listener(name, principal, True)
        try:
            yield
        finally:
            for listener in self.write_listeners:
                listener(name, principal, False)

    def _write_companions(
        self, conn: Connection, db_row: _DbRow, name: str, principal: Principal, batch: _Batch
    ) -> _Batch | None:
        if not batch.changed or not self.companion_writers:
            return None
        docs = [
            doc
            for writer in self.companion_writers
            for doc in writer(conn, name, principal, batch.stored_docs)
        ]
        if not docs:
            return None
        companions = _Batch(self, conn, db_row, ADMIN, new_edits=True)
        companions.prefetch(d.doc_id for d in docs)
        companions.begin([d.body for d in docs])
        failed = [r for r in (companions.apply(doc) for doc in docs) if r.error is not None]
        if failed:  # the write and its companions commit together or not at all
            raise RuntimeError(f"a companion document was refused: {failed[0].to_json()}")
        companions.end()
        companions.flush()
        return companions

    def _tell_listeners(self, name: str, principal: Principal, docs: list[dict[str, Any]]) -> None:
        for listener in self.commit_listeners:
            try:
                listener(name, principal, docs)
            except Exception:
                # The write is committed and acknowledged; a listener catches up later.
                log.exception("commit listener %r failed on %s", listener, name)

    def _prepare_writes(
        self,
        name: str,
        docs: Sequence[IncomingDoc | CouchError],
        principal: Principal,
        bytes_of: Callable[[str], bytes | None],
    ) -> list[object]:
        """The policy's state-free checks of every document, before the write lock is taken."""
        policy = self.write_policy
        if not isinstance(policy, PreparingWritePolicy):
            return [None] * len(docs)
        previews = [
            self._preview(doc, principal, bytes_of) if isinstance(doc, IncomingDoc) else None
            for doc in docs
        ]
        if isinstance(policy, BatchPreparingWritePolicy):
            return policy.prepare_writes(principal, name, previews)
        return [
            None if view is None else policy.prepare_write(principal, name, view)
            for view in previews
        ]

    def _preview(
        self, doc: IncomingDoc, principal: Principal, bytes_of: Callable[[str], bytes | None]
    ) -> dict[str, Any]:
        """A document as a policy's ``prepare_write`` sees it: a ``_rev`` only when the writer
        gave it (``new_edits=false``: the revision stored if the write applies); the
        attachments whose bytes came with it (those bytes under ``data``: the blob store may
        still be writing them), and the stubs the stub resolver names (e.g. uploaded bytes). In
        the transaction a stub resolves from the document's ancestors first: the policy sees
        what it gets there and checks again whatever differs."""
        view: dict[str, Any] = {"_id": doc.doc_id, **doc.body}
        if doc.path:  # new_edits=false: the revision the write stores, if it applies
            view["_rev"] = doc.path[0]
        if doc.deleted:
            view["_deleted"] = True
        known: dict[str, StoredAttachment] = {}
        for att_name, att in (doc.attachments or {}).items():
            if att.resolved is not None and not att.stub:
                known[att_name] = att.resolved
            elif att.stub and self.stub_resolver is not None:
                try:
                    named = self.stub_resolver(principal, doc.doc_id, att_name, att)
                except CouchError:
                    continue  # refused again, in its turn, in the transaction
                if named is not None:
                    known[att_name] = named
        if known:
            view["_attachments"] = {}
            for att_name, a in known.items():
                entry: dict[str, Any] = {
                    "content_type": a.content_type,
                    "digest": a.digest,
                    "length": a.length,
                    "stub": True,
                    "sha256": a.sha256,
                }
                data = bytes_of(a.sha256)
                if data is not None:
                    entry["data"] = data
                view["_attachments"][att_name] = entry
        return view

    # ------------------------------------------------------------------ _local documents

    def get_local(self, name: str, doc_id: str, principal: Principal = ADMIN) -> dict[str, Any]:
        with self.db.read_raw() as raw:
            db_row = self._db_row(raw, name)
            row = raw.first(self.sql.local, (db_row.id, _local_key(doc_id, principal)))
        if row is None:
            raise NotFound("missing")
        rev, text = row
        body: dict[str, Any] = orjson.loads(text)
        return {"_id": doc_id, "_rev": f"0-{rev}", **body}

    def put_local(
        self,
        name: str,
        doc_id: str,
        body: Mapping[str, Any],
        rev: str | None,
        principal: Principal = ADMIN,
        *,
        delete_it: bool = False,
    ) -> str:
        key = _local_key(doc_id, principal)
        # Checkpoints are cheap to redo: a lost one makes a replicator re-send, not lose data.
        with self.db.write(durable=False) as conn:
            raw = Database.raw(conn)
            db_row = self._db_row(raw, name, lock=True)
            found = raw.first(self.sql.local_rev, (db_row.id, key))
            current = found[0] if found is not None else None
            if current is not None and not delete_it and rev != f"0-{current}":
                raise Conflict()
            if current is not None and delete_it and rev is not None and rev != f"0-{current}":
                raise Conflict()
            if current is None and rev is not None and rev not in ("0-0", "0"):
                if delete_it:
                    raise NotFound("missing")
                raise Conflict()
            if delete_it:
                if current is None:
                    raise NotFound("missing")
                if rev is None:
                    raise Conflict()
                raw.run(self.sql.local_delete, (db_row.id, key))
                return "0-0"
            clean = {k: v for k, v in body.items() if not k.startswith("_")}
            text = orjson.dumps(clean).decode()
            if current is None:
                raw.run(self.sql.local_insert, (db_row.id, key, 1, text))
                return "0-1"
            raw.run(self.sql.local_update, (current + 1, text, db_row.id, key))
            return f"0-{current + 1}"

    # ------------------------------------------------------------------ maintenance

    def compact(
        self,
        name: str,
        *,
        extra_referenced: Iterable[str] = (),
        grace_seconds: float | None = None,
    ) -> int:
        """Drop bodies of non-leaf revisions, then blobs no revision refers to.

        Returns the number of blobs removed. ``extra_referenced`` protects blobs the layers
        above still need (e.g. finished uploads not yet attached to a document); blobs younger
        than ``grace_seconds`` are never removed (their writes may not have committed yet).
        """
        with self.db.write() as conn:
            db_row = self._db_row(conn, name, lock=True)
            doomed: list[dict[str, Any]] = []
            rows = conn.execute(
                select(t.document.c.doc_id, t.document.c.tree).where(
                    t.document.c.db_id == db_row.id
                )
            )
            for row in rows:
                tree = _tree_from_json(row.tree)
                leaves = set(revtree.leaves(tree))
                doomed.extend(
                    {"d": db_row.id, "i": row.doc_id, "r": rev} for rev in tree if rev not in leaves
                )
            if doomed:
                conn.execute(
                    delete(t.revision).where(
                        t.revision.c.db_id == bindparam("d"),
                        t.revision.c.doc_id == bindparam("i"),
                        t.revision.c.rev == bindparam("r"),
                    ),
                    doomed,
                )
        grace = self.blob_grace_seconds if grace_seconds is None else grace_seconds
        return self.collect_garbage(extra_referenced, grace_seconds=grace)

    def referenced_blobs(self) -> set[str]:
        referenced: set[str] = set()
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.revision.c.attachments).where(t.revision.c.attachments.is_not(None))
            )
            for (text_value,) in rows:
                referenced.update(att.sha256 for att in _atts_from_json(text_value).values())
        return referenced

    def collect_garbage(
        self, extra_referenced: Iterable[str] = (), *, grace_seconds: float = GC_GRACE_SECONDS
    ) -> int:
        # Candidates first, references second: a blob that becomes referenced in between
        # is in the second set.
        candidates = self.blobs.candidates_for_removal(grace_seconds)
        referenced = self.referenced_blobs() | set(extra_referenced)
        return self.blobs.remove_unreferenced(candidates, referenced)


_DOC_COLUMNS = "doc_id, seq, winner, deleted, tree, channels"
_DOC_SELECT = tuple(t.document.c[name] for name in _DOC_COLUMNS.split(", "))
_DB_COLUMNS = "id, name, update_seq, revs_limit, doc_count, doc_del_count, created_at"


class _Sql:
    """The hot statements as SQL text for the driver (see :class:`Raw`), per engine.

    On SQLite a list of ids goes in as one JSON parameter (``IN (SELECT value FROM
    json_each(?))``), on PostgreSQL as one array (``= ANY(?)``): one statement text whatever
    the batch size. ``rev || ''`` keeps SQLite from probing every (doc_id, rev) combination of
    the two lists (10,000 probes for a batch of 100): the primary key is walked by doc_id and
    rev filters that document's rows.
    """

    def __init__(self, is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite

        def q(text: str) -> str:
            return for_driver(text, is_sqlite)

        def among(column: str) -> str:
            if is_sqlite:
                return f"{column} IN (SELECT value FROM json_each(?))"
            return f"{column} = ANY(?)"

        db_row = f"SELECT {_DB_COLUMNS} FROM sync_database WHERE name = ?"
        self.db_row = q(db_row)
        # SQLite: the writer already holds the database's lock (BEGIN IMMEDIATE).
        self.db_row_for_update = q(db_row if is_sqlite else db_row + " FOR UPDATE")
        self.states = q(
            f"SELECT {_DOC_COLUMNS} FROM sync_document WHERE db_id = ? AND {among('doc_id')}"
        )
        rev = "rev || ''" if is_sqlite else "rev"
        self.revisions = q(
            "SELECT doc_id, rev, deleted, body, attachments FROM sync_revision"
            f" WHERE db_id = ? AND {among('doc_id')} AND {among(rev)}"
        )
        self.changes_page = q(
            f"SELECT {_DOC_COLUMNS} FROM sync_document WHERE db_id = ? AND seq > ?"
            " ORDER BY seq LIMIT ?"
        )
        self.changes_all = q(
            f"SELECT {_DOC_COLUMNS} FROM sync_document WHERE db_id = ? AND seq > ? ORDER BY seq"
        )
        self.pending = q("SELECT count(*) FROM sync_document WHERE db_id = ? AND seq > ?")
        self.local = q("SELECT rev, body FROM sync_local WHERE db_id = ? AND doc_id = ?")
        self.local_rev = q("SELECT rev FROM sync_local WHERE db_id = ? AND doc_id = ?")
        self.local_insert = q(
            "INSERT INTO sync_local (db_id, doc_id, rev, body) VALUES (?, ?, ?, ?)"
        )
        self.local_update = q(
            "UPDATE sync_local SET rev = ?, body = ? WHERE db_id = ? AND doc_id = ?"
        )
        self.local_delete = q("DELETE FROM sync_local WHERE db_id = ? AND doc_id = ?")
        # The batch's writes (flush): counters and seqs, then one executemany per table.
        self.advance = q(
            "UPDATE sync_database SET update_seq = update_seq + ?, doc_count = doc_count + ?,"
            " doc_del_count = doc_del_count + ? WHERE id = ? RETURNING update_seq"
        )
        self.revision_insert = q(
            "INSERT INTO sync_revision (db_id, doc_id, rev, deleted, body, attachments)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        self.revision_delete = q(
            "DELETE FROM sync_revision WHERE db_id = ? AND doc_id = ? AND rev = ?"
        )
        self.document_insert = q(
            "INSERT INTO sync_document (seq, winner, deleted, tree, channels, db_id, doc_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        self.document_update = q(
            "UPDATE sync_document SET seq = ?, winner = ?, deleted = ?, tree = ?, channels = ?"
            " WHERE db_id = ? AND doc_id = ?"
        )
        self.channel_delete = q(f"DELETE FROM sync_channel WHERE db_id = ? AND {among('doc_id')}")
        self.channel_insert = q(
            "INSERT INTO sync_channel (db_id, channel, seq, doc_id) VALUES (?, ?, ?, ?)"
        )
        self.notify = q("SELECT pg_notify(?, ?)")

    def id_list(self, items: Sequence[str]) -> Any:
        """A list of strings as the one parameter ``among`` expects."""
        return orjson.dumps(items).decode() if self.is_sqlite else list(items)


def _revision_records(
    rows: Iterable[Sequence[Any]], wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], RevisionRecord]:
    found: dict[tuple[str, str], RevisionRecord] = {}
    for doc_id, rev, deleted, body, attachments in rows:
        key = (doc_id, rev)
        if key in wanted:
            found[key] = RevisionRecord(
                rev, bool(deleted), orjson.loads(body), _atts_from_json(attachments)
            )
    return found


def _local_key(doc_id: str, principal: Principal) -> str:
    """``_local`` documents live in a namespace of their own per non-admin principal."""
    return doc_id if principal.channels is None else f"{principal.name}\x1f{doc_id}"


class _Batch:
    """Applies the documents of one ``_bulk_docs`` inside its write transaction."""

    def __init__(
        self,
        store: Store,
        conn: Connection,
        db_row: _DbRow,
        principal: Principal,
        new_edits: bool,
    ) -> None:
        self.store = store
        self.conn = conn
        self.raw = Database.raw(conn)
        self.db_row = db_row
        self.db_id: int = db_row.id
        self.revs_limit: int = db_row.revs_limit
        self.principal = principal
        self.new_edits = new_edits
        self.pending: dict[str, _PendingDoc] = {}
        self.new_revisions: dict[tuple[str, str], RevisionRecord] = {}
        self.changed: list[str] = []
        self._changed_ids: set[str] = set()  # `changed` as a set: batches reach thousands
        self.stored_docs: list[dict[str, Any]] = []
        # The whole document (`_id`, `_rev`, body, attachment stubs) is built for the hooks
        # only: a policy, the channel function, commit listeners.
        self._hooked = bool(
            store.write_policy is not None
            or store.channel_function is not None
            or store.commit_listeners
        )
        # A BatchWritePolicy's state for this batch, shared by every document's context.
        self.policy_state: dict[str, Any] = {}

    def begin(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        policy = self.store.write_policy
        if isinstance(policy, BatchWritePolicy):
            policy.begin_batch(self.principal, bodies, self._context(None))

    def end(self) -> None:
        policy = self.store.write_policy
        if isinstance(policy, BatchWritePolicy):
            policy.end_batch(self.principal, self._context(None))

    def _context(self, prepared: object) -> WriteContext:
        return WriteContext(
            self.conn, self.db_row.name, self.new_edits, prepared, self.policy_state
        )

    def apply(self, doc: IncomingDoc | CouchError, prepared: object = None) -> WriteResult:
        if isinstance(doc, CouchError):
            return WriteResult(getattr(doc, "doc_id", "") or "", error=doc)
        try:
            return self._apply(doc, prepared)
        except CouchError as exc:
            return WriteResult(doc.doc_id, error=exc)

    def _pending_for(self, doc_id: str) -> _PendingDoc:
        entry = self.pending.get(doc_id)
        if entry is None:
            state = self.store._load_states(self.raw, self.db_id, [doc_id]).get(doc_id)
            entry = _PendingDoc(
                state, dict(state.tree) if state else {}, state.channels if state else frozenset()
            )
            self.pending[doc_id] = entry
        return entry

    def prefetch(self, doc_ids: Iterable[str]) -> None:
        missing = [d for d in doc_ids if d not in self.pending]
        states = self.store._load_states(self.raw, self.db_id, missing)
        for doc_id in missing:
            state = states.get(doc_id)
            self.pending[doc_id] = _PendingDoc(
                state, dict(state.tree) if state else {}, state.channels if state else frozenset()
            )

    def _revision(self, doc_id: str, rev: str) -> RevisionRecord | None:
        key = (doc_id, rev)
        if key in self.new_revisions:
            return self.new_revisions[key]
        return self.store._load_revisions(self.raw, self.db_id, [key]).get(key)

    def _apply(self, doc: IncomingDoc, prepared: object) -> WriteResult:
        entry = self._pending_for(doc.doc_id)
        tree = entry.tree
        conflict: Conflict | None = None
        if self.new_edits:
            parent, conflict = self._edit_parent(doc, tree)
            generation = (revtree.generation(parent) if parent else 0) + 1
            ancestors = [parent] if parent else []
        else:
            assert doc.path is not None
            visible = entry.old is None or self.principal.may_see(entry.old.channels)
            if doc.path[0] in tree and visible:
                return WriteResult(doc.doc_id, rev=doc.path[0])  # already known: a retry
            # A known revision of a document the caller may not see goes on to the policy,
            # which refuses it as it would any other write: success would reveal it exists.
            parent, generation, ancestors = None, revtree.generation(doc.path[0]), doc.path[1:]
        try:
            atts = self._resolve_attachments(doc, ancestors, generation)
        except PreconditionFailed:
            # A stale edit is a conflict first (couch_db:prep_and_validate_update); its stubs
            # were looked up against a revision it does not extend.
            if conflict is not None:
                raise conflict from None
            raise
        if self.new_edits:
            rev = new_rev(parent, doc.deleted, doc.body, {n: a.digest for n, a in atts.items()})
            path = [rev, parent] if parent else [rev]
        else:
            assert doc.path is not None
            rev, path = doc.path[0], doc.path
        full_doc = self._full_doc(doc, rev, atts) if self._hooked else None
        policy = self.store.write_policy
        context = None
        if policy is not None and full_doc is not None:
            context = self._context(prepared)
            # The policy judges first, so a refused document is refused for what it is
            # (e.g. a forged signature), whatever the state of the tree.
            try:
                policy.check_write(
                    self.principal, full_doc, self._winning_doc(doc.doc_id, entry), context
                )
            except Unchanged:
                return WriteResult(doc.doc_id, rev=revtree.winning_rev(tree) if tree else rev)
        if entry.old is not None and not self.principal.may_see(entry.old.channels):
            # Invisible documents answer as if absent: a write to one cannot succeed.
            raise Forbidden(f"not_owner: document {doc.doc_id} belongs to another principal")
        if conflict is not None:
            raise conflict
        result = self._store_revision(doc, entry, path, rev, atts, full_doc)
        if result.changed and full_doc is not None:
            self.stored_docs.append(full_doc)
            if policy is not None and context is not None:
                policy.after_write(self.principal, full_doc, context)
        return result

    def _edit_parent(
        self, doc: IncomingDoc, tree: dict[str, RevNode]
    ) -> tuple[str | None, Conflict | None]:
        """The revision an edit extends, or the conflict it runs into."""
        if not tree:
            return None, (Conflict() if doc.rev is not None else None)
        winner = revtree.winning_rev(tree)
        if doc.rev is None:
            return winner, (None if tree[winner].deleted else Conflict())
        if doc.rev not in tree or not revtree.is_leaf(tree, doc.rev):
            return winner, Conflict()
        return doc.rev, None

    def _resolve_attachments(
        self, doc: IncomingDoc, ancestors: Sequence[str], generation: int
    ) -> dict[str, StoredAttachment]:
        if doc.deleted and self.new_edits:
            return {}
        resolved: dict[str, StoredAttachment] = {}
        previous: dict[str, StoredAttachment] | None = None
        for name, att in (doc.attachments or {}).items():
            if att.stub:
                if previous is None:
                    previous = self._ancestor_attachments(doc.doc_id, ancestors)
                found = previous.get(name)
                if found is None and self.store.stub_resolver is not None:
                    named = self.store.stub_resolver(self.principal, doc.doc_id, name, att)
                    if named is not None:
                        revpos = att.revpos if (not self.new_edits and att.revpos) else generation
                        resolved[name] = StoredAttachment(
                            named.content_type, named.length, named.digest, named.sha256, revpos
                        )
                        continue
                # As CouchDB's merge_stubs: a stub matches by name and, when given, revpos.
                # Digests are not compared: CouchDB reports the digest of the bytes as it
                # stored them (possibly gzipped), so a peer's digest may differ from ours.
                if found is None or (att.revpos is not None and att.revpos != found.revpos):
                    raise PreconditionFailed(
                        f"Invalid attachment stub in {doc.doc_id} for {name}", error="missing_stub"
                    )
                resolved[name] = found
            elif att.resolved is not None:
                revpos = att.revpos if (not self.new_edits and att.revpos) else generation
                stored = att.resolved
                resolved[name] = StoredAttachment(
                    stored.content_type, stored.length, stored.digest, stored.sha256, revpos
                )
            else:
                raise BadRequest(f"Attachment {name} of {doc.doc_id} has no data")
        return resolved

    def _ancestor_attachments(
        self, doc_id: str, ancestors: Sequence[str]
    ) -> dict[str, StoredAttachment]:
        for rev in ancestors:
            record = self._revision(doc_id, rev)
            if record is not None:
                return record.attachments
        return {}

    def _store_revision(
        self,
        doc: IncomingDoc,
        entry: _PendingDoc,
        path: Sequence[str],
        rev: str,
        atts: dict[str, StoredAttachment],
        full_doc: dict[str, Any] | None,
    ) -> WriteResult:
        new_tree, outcome = revtree.merge_path(entry.tree, path, doc.deleted, self.revs_limit)
        if outcome is MergeOutcome.INTERNAL_NODE:
            return WriteResult(doc.doc_id, rev=rev)
        channels = entry.channels
        if self.store.channel_function is not None and full_doc is not None:
            channels = channels | self.store.channel_function(full_doc)
        if self.principal.channels is not None and not self.principal.may_see(channels):
            raise Forbidden("not_owner: the document would not be in any of your channels")
        removed = entry.tree.keys() - new_tree.keys()
        if removed:
            entry.removed_revs |= removed
        entry.tree = new_tree
        entry.channels = channels
        self.new_revisions[(doc.doc_id, rev)] = RevisionRecord(rev, doc.deleted, doc.body, atts)
        if doc.doc_id not in self._changed_ids:
            self._changed_ids.add(doc.doc_id)
            self.changed.append(doc.doc_id)
        return WriteResult(doc.doc_id, rev=rev, changed=True)

    def _full_doc(
        self, doc: IncomingDoc, rev: str, atts: Mapping[str, StoredAttachment]
    ) -> dict[str, Any]:
        full: dict[str, Any] = {"_id": doc.doc_id, "_rev": rev, **doc.body}
        if doc.deleted:
            full["_deleted"] = True
        if atts:
            full["_attachments"] = {
                name: {
                    "content_type": a.content_type,
                    "digest": a.digest,
                    "length": a.length,
                    "revpos": a.revpos,
                    "stub": True,
                    "sha256": a.sha256,
                }
                for name, a in atts.items()
            }
        return full

    def _winning_doc(self, doc_id: str, entry: _PendingDoc) -> dict[str, Any] | None:
        if not entry.tree:
            return None
        winner = revtree.winning_rev(entry.tree)
        record = self._revision(doc_id, winner)
        if record is None:
            return None
        incoming = IncomingDoc(doc_id, winner, None, record.deleted, record.body, None)
        return self._full_doc(incoming, winner, record.attachments)

    def flush(self) -> None:
        if not self.changed:
            return
        raw, sql, db_id = self.raw, self.store.sql, self.db_id
        live_delta = dead_delta = 0
        winners = []
        for doc_id in self.changed:
            entry = self.pending[doc_id]
            if entry.old is not None:
                if entry.old.deleted:
                    dead_delta -= 1
                else:
                    live_delta -= 1
            winner = revtree.winning_rev(entry.tree)
            winners.append(winner)
            if entry.tree[winner].deleted:
                dead_delta += 1
            else:
                live_delta += 1
        count = len(self.changed)
        advanced = raw.first(sql.advance, (count, live_delta, dead_delta, db_id))
        assert advanced is not None  # the row is locked by this transaction
        base_seq = int(advanced[0]) - count
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        channel_rows: list[tuple[Any, ...]] = []
        stemmed: list[tuple[Any, ...]] = []
        for seq, doc_id, winner in zip(
            range(base_seq + 1, base_seq + count + 1), self.changed, winners, strict=True
        ):
            entry = self.pending[doc_id]
            channels = orjson.dumps(sorted(entry.channels)).decode() if entry.channels else None
            values = (
                seq,
                winner,
                entry.tree[winner].deleted,
                _tree_to_json(entry.tree),
                channels,
                db_id,
                doc_id,
            )
            (inserts if entry.old is None else updates).append(values)
            channel_rows.extend((db_id, c, seq, doc_id) for c in entry.channels)
            stemmed.extend((db_id, doc_id, r) for r in entry.removed_revs)
        revision_rows = [
            (
                db_id,
                doc_id,
                rev,
                rec.deleted,
                orjson.dumps(rec.body).decode(),
                _atts_to_json(rec.attachments),
            )
            for (doc_id, rev), rec in self.new_revisions.items()
            if rev in self.pending[doc_id].tree
        ]
        if stemmed:
            raw.many(sql.revision_delete, stemmed)
        if revision_rows:
            raw.many(sql.revision_insert, revision_rows)
        if inserts:
            raw.many(sql.document_insert, inserts)
        if updates:
            raw.many(sql.document_update, updates)
        updated = [doc_id for doc_id in self.changed if self.pending[doc_id].old is not None]
        if self.store.channel_function is not None and updated:
            raw.run(sql.channel_delete, (db_id, sql.id_list(updated)))
        if channel_rows:
            raw.many(sql.channel_insert, channel_rows)
        if not raw.is_sqlite:
            raw.run(sql.notify, (NOTIFY_CHANNEL, self.db_row.name))
