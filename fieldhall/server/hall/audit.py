"""The hall's audit log: append-only, hash-chained, verifiable without a running server.

Every staff action and every received device document appends one entry **inside the
transaction of the operation it records**, so an entry exists if and only if that operation
committed.

Data model
----------
``hall_audit_entry``, one row per entry:

==============  =============================================================================
``seq``         1, 2, 3… gap-free, allocated in commit order
``at``          when the entry was appended (UTC)
``actor_kind``  ``staff`` | ``device`` | ``system``; ``actor_id`` the username, device id…
``action``      a stable dotted code: ``case.accepted``, ``device.document_received``…
``subject_*``   what the action was done to: (``subject_type``, ``subject_id``)
``details``     a JSON object, stored as its RFC 8785 (JCS) canonical text
``prev_hash``   the previous entry's ``hash``; 64 zeros for seq 1 (:data:`GENESIS_HASH`)
``hash``        hex SHA-256 of the JCS bytes of :func:`entry_hash`'s object::

                    {"seq": 7, "at": "2025-03-01T08:00:00.123456Z",
                     "actor": {"kind": "staff", "id": "alice"}, "action": "case.accepted",
                     "subject": {"type": "case", "id": "case:01J…"}, "details": {…},
                     "prev_hash": "<hex>"}

                (``at`` always with six fractional digits), so anyone can recompute it.
==============  =============================================================================

``hall_audit_head`` is a single row (``id = 1``) holding the latest ``(seq, hash)``,
updated in the same transaction as every append. It is also the lock that orders appends:
an append begins with ``UPDATE hall_audit_head SET seq = seq + 1 … RETURNING seq, hash``,
which holds the row lock (PostgreSQL) or the database write lock (SQLite) until commit. So
seq and prev_hash are decided by one writer at a time, seqs are handed out in commit order,
and a rolled-back append rolls the counter back with it: no gaps. Rules for callers:

* **Append last** in the transaction. The head lock is then the last lock every
  transaction takes, so lock order is the same everywhere (no deadlocks on PostgreSQL) and
  the lock — which serialises every audited operation — is held only until commit.
* On SQLite, append in a write transaction (``Database.write()``, ``FieldService.session()``,
  ``BEGIN IMMEDIATE``) or as the transaction's first statement; a deferred transaction that
  has already read cannot take the write lock once another writer has committed.

What verification proves
------------------------
:func:`verify` walks the entries in seq order and names the first bad one: an edited column
(its hash no longer matches its contents, or the stored form is not the one we write), a
deleted entry (a gap in seq), reordered or swapped entries (seq and prev_hash are hashed, so
moved contents no longer match), an inserted or forged entry (its hash, the next entry's
prev_hash or the head gives it away). A deleted *tail* leaves a perfectly valid shorter
chain, which is why the head exists: the log ending before the head's seq, a last hash that
differs from the head's, or an entry beyond the head is reported too. Verification reads the
head first and then the entries up to it, and checks for entries beyond the head in a single
statement, so it is exact under READ COMMITTED while appends go on, and takes no locks
(before the first append there is no head yet: if one appears while we look, we look again).

Threat model: an attacker with full write access to the database
-----------------------------------------------------------------
The chain has no secret, so it gives *consistency*, not *authenticity*.

* **Caught**: every change made by someone who does not recompute the chain — an operator's
  ad-hoc ``UPDATE``, a deleted row, rows restored from an old backup mixed with newer ones,
  a truncated tail (via the head), a forged row appended without moving the head.
* **Not caught from the database alone**: rewriting an entry *and* recomputing every later
  hash and the head; deleting the tail and moving the head back; wiping both tables (an
  empty log is a valid log). Signing the head with the server's signing key adds nothing
  here: that key lives in the same database (``field_server_key``), so the attacker can read
  it and re-sign. The same holds for an HMAC key stored in the database.
* **Anchoring outside the database** pins everything up to the anchor. Record the head that
  ``fieldhall audit verify --json`` prints (in the operations log, a ticket, on paper, at
  another hall), and later pass it back (``--anchor SEQ:HASH``, :class:`Head` here): the log
  must still have that hash at that seq, so a rewrite of any entry up to SEQ, or a
  truncation below it, is caught. An attacker can then only rewrite what came after the
  latest anchor — the anchoring interval is the window of undetectable rewriting. Signing
  heads with a key the database does not hold (an HSM, a key file readable only by the app
  servers, an RFC 3161 timestamping authority) makes such anchors automatic and lets a third
  party check them, but only as far as that key is outside the attacker's reach.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn

import orjson
import rfc8785
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from fieldhall.schemas.canonical import canonical_bytes, orjson_writes_jcs

__all__ = [
    "ACTOR_KINDS",
    "GENESIS_HASH",
    "Actor",
    "AuditEntry",
    "AuditError",
    "AuditHead",
    "AuditLogBroken",
    "AuditRecord",
    "AuditReport",
    "Entry",
    "Head",
    "InvalidAuditEntry",
    "Problem",
    "Subject",
    "append",
    "append_many",
    "ensure_audit_tables",
    "entry_hash",
    "list_entries",
    "read_head",
    "verify",
]

ACTOR_KINDS = ("staff", "device", "system")
GENESIS_HASH = "0" * 64  # seq 1's prev_hash
HEAD_ID = 1  # the one row of hall_audit_head

# `case.accepted`, `device.document_received`, `staff.login_failed`: lower-case dotted words.
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_HASH = re.compile(r"[0-9a-f]{64}")
_SEQ = re.compile(r"[0-9]{1,18}")
# How SQLAlchemy stores a DateTime on SQLite; anything else there was not written by us.
_SQLITE_AT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}")
_MAX_SAFE_INT = 2**53 - 1  # I-JSON: larger integers are not exact in JSON
_VERIFY_BATCH = 2000


# --- errors -----------------------------------------------------------------------------


class AuditError(Exception):
    """Base of this module's errors.

    Hierarchy::

        AuditError
        ├── InvalidAuditEntry   raised when an append's actor, action, subject or details
        │                       are malformed (nothing is written)
        └── AuditLogBroken      raised when an append cannot extend the log because the head
                                and the entries disagree (the log was tampered with); the
                                caller's transaction must roll back
    """


class InvalidAuditEntry(AuditError, ValueError):
    """Raised when an append's actor, action, subject or details are malformed."""


class AuditLogBroken(AuditError):
    """Raised when an append finds the head and the entries in disagreement."""


# --- tables -----------------------------------------------------------------------------


class AuditEntry(SQLModel, table=True):
    """One entry of the log (see the module docstring for the columns)."""

    __tablename__ = "hall_audit_entry"
    __table_args__ = (
        Index("ix_hall_audit_entry_subject", "subject_type", "subject_id", "seq"),
        Index("ix_hall_audit_entry_actor", "actor_kind", "actor_id", "seq"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    actor_kind: str = Field(max_length=16)
    actor_id: str = Field(max_length=200)
    action: str = Field(max_length=100, index=True)
    subject_type: str = Field(max_length=64)
    subject_id: str = Field(max_length=200)
    details: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The latest ``(seq, hash)``: the append lock, and what catches a deleted tail."""

    __tablename__ = "hall_audit_head"
    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="ck_hall_audit_head_single"),)

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
    at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


_entry: Table = AuditEntry.__table__  # type: ignore[attr-defined]
_head: Table = AuditHead.__table__  # type: ignore[attr-defined]


def ensure_audit_tables(engine: Engine) -> None:
    """Create the two tables and the head row if they do not exist yet."""
    SQLModel.metadata.create_all(engine, tables=[_entry, _head])
    with engine.begin() as connection:
        _seed_head(connection)


def _seed_head(connection: Connection) -> None:
    values = {"id": HEAD_ID, "seq": 0, "hash": GENESIS_HASH, "at": None}
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(postgresql.insert(_head).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        connection.execute(sqlite.insert(_head).values(values).on_conflict_do_nothing())
    elif connection.execute(select(_head.c.id).where(_head.c.id == HEAD_ID)).first() is None:
        connection.execute(insert(_head).values(values))


# --- values -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a staff member (username), a device (device id) or the system itself."""

    kind: Literal["staff", "device", "system"]
    id: str

    @classmethod
    def staff(cls, username: str) -> Actor:
        return cls("staff", username)

    @classmethod
    def device(cls, device_id: str) -> Actor:
        return cls("device", device_id)

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls("system", component)


@dataclass(frozen=True, slots=True)
class Subject:
    """What it was done to: ``Subject("case", "case:01J…")``."""

    type: str
    id: str


@dataclass(frozen=True, slots=True)
class Head:
    """A ``(seq, hash)`` pair: the log's head, or an anchor recorded outside the database."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, value: str) -> Head:
        """``"SEQ:HASH"`` (what the CLI prints and ``--anchor`` takes)."""
        seq, sep, digest = value.partition(":")
        if not sep or not _SEQ.fullmatch(seq) or int(seq) < 1 or not _HASH.fullmatch(digest):
            raise ValueError(f"expected SEQ:HASH (seq ≥ 1, 64 lower-case hex digits): {value!r}")
        return cls(int(seq), digest)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An entry as written or read back."""

    seq: int
    at: datetime
    actor: Actor
    action: str
    subject: Subject
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": _at_text(self.at),
            "actor": {"kind": self.actor.kind, "id": self.actor.id},
            "action": self.action,
            "subject": {"type": self.subject.type, "id": self.subject.id},
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def entry_hash(
    seq: int,
    at: datetime,
    actor: Actor,
    action: str,
    subject: Subject,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """Hex SHA-256 of the RFC 8785 bytes of the entry (the format in the module docstring)."""
    body: dict[str, Any] = {
        "seq": seq,
        "at": _at_text(at),
        "actor": {"kind": actor.kind, "id": actor.id},
        "action": action,
        "subject": {"type": subject.type, "id": subject.id},
        "details": dict(details),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def _spliced_entry_hash(
    seq: int,
    at: datetime,
    actor: Actor,
    action: str,
    subject: Subject,
    canonical_details: bytes,
    prev_hash: str,
) -> str:
    """:func:`entry_hash` for details already in their canonical form (the text stored),
    without canonicalising them a second time. RFC 8785 writes an object as its members
    sorted by name, each value in its own canonical form whatever surrounds it, so the
    entry's bytes are those of the members before ``details`` (``action``, ``actor``,
    ``at``), ``"details":`` and the details' canonical bytes, then the members after it
    (``prev_hash``, ``seq``, ``subject``)."""
    before = canonical_bytes(
        {"action": action, "actor": {"kind": actor.kind, "id": actor.id}, "at": _at_text(at)}
    )
    after = canonical_bytes(
        {"prev_hash": prev_hash, "seq": seq, "subject": {"type": subject.type, "id": subject.id}}
    )
    data = b"".join((before[:-1], b',"details":', canonical_details, b",", after[1:]))
    return hashlib.sha256(data).hexdigest()


def _at_text(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive values; we only ever store UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_int(digits: str) -> int | float:
    # JCS writes a float like 1e20 as "100000000000000000000"; read it back as the float it
    # was, so that the canonical text round-trips.
    value = int(digits)
    return value if abs(value) <= _MAX_SAFE_INT else float(value)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _load_details(canonical: str) -> Any:
    return json.loads(canonical, parse_int=_json_int, parse_constant=_reject_constant)


def _canonical_details(details: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    body = dict(details)
    try:
        plain = orjson_writes_jcs(body, floats=False)
    except RecursionError as exc:
        raise InvalidAuditEntry(f"details are not I-JSON: {exc}") from exc
    if plain:
        # No floats, no unsafe integers: the canonical text reads back as what it was
        # written from, so its round trip needs no check.
        try:
            written = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            return written.decode("utf-8"), orjson.loads(written)
        except (orjson.JSONEncodeError, orjson.JSONDecodeError):
            pass  # lone surrogates, deep nesting: the general path says what is wrong
    try:
        canonical = rfc8785.dumps(dict(details)).decode("utf-8")
        parsed = _load_details(canonical)
        same = rfc8785.dumps(parsed).decode("utf-8") == canonical
    except (rfc8785.CanonicalizationError, ValueError, TypeError, RecursionError) as exc:
        raise InvalidAuditEntry(f"details are not I-JSON: {exc}") from exc
    if not same:  # never seen; refusing beats a log that later fails to verify
        raise InvalidAuditEntry("details do not survive a JSON round trip")
    return canonical, parsed


def _check_entry(actor: Actor, action: str, subject: Subject) -> None:
    if actor.kind not in ACTOR_KINDS:
        raise InvalidAuditEntry(f"actor kind must be one of {', '.join(ACTOR_KINDS)}")
    if not isinstance(actor.id, str) or not actor.id:
        raise InvalidAuditEntry("actor id must be a non-empty string")
    if not isinstance(action, str) or not _ACTION.fullmatch(action):
        raise InvalidAuditEntry(f"action must be a dotted lower-case code: {action!r}")
    for part in (subject.type, subject.id):
        if not isinstance(part, str) or not part:
            raise InvalidAuditEntry("subject type and id must be non-empty strings")


def _connection(target: Connection | Session) -> Connection:
    return target.connection() if isinstance(target, Session) else target


# --- appending --------------------------------------------------------------------------


def append(
    target: Connection | Session,
    actor: Actor,
    action: str,
    subject: Subject,
    details: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditRecord:
    """Append one entry inside ``target``'s transaction (commit or roll back with it).

    Call it last in the transaction (see the module docstring). ``at`` defaults to now,
    taken once the lock is held, so times follow seq on one clock.
    """
    return append_many(target, [Entry(actor, action, subject, details or {})], at=at)[0]


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry to append: who did what to what, and its details."""

    actor: Actor
    action: str
    subject: Subject
    details: Mapping[str, Any]


def append_many(
    target: Connection | Session, entries: Sequence[Entry], *, at: datetime | None = None
) -> list[AuditRecord]:
    """Append ``entries`` in order inside ``target``'s transaction, as :func:`append` does
    one by one, but with one head update and one multi-row insert: a projector batch of a
    thousand documents takes the head lock once, not a thousand times."""
    if not entries:
        return []
    prepared = []
    for entry in entries:
        _check_entry(entry.actor, entry.action, entry.subject)
        prepared.append((entry, *_canonical_details(entry.details)))
    connection = _connection(target)
    bump = (
        update(_head)
        .where(_head.c.id == HEAD_ID)
        .values(seq=_head.c.seq + len(entries))
        .returning(_head.c.seq, _head.c.hash)
    )
    row = connection.execute(bump).first()
    if row is None:  # first append on tables someone else created
        _seed_head(connection)
        row = connection.execute(bump).one()
    seq, prev_hash = int(row[0]) - len(entries), str(row[1])
    moment = _utc(at) if at is not None else datetime.now(UTC)
    records: list[AuditRecord] = []
    rows: list[dict[str, Any]] = []
    for entry, canonical, parsed in prepared:
        seq += 1
        actor, action, subject = entry.actor, entry.action, entry.subject
        # canonical is the canonical text of parsed (checked by _canonical_details).
        digest = _spliced_entry_hash(
            seq, moment, actor, action, subject, canonical.encode("utf-8"), prev_hash
        )
        rows.append(
            {
                "seq": seq,
                "at": moment,
                "actor_kind": entry.actor.kind,
                "actor_id": entry.actor.id,
                "action": entry.action,
                "subject_type": entry.subject.type,
                "subject_id": entry.subject.id,
                "details": canonical,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        records.append(AuditRecord(seq, moment, actor, action, subject, parsed, prev_hash, digest))
        prev_hash = digest
    try:
        connection.execute(insert(_entry), rows)
    except IntegrityError as exc:
        raise AuditLogBroken(
            f"seqs {rows[0]['seq']}..{seq} are already taken: the head and the entries "
            "disagree; run `fieldhall audit verify`"
        ) from exc
    connection.execute(update(_head).where(_head.c.id == HEAD_ID).values(hash=prev_hash, at=moment))
    return records


# --- reading ----------------------------------------------------------------------------


def read_head(target: Connection | Session) -> Head | None:
    """The recorded head, or None before the first append."""
    row = (
        _connection(target)
        .execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == HEAD_ID))
        .first()
    )
    return None if row is None else Head(int(row[0]), str(row[1]))


def list_entries(
    target: Connection | Session,
    *,
    after: int = 0,
    limit: int = 100,
    subject: Subject | None = None,
) -> list[AuditRecord]:
    """Entries with seq > ``after`` in seq order, optionally only those about ``subject``."""
    query = select(_entry).where(_entry.c.seq > after).order_by(_entry.c.seq).limit(limit)
    if subject is not None:
        query = query.where(
            _entry.c.subject_type == subject.type, _entry.c.subject_id == subject.id
        )
    return [
        AuditRecord(
            seq=row.seq,
            at=_utc(row.at),
            actor=Actor(row.actor_kind, row.actor_id),
            action=row.action,
            subject=Subject(row.subject_type, row.subject_id),
            details=_load_details(row.details),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in _connection(target).execute(query)
    ]


# --- verifying --------------------------------------------------------------------------

Problem = Literal[
    "missing_entry",  # a seq is absent: a deleted entry (or a renumbered one)
    "unexpected_seq",  # a seq below the next expected one (0, negative)
    "malformed_entry",  # a column holds a value we never write (wrong type or form)
    "hash_mismatch",  # the contents do not hash to the stored hash: an edited entry
    "broken_link",  # prev_hash is not the previous entry's hash
    "anchor_mismatch",  # the hash at an anchored seq differs from the anchor
    "truncated",  # the log ends before the head's (or an anchor's) seq
    "head_mismatch",  # the head's hash is not the last entry's, or the head is malformed
    "head_missing",  # entries exist but the head row does not
    "beyond_head",  # an entry exists past the head's seq
]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of :func:`verify`: intact, or the first bad seq and why."""

    ok: bool
    entries: int  # entries found intact, from seq 1
    head: Head | None  # the chain's verified head (the last intact entry)
    first_bad_seq: int | None = None
    problem: Problem | None = None
    reason: str | None = None

    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            head = f"head {self.head}" if self.head else "empty"
            return f"audit log intact: {self.entries} entries, {head}"
        where = f" at seq {self.first_bad_seq}" if self.first_bad_seq is not None else ""
        return f"audit log broken{where}: {self.problem}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": self.head.to_json() if self.head else None,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "reason": self.reason,
        }


_ENTRY_COLUMNS = (
    "seq, at, actor_kind, actor_id, action, subject_type, subject_id, details, prev_hash, hash"
)


def verify(target: Connection | Session, *, anchors: Iterable[Head] = ()) -> AuditReport:
    """Walk the whole chain and compare its end with the head row and any ``anchors``.

    Reads raw column values (no type conversion), so a value of the wrong type or form is
    reported, never raised. Takes no locks; exact under READ COMMITTED while appends go on.
    """
    connection = _connection(target)
    pinned = {a.seq: a for a in anchors}
    report = _verify_once(connection, pinned)
    if report is None:  # the very first append committed while we looked: look again
        report = _verify_once(connection, pinned)
    if report is None:
        return AuditReport(False, 0, None, None, "head_missing", "the head row keeps vanishing")
    return report


def _verify_once(connection: Connection, anchors: dict[int, Head]) -> AuditReport | None:
    walk = _Walk(anchors)
    recorded = connection.execute(
        text(f"SELECT seq, hash FROM {_head.name} WHERE id = :id"), {"id": HEAD_ID}
    ).first()
    if recorded is None:
        query = text(f"SELECT {_ENTRY_COLUMNS} FROM {_entry.name} ORDER BY seq")
        params: dict[str, Any] = {}
    else:
        if not _is_int(recorded[0]) or recorded[0] < 0 or not isinstance(recorded[1], str):
            return walk.fail(None, "head_mismatch", f"the head row is malformed: {recorded!r}")
        query = text(f"SELECT {_ENTRY_COLUMNS} FROM {_entry.name} WHERE seq <= :h ORDER BY seq")
        params = {"h": recorded[0]}
    result = connection.execute(query.execution_options(yield_per=_VERIFY_BATCH), params)
    try:
        for row in result:
            failure = walk.step(tuple(row))
            if failure is not None:
                return failure
    finally:
        result.close()
    return walk.finish(connection, None if recorded is None else (recorded[0], recorded[1]))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Walk:
    """The state of one verification: the last intact entry and the anchors to meet."""

    def __init__(self, anchors: dict[int, Head]) -> None:
        self.anchors = anchors
        self.count = 0
        self.last_hash = GENESIS_HASH

    @property
    def head(self) -> Head | None:
        return Head(self.count, self.last_hash) if self.count else None

    def fail(self, seq: int | None, problem: Problem, reason: str) -> AuditReport:
        return AuditReport(False, self.count, self.head, seq, problem, reason)

    def step(self, row: tuple[Any, ...]) -> AuditReport | None:
        seq, at, kind, actor_id, action, subject_type, subject_id, details, prev, digest = row
        expected = self.count + 1
        if not _is_int(seq):
            return self.fail(expected, "malformed_entry", f"an entry's seq is {seq!r}")
        if seq > expected:
            following = f"the next entry is {seq}"
            return self.fail(expected, "missing_entry", f"entry {expected} is gone; {following}")
        if seq < expected:
            return self.fail(seq, "unexpected_seq", f"seq {seq} where {expected} was expected")
        moment = _stored_at(at)
        if moment is None:
            return self.fail(seq, "malformed_entry", f"at is {at!r}, not a stored UTC time")
        texts = (kind, actor_id, action, subject_type, subject_id, details, prev, digest)
        if not all(isinstance(v, str) for v in texts):
            return self.fail(seq, "malformed_entry", "a text column holds a non-text value")
        try:
            parsed = _load_details(details)
            canonical = isinstance(parsed, dict) and rfc8785.dumps(parsed).decode() == details
        except (ValueError, RecursionError, UnicodeError):
            canonical = False
        if not canonical:
            return self.fail(seq, "malformed_entry", "details are not canonical JSON (RFC 8785)")
        actor, subject = Actor(kind, actor_id), Subject(subject_type, subject_id)
        if entry_hash(seq, moment, actor, action, subject, parsed, prev) != digest:
            return self.fail(seq, "hash_mismatch", "the entry's contents do not match its hash")
        if prev != self.last_hash:
            before = f"entry {seq - 1}'s hash" if seq > 1 else "the genesis hash"
            return self.fail(seq, "broken_link", f"prev_hash is not {before}")
        anchor = self.anchors.get(seq)
        if anchor is not None and anchor.hash != digest:
            return self.fail(
                seq, "anchor_mismatch", f"the anchor recorded {anchor}, the log has {digest}"
            )
        self.count, self.last_hash = seq, digest
        return None

    def _orphans(self, connection: Connection) -> bool:
        query = text(
            f"SELECT count(*) FROM {_entry.name} WHERE NOT EXISTS "
            f"(SELECT 1 FROM {_head.name} WHERE id = :id)"
        )
        return bool(connection.execute(query, {"id": HEAD_ID}).scalar())

    def finish(
        self, connection: Connection, recorded: tuple[int, str] | None
    ) -> AuditReport | None:
        """The final checks against the head and the anchors; None: look again."""
        if recorded is None:
            # Under READ COMMITTED the first append may have committed (head and entry 1)
            # between reading the head and reading the entries: ask both in one statement.
            if self.count and not self._orphans(connection):
                return None
            if self.count:
                return self.fail(None, "head_missing", f"{self.count} entries but no head row")
        else:
            head_seq, head_hash = recorded
            if head_seq > self.count:
                return self.fail(
                    self.count + 1,
                    "truncated",
                    f"the log ends at {self.count} but the head records {head_seq}",
                )
            # One statement, one snapshot: an append moves the head in its own transaction,
            # so an entry past the head *in the same snapshot* was not appended by us.
            beyond = connection.execute(
                text(
                    f"SELECT min(e.seq) FROM {_entry.name} e, {_head.name} h "
                    "WHERE h.id = :id AND e.seq > h.seq"
                ),
                {"id": HEAD_ID},
            ).scalar()
            if beyond is not None:
                seq = beyond if _is_int(beyond) else None
                return self.fail(
                    seq, "beyond_head", f"entry {beyond!r} lies past the head ({head_seq})"
                )
            if head_hash != self.last_hash:
                return self.fail(
                    self.count or None,
                    "head_mismatch",
                    f"the head records hash {head_hash} for seq {head_seq}",
                )
        missed = [a for seq, a in sorted(self.anchors.items()) if seq > self.count]
        if missed:
            return self.fail(
                self.count + 1,
                "truncated",
                f"the log ends at {self.count} but an anchor records {missed[0]}",
            )
        return AuditReport(True, self.count, self.head)


def _stored_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):  # PostgreSQL: timestamptz
        return _utc(value)
    if isinstance(value, str) and _SQLITE_AT.fullmatch(value):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            return None
    return None
