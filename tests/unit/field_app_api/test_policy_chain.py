"""The door's chain check inside the write transaction: for a batch, read once before its
documents and written once after them (begin_batch, end_batch); for a document checked on
its own, read and written per document. Both give the same verdicts and the same links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from fieldhall.field_app_api.devices import DeviceIdentity
from fieldhall.field_app_api.policy import FieldPolicy, _Prepared
from fieldhall.field_app_api.tables import ChainEntry
from fieldhall.schemas.chain import chain_hash
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.errors import Forbidden
from fieldhall.sync.policy import Principal, Unchanged, WriteContext

DEVICE = DeviceIdentity("dev-1", "agent-1", "grid-1", None, "unused: the checks are prepared")
BOB = Principal(DEVICE.device_id, DEVICE.channels, context={"device": DEVICE})


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'chain.db'}")
    SQLModel.metadata.create_all(engine, tables=[ChainEntry.__table__])  # type: ignore[attr-defined]
    yield Database(engine)
    engine.dispose()


def link(seq: int, prev: dict[str, Any] | None, content: str = "") -> dict[str, Any]:
    """A document of the device's chain (only what the chain check reads)."""
    return {
        "_id": f"case:{seq}{content}",
        "type": "case",
        "agent_id": DEVICE.agent_id,
        "device_id": DEVICE.device_id,
        "device_seq": seq,
        "prev_hash": None if prev is None else chain_hash(prev),
        "form": {"content": content},
    }


Write = Callable[[Database, list[dict[str, Any]]], list[str]]


def one_by_one(database: Database, docs: list[dict[str, Any]]) -> list[str]:
    """Each document checked and written on its own, without begin_batch."""
    policy = FieldPolicy(lambda doc: None)
    outcomes = []
    for doc in docs:
        with database.write() as conn:
            outcomes.append(_write(policy, doc, WriteContext(conn, "field", True, _ready(doc))))
    return outcomes


def as_a_batch(database: Database, docs: list[dict[str, Any]]) -> list[str]:
    """The documents as one write: begin_batch, each document, end_batch."""
    policy = FieldPolicy(lambda doc: None)
    with database.write() as conn:
        shared: dict[str, Any] = {}
        policy.begin_batch(BOB, docs, WriteContext(conn, "field", True, None, shared))
        outcomes = [
            _write(policy, doc, WriteContext(conn, "field", True, _ready(doc), shared))
            for doc in docs
        ]
        policy.end_batch(BOB, WriteContext(conn, "field", True, None, shared))
    return outcomes


def _ready(doc: dict[str, Any]) -> _Prepared:
    return _Prepared(None, chain_hash(doc), {}, None)


def _write(policy: FieldPolicy, doc: dict[str, Any], context: WriteContext) -> str:
    try:
        policy.check_write(BOB, doc, None, context)
    except Forbidden as refusal:
        return refusal.reason.split(":", 1)[0]
    except Unchanged:
        return "unchanged"
    policy.after_write(BOB, doc, context)
    return "ok"


def links(database: Database) -> dict[int, tuple[str, str]]:
    with database.read() as conn:
        rows = conn.execute(text("SELECT device_seq, doc_id, hash FROM field_chain_entry"))
        return {int(r.device_seq): (str(r.doc_id), str(r.hash)) for r in rows}


@pytest.mark.parametrize("write", [one_by_one, as_a_batch], ids=["one by one", "a batch"])
def test_the_chain_is_judged_alike_document_by_document_and_as_a_batch(
    database: Database, write: Write
) -> None:
    first = link(1, None)
    second = link(2, first)
    third = link(3, second)
    fourth = link(4, third)
    other_second = link(2, first, "other")  # the same device_seq, other content
    wrong_fourth = link(4, second, "wrong")  # names a predecessor that is not the third
    assert write(database, [third, first]) == ["ok", "ok"]  # a gap at 2, recorded
    assert write(database, [fourth, wrong_fourth, other_second, second, second, third]) == [
        "ok",
        "chain_fork",  # device_seq 4 is used by now
        "chain_fork",  # the stored third names another predecessor
        "ok",  # closes the gap
        "unchanged",  # the same bytes again
        "unchanged",
    ]
    assert links(database) == {
        doc["device_seq"]: (doc["_id"], chain_hash(doc)) for doc in (first, second, third, fourth)
    }


def test_a_large_batch_reads_the_links_around_all_of_its_documents_at_once(
    database: Database,
) -> None:
    docs = [link(1, None)]
    for seq in range(2, 1202):  # more sequence numbers than old SQLites took parameters
        docs.append(link(seq, docs[-1]))
    assert as_a_batch(database, docs[::2]) == ["ok"] * 601  # 1, 3, …, 1201: gaps between
    # Each forgery names its true predecessor; its stored successor names another.
    forged = [link(seq, docs[seq - 2], "forged") for seq in range(2, 1202, 2)]
    assert as_a_batch(database, [*forged, *docs[1::2]]) == ["chain_fork"] * 600 + ["ok"] * 600
    assert sorted(links(database)) == list(range(1, 1202))
