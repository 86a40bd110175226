"""The store contract on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.store import Store
from tests.store_contract import *  # noqa: F403


@pytest.fixture
def store(pg_schema: str, tmp_path: Path) -> Iterator[Store]:
    database = Database(create_store_engine(pg_schema))
    yield Store(database, BlobStore(tmp_path / "blobs"))
    database.dispose()


def test_a_write_on_one_worker_wakes_the_feeds_of_another(pg_schema: str, tmp_path: Path) -> None:
    import asyncio
    import time

    from fieldhall.sync.changes import ChangeNotifier, PostgresListener
    from fieldhall.sync.documents import parse_incoming

    worker_a = Store(Database(create_store_engine(pg_schema)), BlobStore(tmp_path / "a"))
    notifier_b = ChangeNotifier(poll_interval=30.0)
    worker_b = Store(
        Database(create_store_engine(pg_schema)), BlobStore(tmp_path / "b"), notifier=notifier_b
    )
    url = worker_b.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listener = PostgresListener(url, notifier_b).start()
    worker_a.create_database("shared")

    async def wait_for_change() -> tuple[bool, float]:
        started = time.monotonic()
        task = asyncio.create_task(notifier_b.wait("shared", timeout=20.0))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(
            worker_a.bulk_docs, "shared", [parse_incoming({"_id": "x"}, new_edits=True)]
        )
        woke = await task
        return woke, time.monotonic() - started

    try:
        woke, elapsed = asyncio.run(wait_for_change())
    finally:
        listener.stop()
        worker_a.db.dispose()
        worker_b.db.dispose()
    assert woke, "the other worker's feed was not notified"
    assert elapsed < 5.0
    assert [s.doc_id for s in worker_b.changes("shared", since=0, limit=None)[0]] == ["x"]
