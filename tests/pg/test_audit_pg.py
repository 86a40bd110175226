"""The audit log on PostgreSQL: concurrent writers from several engines (as from several
server workers), and the same tampering scenarios as on SQLite."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fieldhall.server.audit_cmd import audit
from fieldhall.server.hall.audit import (
    Actor,
    AuditLogBroken,
    Head,
    Subject,
    append,
    ensure_audit_tables,
    verify,
)
from fieldhall.sync.connection import create_store_engine
from tests.unit.hall.test_audit import (
    COLUMNS,
    HEAD,
    POSITIONS,
    N,
    assert_concurrent_log,
    check,
    column_edit_case,
    concurrent_appends,
    deletion_case,
    fill,
    forged_middle_case,
    forged_tail_case,
    rehash_case,
    reorder_case,
    rewrite_from,
    swap_contents_case,
)

pytestmark = pytest.mark.pg


@pytest.fixture
def engine(pg_schema: str) -> Iterator[Engine]:
    engine = create_store_engine(pg_schema)
    ensure_audit_tables(engine)
    yield engine
    engine.dispose()


def test_concurrent_writers_from_several_workers_get_gap_free_seqs(pg_schema: str) -> None:
    engines = [create_store_engine(pg_schema) for _ in range(3)]
    ensure_audit_tables(engines[0])
    try:
        committed = concurrent_appends(engines, writers=12, per_writer=20, rollback_every=5)
        assert len(committed) == 12 * (20 - 20 // 5)
        assert_concurrent_log(engines[0], committed)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_slow_transaction_holds_the_next_seq_until_it_commits(engine: Engine) -> None:
    """The seq is decided under the head's lock: a writer that appended and has not committed
    yet makes the next writer wait, so seqs follow commit order."""
    fill(engine, 2)
    order: list[str] = []
    appended = threading.Event()

    def slow() -> None:
        with engine.begin() as connection:
            append(connection, Actor.staff("slow"), "case.accepted", Subject("case", "a"))
            appended.set()
            time.sleep(0.5)
            order.append("slow commits")

    thread = threading.Thread(target=slow)
    thread.start()
    appended.wait(5)
    with engine.begin() as connection:
        record = append(connection, Actor.staff("fast"), "case.accepted", Subject("case", "b"))
        order.append("fast appended")
    thread.join()
    assert order == ["slow commits", "fast appended"]
    assert record.seq == 4
    assert check(engine).ok


def test_first_appends_on_an_empty_database_race_safely(pg_schema: str) -> None:
    """Tables created by someone else, no head row yet: concurrent first appends seed it once."""
    engine = create_store_engine(pg_schema)
    ensure_audit_tables(engine)
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {HEAD}"))
    try:
        committed = concurrent_appends([engine], writers=6, per_writer=3)
        assert_concurrent_log(engine, committed)
    finally:
        engine.dispose()


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("column", COLUMNS)
def test_editing_any_column_of_any_entry_is_caught(
    engine: Engine, column: str, position: str
) -> None:
    column_edit_case(engine, column, position)


@pytest.mark.parametrize("position", POSITIONS)
def test_deleting_an_entry_is_caught(engine: Engine, position: str) -> None:
    deletion_case(engine, position)


def test_swapping_two_entries_contents_is_caught(engine: Engine) -> None:
    swap_contents_case(engine)


def test_reordering_two_entries_is_caught(engine: Engine) -> None:
    reorder_case(engine)


@pytest.mark.parametrize("valid", [True, False], ids=["rehashed", "junk_hash"])
def test_forged_entries_are_caught(engine: Engine, valid: bool) -> None:
    forged_tail_case(engine, valid=valid)


@pytest.mark.parametrize("valid", [True, False], ids=["rehashed", "junk_hash"])
def test_a_forged_entry_in_the_middle_is_caught(engine: Engine, valid: bool) -> None:
    forged_middle_case(engine, valid=valid)


@pytest.mark.parametrize("position", POSITIONS)
def test_an_edited_and_rehashed_entry_breaks_the_next_link_or_the_head(
    engine: Engine, position: str
) -> None:
    rehash_case(engine, position)


def test_a_full_rewrite_needs_an_anchor(engine: Engine) -> None:
    records = fill(engine)
    with engine.begin() as connection:
        rewrite_from(connection, 2, records)
    assert check(engine).ok
    report = check(engine, anchors=(Head(N, records[-1].hash),))
    assert (report.first_bad_seq, report.problem) == (N, "anchor_mismatch"), report


def test_appending_after_the_head_was_deleted_fails_closed(engine: Engine) -> None:
    fill(engine, 3)
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {HEAD}"))
    with pytest.raises(AuditLogBroken), engine.begin() as connection:
        append(connection, Actor.staff("alice"), "case.accepted", Subject("case", "c"))
    with engine.connect() as connection:
        assert verify(connection).problem == "head_missing"


def test_cli_verify_on_postgresql(engine: Engine, pg_schema: str) -> None:
    records = fill(engine)
    result = CliRunner().invoke(audit, ["verify", "--database-url", pg_schema, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["head"] == {"seq": N, "hash": records[-1].hash}
    with engine.begin() as connection:
        connection.execute(text("UPDATE hall_audit_entry SET action = 'case.denied' WHERE seq = 7"))
    result = CliRunner().invoke(audit, ["verify", "--database-url", pg_schema, "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["first_bad_seq"], payload["problem"]) == (7, "hash_mismatch")
