"""The audit log on SQLite: appends, the hash format, concurrency, and tampering through
direct SQL edits — every one of which ``verify`` must catch and place at the right seq.

The tampering scenarios are plain functions of a connection so that tests/pg runs the same
ones on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from fieldhall.server.audit_cmd import audit
from fieldhall.server.hall.audit import (
    GENESIS_HASH,
    Actor,
    AuditEntry,
    AuditLogBroken,
    AuditRecord,
    AuditReport,
    Entry,
    Head,
    InvalidAuditEntry,
    Subject,
    append,
    append_many,
    ensure_audit_tables,
    entry_hash,
    list_entries,
    read_head,
    verify,
)
from fieldhall.sync.connection import Database, create_store_engine

N = 12  # entries in a filled log
ENTRY = "hall_audit_entry"
HEAD = "hall_audit_head"

# --- shared with tests/pg ------------------------------------------------------------------


def fill(engine: Engine, n: int = N) -> list[AuditRecord]:
    """A log of ``n`` entries by three kinds of actor, with nested, non-ASCII details."""
    actors = [Actor.staff("alice"), Actor.device("dev-bob-1"), Actor.system("projector")]
    actions = ["case.accepted", "device.document_received", "staff.login_failed"]
    records = []
    with engine.begin() as connection:
        for i in range(n):
            details = {
                "i": i,
                "note": "材料齐全",
                "items": [{"material_id": "id_card", "due": None}],
                "ratio": i / 7,
            }
            subject = Subject("case", f"case:{i:04d}")
            records.append(append(connection, actors[i % 3], actions[i % 3], subject, details))
    return records


def check(engine: Engine, *, anchors: tuple[Head, ...] = ()) -> AuditReport:
    with engine.connect() as connection, connection.begin():
        return verify(connection, anchors=anchors)


def tamper(engine: Engine, edit: Callable[[Connection], None]) -> AuditReport:
    with engine.begin() as connection:
        edit(connection)
    return check(engine)


def sql(connection: Connection, statement: str, **params: Any) -> Any:
    return connection.execute(text(statement), params)


def raw_row(connection: Connection, seq: int) -> dict[str, Any]:
    return dict(sql(connection, f"SELECT * FROM {ENTRY} WHERE seq = :s", s=seq).mappings().one())


def _flip(digest: str) -> str:
    return ("1" if digest[0] == "0" else "0") + digest[1:]


def edited_value(column: str, record: AuditRecord, dialect: str) -> Any:
    """A different value for ``column`` of ``record``, of the column's type."""
    if column == "at":
        moved = record.at + timedelta(microseconds=1)  # the smallest edit there is
        if dialect == "sqlite":
            return moved.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return moved
    kinds = ["staff", "device", "system"]
    return {
        "seq": record.seq + 1000,
        "actor_kind": kinds[(kinds.index(record.actor.kind) + 1) % 3],
        "actor_id": record.actor.id + "-x",
        "action": "case.refused",
        "subject_type": "visit_request",
        "subject_id": record.subject.id + "0",
        "details": '{"forged":true}',
        "prev_hash": _flip(record.prev_hash),
        "hash": _flip(record.hash),
    }[column]


COLUMNS = [column.name for column in AuditEntry.__table__.columns]  # type: ignore[attr-defined]
POSITIONS = ["first", "random", "last"]


def position_seq(position: str, salt: str, n: int = N) -> int:
    if position == "first":
        return 1
    if position == "last":
        return n
    return random.Random(salt).randrange(2, n)


def column_edit_case(engine: Engine, column: str, position: str) -> None:
    """Edit one column of one entry in place; verify must name exactly that entry."""
    records = fill(engine)
    seq = position_seq(position, column)
    value = edited_value(column, records[seq - 1], engine.dialect.name)
    report = tamper(
        engine, lambda c: sql(c, f"UPDATE {ENTRY} SET {column} = :v WHERE seq = :s", v=value, s=seq)
    )
    assert not report.ok
    assert report.first_bad_seq == seq, report
    if column == "seq":
        assert report.problem == ("truncated" if seq == N else "missing_entry"), report
    else:
        assert report.problem == "hash_mismatch", report
    assert report.entries == seq - 1
    assert report.reason


def deletion_case(engine: Engine, position: str) -> None:
    fill(engine)
    seq = position_seq(position, "delete")
    report = tamper(engine, lambda c: sql(c, f"DELETE FROM {ENTRY} WHERE seq = :s", s=seq))
    assert (report.ok, report.first_bad_seq) == (False, seq), report
    assert report.problem == ("truncated" if seq == N else "missing_entry"), report


def swap_contents_case(engine: Engine) -> None:
    """Two entries exchange every column but seq: the earlier one is the first bad."""
    fill(engine)
    i, j = 3, 8

    def swap(connection: Connection) -> None:
        a, b = raw_row(connection, i), raw_row(connection, j)
        columns = [c for c in COLUMNS if c != "seq"]
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        for target, source in ((i, b), (j, a)):
            values = {c: source[c] for c in columns}
            sql(connection, f"UPDATE {ENTRY} SET {assignments} WHERE seq = :s", s=target, **values)

    report = tamper(engine, swap)
    assert (report.first_bad_seq, report.problem) == (i, "hash_mismatch"), report


def reorder_case(engine: Engine) -> None:
    """Two entries exchange their seqs (the rows are reordered)."""
    fill(engine)
    i, j = 2, 10

    def reorder(connection: Connection) -> None:
        sql(connection, f"UPDATE {ENTRY} SET seq = -1 WHERE seq = :s", s=i)
        sql(connection, f"UPDATE {ENTRY} SET seq = :i WHERE seq = :j", i=i, j=j)
        sql(connection, f"UPDATE {ENTRY} SET seq = :j WHERE seq = -1", j=j)

    report = tamper(engine, reorder)
    assert (report.first_bad_seq, report.problem) == (i, "hash_mismatch"), report


def forged_row(connection: Connection, seq: int, prev_hash: str, *, valid: bool) -> None:
    """Insert an entry at ``seq``; with ``valid`` its hash is right for its contents."""
    at = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    actor, subject = Actor.staff("mallory"), Subject("case", "case:forged")
    digest = entry_hash(seq, at, actor, "case.approved", subject, {}, prev_hash)
    stored_at: Any = (
        at.strftime("%Y-%m-%d %H:%M:%S.%f") if connection.dialect.name == "sqlite" else at
    )
    sql(
        connection,
        f"INSERT INTO {ENTRY} (seq, at, actor_kind, actor_id, action, subject_type, subject_id,"
        " details, prev_hash, hash) VALUES (:seq, :at, 'staff', 'mallory', 'case.approved',"
        " 'case', 'case:forged', '{}', :prev, :hash)",
        seq=seq,
        at=stored_at,
        prev=prev_hash,
        hash=digest if valid else _flip(digest),
    )


def forged_tail_case(engine: Engine, *, valid: bool) -> None:
    """A forged entry after the last one, correctly linked or not, without moving the head."""
    records = fill(engine)
    report = tamper(engine, lambda c: forged_row(c, N + 1, records[-1].hash, valid=valid))
    assert (report.first_bad_seq, report.problem) == (N + 1, "beyond_head"), report


def forged_middle_case(engine: Engine, *, valid: bool) -> None:
    """Later entries renumbered to make room for a forged entry at seq k."""
    records = fill(engine)
    k = 5

    def insert(connection: Connection) -> None:
        for seq in range(N, k - 1, -1):  # downwards, so no seq collides on the way
            sql(connection, f"UPDATE {ENTRY} SET seq = seq + 1 WHERE seq = :s", s=seq)
        forged_row(connection, k, records[k - 2].hash, valid=valid)

    report = tamper(engine, insert)
    # A correctly hashed forgery is consistent with what precedes it; the first entry that
    # is not is the renumbered one after it.
    assert (report.first_bad_seq, report.problem) == (k + 1 if valid else k, "hash_mismatch")


def rehash_case(engine: Engine, position: str) -> None:
    """The attacker edits an entry and recomputes its hash (but not the rest of the chain)."""
    records = fill(engine)
    seq = position_seq(position, "rehash")
    record = records[seq - 1]
    actor = Actor.staff("mallory")
    digest = entry_hash(
        seq, record.at, actor, record.action, record.subject, record.details, record.prev_hash
    )
    report = tamper(
        engine,
        lambda c: sql(
            c,
            f"UPDATE {ENTRY} SET actor_kind = 'staff', actor_id = 'mallory', hash = :h"
            " WHERE seq = :s",
            h=digest,
            s=seq,
        ),
    )
    if seq == N:
        assert (report.first_bad_seq, report.problem) == (N, "head_mismatch"), report
    else:
        assert (report.first_bad_seq, report.problem) == (seq + 1, "broken_link"), report


def rewrite_from(connection: Connection, start: int, records: list[AuditRecord]) -> None:
    """What an attacker with full write access can do: rewrite from ``start`` on, rehash
    every later entry and move the head. Undetectable without an anchor."""
    prev = records[start - 2].hash if start > 1 else GENESIS_HASH
    for record in records[start - 1 :]:
        actor = Actor.staff("mallory") if record.seq == start else record.actor
        digest = entry_hash(
            record.seq, record.at, actor, record.action, record.subject, record.details, prev
        )
        sql(
            connection,
            f"UPDATE {ENTRY} SET actor_kind = :k, actor_id = :a, prev_hash = :p, hash = :h"
            " WHERE seq = :s",
            k=actor.kind,
            a=actor.id,
            p=prev,
            h=digest,
            s=record.seq,
        )
        prev = digest
    sql(connection, f"UPDATE {HEAD} SET hash = :h", h=prev)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'data' / 'fieldhall.sqlite3'}")
    ensure_audit_tables(engine)
    yield engine
    engine.dispose()


# --- appending and the format ----------------------------------------------------------------


def test_a_fresh_log_is_intact_and_empty(engine: Engine) -> None:
    report = check(engine)
    assert (report.ok, report.entries, report.head) == (True, 0, None)
    with engine.connect() as connection:
        assert read_head(connection) == Head(0, GENESIS_HASH)


def test_entries_chain_from_genesis_and_the_head_follows(engine: Engine) -> None:
    records = fill(engine)
    assert [r.seq for r in records] == list(range(1, N + 1))
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    report = check(engine)
    assert (report.ok, report.entries, report.head) == (True, N, Head(N, records[-1].hash))
    with engine.connect() as connection:
        assert read_head(connection) == Head(N, records[-1].hash)
        assert list_entries(connection, limit=N) == records


def test_the_hash_is_sha256_of_the_rfc8785_bytes_anyone_can_recompute(engine: Engine) -> None:
    fill(engine, 3)
    with engine.connect() as connection:
        row = raw_row(connection, 2)
    at = datetime.fromisoformat(row["at"]).replace(tzinfo=UTC)
    body = {
        "seq": 2,
        "at": at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "actor": {"kind": row["actor_kind"], "id": row["actor_id"]},
        "action": row["action"],
        "subject": {"type": row["subject_type"], "id": row["subject_id"]},
        "details": json.loads(row["details"]),
        "prev_hash": row["prev_hash"],
    }
    assert hashlib.sha256(rfc8785.dumps(body)).hexdigest() == row["hash"]
    assert row["details"] == rfc8785.dumps(json.loads(row["details"])).decode()


def test_an_entry_commits_and_rolls_back_with_its_operation(engine: Engine) -> None:
    fill(engine, 2)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        append(connection, Actor.staff("alice"), "case.accepted", Subject("case", "case:x"))
        raise RuntimeError("the audited operation failed")
    with engine.begin() as connection:
        record = append(connection, Actor.staff("alice"), "case.refused", Subject("case", "c:y"))
    assert record.seq == 3  # the rolled-back seq is reused: no gap
    assert check(engine).ok


def test_appends_join_a_sqlmodel_session_and_its_savepoint(engine: Engine) -> None:
    database = Database(engine)
    with (
        database.write() as connection,
        Session(bind=connection, join_transaction_mode="create_savepoint") as session,
    ):
        append(session, Actor.staff("alice"), "staff.login", Subject("staff", "alice"))
        session.commit()
        append(session, Actor.staff("alice"), "case.accepted", Subject("case", "case:1"))
        session.rollback()  # the second operation is abandoned: its entry with it
    with engine.connect() as connection:
        assert [r.action for r in list_entries(connection)] == ["staff.login"]
    assert check(engine).ok


def test_a_batch_appends_the_same_chain_as_one_by_one_under_one_head_update(
    engine: Engine, tmp_path: Path
) -> None:
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    entries = [
        Entry(Actor.device("dev-1"), "device.document_received", Subject("case", f"c:{i}"), {})
        for i in range(3)
    ] + [Entry(Actor.staff("carol"), "case.accepted", Subject("case", "c:0"), {"note": "齐"})]
    with engine.begin() as connection:
        statements: list[str] = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(connection, "before_cursor_execute", listen)
        batch = append_many(connection, entries, at=at)
        event.remove(connection, "before_cursor_execute", listen)
    assert [r.seq for r in batch] == [1, 2, 3, 4]
    assert sum("hall_audit_head" in s for s in statements) == 2  # bump, then the new hash
    assert sum(s.startswith("INSERT") for s in statements) == 1
    with engine.begin() as connection:
        assert [r.seq for r in append_many(connection, entries)] == [5, 6, 7, 8]
    assert check(engine).ok

    other = create_store_engine(f"sqlite:///{tmp_path / 'other' / 'fieldhall.sqlite3'}")
    ensure_audit_tables(other)
    with other.begin() as connection:
        single = [append(connection, *vars_of(e), at=at) for e in entries]
    other.dispose()
    assert [r.hash for r in single] == [r.hash for r in batch]


def vars_of(entry: Entry) -> tuple[Actor, str, Subject, Any]:
    return entry.actor, entry.action, entry.subject, entry.details


def test_a_batch_with_one_malformed_entry_writes_nothing(engine: Engine) -> None:
    fill(engine, 2)
    good = Entry(Actor.staff("carol"), "case.accepted", Subject("case", "c:0"), {})
    bad = Entry(Actor.staff("carol"), "Not A Code", Subject("case", "c:0"), {})
    with pytest.raises(InvalidAuditEntry), engine.begin() as connection:
        append_many(connection, [good, bad])
    with engine.connect() as connection:
        assert read_head(connection) == Head(2, list_entries(connection)[-1].hash)
    assert check(engine).ok


def test_list_entries_pages_and_filters_by_subject(engine: Engine) -> None:
    fill(engine)
    with engine.connect() as connection:
        assert [r.seq for r in list_entries(connection, after=4, limit=3)] == [5, 6, 7]
        about = list_entries(connection, subject=Subject("case", "case:0007"))
    assert [(r.seq, r.details["i"]) for r in about] == [(8, 7)]


@pytest.mark.parametrize(
    ("actor", "action", "subject", "details"),
    [
        (Actor("robot", "r2"), "case.accepted", Subject("case", "c"), {}),  # type: ignore[arg-type]
        (Actor.staff(""), "case.accepted", Subject("case", "c"), {}),
        (Actor.staff("alice"), "accepted", Subject("case", "c"), {}),
        (Actor.staff("alice"), "Case.Accepted", Subject("case", "c"), {}),
        (Actor.staff("alice"), "case.accepted", Subject("", "c"), {}),
        (Actor.staff("alice"), "case.accepted", Subject("case", ""), {}),
        (Actor.staff("alice"), "case.accepted", Subject("case", "c"), {"x": math.nan}),
        (Actor.staff("alice"), "case.accepted", Subject("case", "c"), {"x": 2**60}),
        (Actor.staff("alice"), "case.accepted", Subject("case", "c"), {"x": datetime.now(UTC)}),
        (Actor.staff("alice"), "case.accepted", Subject("case", "c"), {"x": "\ud800"}),
        (Actor.staff("alice"), "case.accepted", Subject("case", "c"), {1: "x"}),
    ],
)
def test_malformed_entries_are_refused_and_nothing_is_written(
    engine: Engine, actor: Actor, action: str, subject: Subject, details: dict[Any, Any]
) -> None:
    with pytest.raises(InvalidAuditEntry), engine.begin() as connection:
        append(connection, actor, action, subject, details)
    assert check(engine).entries == 0


safe_text = st.text(st.characters(exclude_categories=("Cs",)))  # I-JSON: no lone surrogates
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | safe_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(safe_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(details=st.dictionaries(safe_text, json_values))
def test_any_i_json_details_verify(details: dict[str, Any]) -> None:
    engine = _memory_engine()
    with engine.begin() as connection:
        record = append(
            connection, Actor.system('t"é'), "test.details", Subject("t", "1/ü"), details
        )
    # append hashes the stored canonical text spliced into the entry; anyone recomputes it
    # from the entry's values (entry_hash, what verify does).
    args = (record.actor, record.action, record.subject, record.details, record.prev_hash)
    assert record.hash == entry_hash(record.seq, record.at, *args), details
    assert check(engine).ok, details
    with engine.begin() as connection:
        assert list_entries(connection, after=record.seq - 1) == [record]


_MEMORY: list[Engine] = []


def _memory_engine() -> Engine:
    # One engine for all hypothesis examples (the log just grows): cheap and still exact.
    if not _MEMORY:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import StaticPool

        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        ensure_audit_tables(engine)
        _MEMORY.append(engine)
    return _MEMORY[0]


# --- concurrency -----------------------------------------------------------------------------


def concurrent_appends(
    engines: list[Engine],
    *,
    writers: int = 8,
    per_writer: int = 25,
    rollback_every: int = 0,
    hold_s: float = 0.002,
) -> list[AuditRecord]:
    """``writers`` threads, each on its own connection (spread over ``engines``, as over
    server workers), appending in their own transactions — each held open ``hold_s`` after
    its append, so they overlap — while a reader keeps verifying. Returns what committed."""
    committed: list[AuditRecord] = []
    lock = threading.Lock()
    failures: list[BaseException] = []
    done = threading.Event()

    def writer(w: int) -> None:
        engine = engines[w % len(engines)]
        try:
            for i in range(per_writer):
                with engine.connect() as connection:
                    transaction = connection.begin()
                    record = append(
                        connection,
                        Actor.device(f"dev-{w}"),
                        "device.document_received",
                        Subject("case", f"case:{w}:{i}"),
                        {"writer": w, "i": i},
                    )
                    time.sleep(hold_s)
                    if rollback_every and i % rollback_every == rollback_every - 1:
                        transaction.rollback()
                        continue
                    transaction.commit()
                with lock:
                    committed.append(record)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                report = check(engines[0])
                assert report.ok, report
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    assert not failures, failures
    return committed


def assert_concurrent_log(engine: Engine, committed: list[AuditRecord]) -> None:
    report = check(engine)
    assert report.ok, report
    assert report.entries == len(committed)
    assert sorted(r.seq for r in committed) == list(range(1, len(committed) + 1))
    with engine.connect() as connection:
        stored = list_entries(connection, limit=len(committed) + 1)
    assert stored == sorted(committed, key=lambda r: r.seq)
    for writer in {r.actor.id for r in committed}:  # each writer's entries in its own order
        mine = [r.details["i"] for r in stored if r.actor.id == writer]
        assert mine == sorted(mine)


def test_concurrent_writers_on_sqlite_get_gap_free_seqs_in_commit_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fieldhall.sqlite3'}"
    engines = [create_store_engine(url), create_store_engine(url)]
    ensure_audit_tables(engines[0])
    try:
        committed = concurrent_appends(engines, rollback_every=4)
        assert len(committed) == 8 * (25 - 25 // 4)
        assert_concurrent_log(engines[0], committed)
    finally:
        for engine in engines:
            engine.dispose()


# --- tampering: every direct edit is caught --------------------------------------------------


def test_the_column_edits_cover_every_column() -> None:
    record = AuditRecord(
        1, datetime.now(UTC), Actor.staff("a"), "a.b", Subject("s", "1"), {}, "0" * 64, "f" * 64
    )
    for column in COLUMNS:
        assert edited_value(column, record, "sqlite") is not None
    assert set(COLUMNS) == {
        "seq",
        "at",
        "actor_kind",
        "actor_id",
        "action",
        "subject_type",
        "subject_id",
        "details",
        "prev_hash",
        "hash",
    }


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("column", COLUMNS)
def test_editing_any_column_of_any_entry_is_caught(
    engine: Engine, column: str, position: str
) -> None:
    column_edit_case(engine, column, position)


@pytest.mark.parametrize(
    ("column", "value", "problems"),
    [
        ("seq", "seven", {"missing_entry"}),
        ("at", "yesterday", {"malformed_entry"}),
        ("at", "2025-03-01T08:00:00.000000+00:00", {"malformed_entry"}),
        ("actor_id", 42, {"malformed_entry", "hash_mismatch"}),  # SQLite may store '42'
        ("details", "not json", {"malformed_entry"}),
        ("details", '{"i": 4}', {"malformed_entry"}),  # same meaning, not the canonical text
        ("details", '{"i":4,"i":5}', {"malformed_entry"}),
        ("details", "[]", {"malformed_entry"}),
        ("hash", "F" * 64, {"hash_mismatch"}),
    ],
)
def test_values_of_the_wrong_type_or_form_are_reported_never_raised(
    engine: Engine, column: str, value: Any, problems: set[str]
) -> None:
    # SQLite stores whatever it is given; verification must still name the entry.
    fill(engine)
    report = tamper(
        engine, lambda c: sql(c, f"UPDATE {ENTRY} SET {column} = :v WHERE seq = 5", v=value)
    )
    assert (report.first_bad_seq, report.problem in problems) == (5, True), report


def test_a_whitespace_only_edit_of_the_stored_time_is_caught(engine: Engine) -> None:
    fill(engine)
    report = tamper(engine, lambda c: sql(c, f"UPDATE {ENTRY} SET at = at || ' ' WHERE seq = 4"))
    assert (report.first_bad_seq, report.problem) == (4, "malformed_entry"), report


@pytest.mark.parametrize("position", POSITIONS)
def test_deleting_an_entry_is_caught(engine: Engine, position: str) -> None:
    deletion_case(engine, position)


def test_swapping_two_entries_contents_is_caught(engine: Engine) -> None:
    swap_contents_case(engine)


def test_reordering_two_entries_is_caught(engine: Engine) -> None:
    reorder_case(engine)


@pytest.mark.parametrize("valid", [True, False], ids=["rehashed", "junk_hash"])
def test_a_forged_entry_after_the_last_is_caught(engine: Engine, valid: bool) -> None:
    forged_tail_case(engine, valid=valid)


@pytest.mark.parametrize("valid", [True, False], ids=["rehashed", "junk_hash"])
def test_a_forged_entry_in_the_middle_is_caught(engine: Engine, valid: bool) -> None:
    forged_middle_case(engine, valid=valid)


def test_an_entry_before_the_first_is_caught(engine: Engine) -> None:
    fill(engine)
    report = tamper(engine, lambda c: forged_row(c, 0, GENESIS_HASH, valid=True))
    assert (report.first_bad_seq, report.problem) == (0, "unexpected_seq"), report


@pytest.mark.parametrize("position", POSITIONS)
def test_an_edited_and_rehashed_entry_breaks_the_next_link_or_the_head(
    engine: Engine, position: str
) -> None:
    rehash_case(engine, position)


def test_head_tampering_is_caught(engine: Engine) -> None:
    records = fill(engine)
    cases: list[tuple[str, tuple[int | None, str]]] = [
        (f"UPDATE {HEAD} SET hash = '{_flip(records[-1].hash)}'", (N, "head_mismatch")),
        (f"UPDATE {HEAD} SET seq = {N + 3}", (N + 1, "truncated")),
        (f"UPDATE {HEAD} SET seq = {N - 1}", (N, "beyond_head")),
        (f"UPDATE {HEAD} SET seq = 'x'", (None, "head_mismatch")),
        (f"DELETE FROM {HEAD}", (None, "head_missing")),
    ]
    for statement, expected in cases:
        with engine.begin() as connection:
            saved = sql(connection, f"SELECT * FROM {HEAD}").mappings().one()
            sql(connection, statement)
            report = verify(connection)
            assert (report.first_bad_seq, report.problem) == expected, (statement, report)
            sql(connection, f"DELETE FROM {HEAD}")
            sql(connection, f"INSERT INTO {HEAD} VALUES (:id, :seq, :hash, :at)", **saved)
    assert check(engine).ok


def test_head_moved_back_with_the_tail_removed_needs_an_anchor(engine: Engine) -> None:
    records = fill(engine)
    anchor = Head(N, records[-1].hash)  # printed by `fieldhall audit verify` yesterday
    with engine.begin() as connection:
        sql(connection, f"DELETE FROM {ENTRY} WHERE seq > 9")
        sql(connection, f"UPDATE {HEAD} SET seq = 9, hash = :h", h=records[8].hash)
    assert check(engine).ok  # a consistent shorter log: the database alone cannot tell
    report = check(engine, anchors=(anchor,))
    assert (report.first_bad_seq, report.problem) == (10, "truncated"), report


def test_a_full_rewrite_with_the_head_needs_an_anchor(engine: Engine) -> None:
    records = fill(engine)
    anchors = (Head(3, records[2].hash), Head(7, records[6].hash))
    with engine.begin() as connection:
        rewrite_from(connection, 5, records)
    assert check(engine).ok  # what full write access can hide, as the docstring says
    report = check(engine, anchors=anchors)
    assert (report.first_bad_seq, report.problem) == (7, "anchor_mismatch"), report
    assert check(engine, anchors=anchors[:1]).ok  # an anchor before the rewrite still holds


def test_appending_to_a_log_whose_head_was_deleted_fails_closed(engine: Engine) -> None:
    fill(engine, 3)
    with engine.begin() as connection:
        sql(connection, f"DELETE FROM {HEAD}")
    with pytest.raises(AuditLogBroken), engine.begin() as connection:
        append(connection, Actor.staff("alice"), "case.accepted", Subject("case", "c"))
    assert check(engine).problem == "head_missing"


# --- the command line ------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(audit, ["verify", *args], catch_exceptions=False)


def test_cli_verify_creates_the_tables_on_first_use_and_reports_intact(tmp_path: Path) -> None:
    result = _run("--data-dir", str(tmp_path / "fresh"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "ok": True,
        "entries": 0,
        "head": None,
        "first_bad_seq": None,
        "problem": None,
        "reason": None,
    }
    assert result.stdout.count("\n") == 1
    assert (tmp_path / "fresh" / "fieldhall.sqlite3").exists()


def test_cli_verify_intact_prints_the_head_to_anchor(tmp_path: Path, engine: Engine) -> None:
    records = fill(engine)
    data_dir = str(tmp_path / "data")
    result = _run("--data-dir", data_dir)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"audit log intact: {N} entries, head {N}:{records[-1].hash}"
    as_json = json.loads(_run("--data-dir", data_dir, "--json").stdout)
    assert as_json["head"] == {"seq": N, "hash": records[-1].hash}
    anchored = _run("--data-dir", data_dir, "--anchor", f"{N}:{records[-1].hash}")
    assert anchored.exit_code == 0


def test_cli_verify_tampered_exits_1_with_one_line(tmp_path: Path, engine: Engine) -> None:
    fill(engine)
    with engine.begin() as connection:
        sql(connection, f"UPDATE {ENTRY} SET actor_id = 'mallory' WHERE seq = 6")
    url = f"sqlite:///{tmp_path / 'data' / 'fieldhall.sqlite3'}"

    result = _run("--database-url", url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("audit log broken at seq 6: hash_mismatch:")

    result = _run("--database-url", url, "--json")
    assert result.exit_code == 1
    assert result.stderr == ""
    payload = json.loads(result.stdout)
    assert (payload["ok"], payload["first_bad_seq"], payload["problem"]) == (
        False,
        6,
        "hash_mismatch",
    )
    assert payload["entries"] == 5


def test_cli_verify_anchor_mismatch_and_bad_anchor(tmp_path: Path, engine: Engine) -> None:
    fill(engine)
    data_dir = str(tmp_path / "data")
    result = _run("--data-dir", data_dir, "--json", "--anchor", f"3:{'a' * 64}")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["first_bad_seq"], payload["problem"]) == (3, "anchor_mismatch")
    result = _run("--data-dir", data_dir, "--json", "--anchor", f"{N + 5}:{'a' * 64}")
    assert json.loads(result.stdout)["problem"] == "truncated"
    result = CliRunner().invoke(audit, ["verify", "--data-dir", data_dir, "--anchor", "3:xyz"])
    assert result.exit_code == 2  # a usage error, as click reports them
    assert "SEQ:HASH" in result.stderr


def test_cli_verify_unreachable_database_exits_1_with_one_json_object(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2"
    result = _run("--database-url", url, "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["ok"], payload["problem"]) == (False, "unreadable")
    result = _run("--database-url", url)
    assert result.exit_code == 1
    assert result.stderr.startswith("cannot read the audit log:")
    assert result.stderr.count("\n") == 1
