"""The field side assembled: its tables on the shared database, the sync store with the field
policy and channels, and the operations the HTTP layer and the CLI call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from fieldhall.sync.store import Store

from . import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

__all__ = ["CATALOG_DB", "FIELD_DB", "FieldService"]

FIELD_DB = "field"
CATALOG_DB = "catalog"


@dataclass
class FieldService:
    engine: Engine
    store: Store

    def __post_init__(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for work that may write: it holds the database's write lock from the
        start (on SQLite a read transaction cannot become a write one once another writer
        has committed). ``session.commit()`` inside commits a savepoint; the whole commits
        when the block ends without an exception."""
        with (
            self.store.db.write() as connection,
            Session(
                bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
            ) as session,
        ):
            yield session
            # The block is the unit of work: what it added is kept unless it raised.
            session.commit()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only (e.g. authenticating a device on every request)."""
        with (
            self.store.db.read() as connection,
            Session(bind=connection, expire_on_commit=False) as session,
        ):
            yield session

    def ensure_databases(self) -> None:
        for name in (FIELD_DB, CATALOG_DB):
            self.store.create_database(name, exist_ok=True)

    def info(self) -> dict[str, Any]:
        return {"databases": [FIELD_DB, CATALOG_DB]}
