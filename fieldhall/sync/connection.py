"""Database engines for the store: SQLite (embedded default) and PostgreSQL, one code path.

SQLite runs in WAL mode with ``synchronous=FULL`` so that an acknowledged write survives a
power cut. pysqlite's own transaction handling is switched off and we issue ``BEGIN`` ourselves:
write transactions take the write lock up front (``BEGIN IMMEDIATE``) instead of failing with
"database is locked" half-way through.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

__all__ = ["Database", "create_store_engine"]

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_store_engine(url: str, *, synchronous: str = "FULL", echo: bool = False) -> Engine:
    """An engine for ``url`` with the settings the store relies on."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, synchronous=synchronous, echo=echo)
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_engine(url: str, *, synchronous: str, echo: bool) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """An engine plus the transaction discipline the store uses."""

    def __init__(self, engine: Engine, *, synchronous: str = "FULL") -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # One writer at a time within this process; other processes wait on SQLite's lock.
        self._write_lock = threading.Lock() if self.is_sqlite else None
        # The engine's PRAGMA synchronous, restored after a relaxed (durable=False) write.
        self.synchronous = synchronous.upper()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction. ``durable=False`` (SQLite only) commits without waiting for
        the disk: the write survives a crashed process but may be lost in a power cut — for
        data that is cheap to redo, such as replication checkpoints. The next durable commit
        makes it durable too (the WAL is synced in order)."""
        if self._write_lock is None:
            with self.engine.connect() as connection, connection.begin():
                yield connection
            return
        with self._write_lock, self.engine.connect() as connection:
            connection.execution_options(sqlite_begin="IMMEDIATE")
            relaxed = not durable and self.synchronous != "NORMAL"
            # On the driver's connection: through SQLAlchemy it would open a transaction, and
            # SQLite refuses to change the safety level inside one.
            raw: Any = connection.connection.driver_connection
            if relaxed:
                raw.execute("PRAGMA synchronous=NORMAL")
            try:
                with connection.begin():
                    yield connection
            finally:
                if relaxed:
                    raw.execute(f"PRAGMA synchronous={self.synchronous}")

    def dispose(self) -> None:
        self.engine.dispose()
