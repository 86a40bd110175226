"""The store contract on the embedded default, SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.store import Store
from tests.store_contract import *  # noqa: F403


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    database = Database(engine)
    yield Store(database, BlobStore(tmp_path / "blobs"))
    database.dispose()
