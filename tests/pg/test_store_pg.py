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
