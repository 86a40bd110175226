from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import CouchServer, threaded_couch


@pytest.fixture
def couch(tmp_path: Path) -> Iterator[CouchServer]:
    """A fresh ``couch serve`` (SQLite, own data dir) for one test."""
    with threaded_couch(tmp_path / "data") as server:
        yield server


@pytest.fixture(scope="module")
def shared_couch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchServer]:
    """One ``couch serve`` shared by a module's tests (each test uses its own database)."""
    with threaded_couch(tmp_path_factory.mktemp("couch") / "data") as server:
        yield server
