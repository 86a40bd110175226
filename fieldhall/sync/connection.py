"""Database engines for the store: SQLite (embedded default) and PostgreSQL, one code path.

SQLite runs in WAL mode with ``synchronous=FULL`` so that an acknowledged write survives a
power cut. pysqlite's own transaction handling is switched off and we issue ``BEGIN`` ourselves:
write transactions take the write lock up front (``BEGIN IMMEDIATE``) instead of failing with
"database is locked" half-way through.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

__all__ = ["Database", "Raw", "create_store_engine", "for_driver"]

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
        # On the driver's connection: through exec_driver_sql it costs ten times as much.
        connection.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]

    return engine


class Raw:
    """The driver's connection inside a transaction, for the store's hot statements.

    Through SQLAlchemy a statement costs about 40 µs of Python before the database sees it
    (compiled-cache lookup, execution context, result wrapping), through the driver about
    5 µs; a replication sends hundreds of small requests of a few statements each. SQL is
    written with ``?`` placeholders (SQLite's) and turned into ``%s`` for psycopg; rows are
    plain tuples. Driver errors become SQLAlchemy's (``OperationalError`` is a 503 above).
    """

    __slots__ = ("_cursor", "is_sqlite")

    def __init__(self, dbapi_connection: Any, is_sqlite: bool) -> None:
        self._cursor = dbapi_connection.cursor()
        self.is_sqlite = is_sqlite

    def statement(self, sql: str) -> str:
        """``sql`` written with SQLite's ``?`` placeholders as this driver takes it."""
        return for_driver(sql, self.is_sqlite)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            self._cursor.execute(sql, params)
            return self._cursor.fetchall()  # type: ignore[no-any-return]
        except Exception as exc:
            raise _translated(exc, sql, params) from exc

    def first(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self._cursor.execute(sql, params)
        except Exception as exc:
            raise _translated(exc, sql, params) from exc

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._cursor.executemany(sql, rows)
        except Exception as exc:
            raise _translated(exc, sql, None) from exc


def for_driver(sql: str, is_sqlite: bool) -> str:
    """``sql`` written with SQLite's ``?`` placeholders as SQLite or psycopg (``%s``) takes it."""
    return sql if is_sqlite else sql.replace("?", "%s")


def _translated(exc: Exception, sql: str, params: Any) -> Exception:
    """A driver error as SQLAlchemy would have raised it (``sqlite3.OperationalError`` ->
    ``sqlalchemy.exc.OperationalError``), anything else unchanged."""
    psycopg = sys.modules.get("psycopg")
    for base in (sqlite3.Error, psycopg.Error if psycopg is not None else None):
        if base is not None and isinstance(exc, base):
            translated: Exception = DBAPIError.instance(sql, params, exc, base)
            return translated
    return exc


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

    def may_read_inline(self) -> bool:
        """Whether a short read may run on the calling thread (the event loop) instead of a
        worker thread: on SQLite in WAL mode a reader never waits for the writer, and a
        connection is free in the pool, so nothing it does blocks; on PostgreSQL every
        statement is a network round trip."""
        pool: Any = self.engine.pool
        return self.is_sqlite and pool.checkedout() < pool.size()

    @contextmanager
    def read_raw(self) -> Iterator[Raw]:
        """A read transaction on a pooled driver connection, without SQLAlchemy's
        ``Connection`` (a read request pays ~20 µs for it instead of ~200 µs)."""
        pooled = self.engine.raw_connection()
        try:
            raw = Raw(pooled.driver_connection, self.is_sqlite)
            if self.is_sqlite:
                raw.run("BEGIN")
            try:
                yield raw
            except BaseException:
                pooled.rollback()
                raise
            try:
                pooled.commit()
            except Exception as exc:
                raise _translated(exc, "COMMIT", None) from exc
        finally:
            pooled.close()

    @staticmethod
    def raw(connection: Connection) -> Raw:
        """The driver's side of an open SQLAlchemy transaction, for hot statements in it."""
        is_sqlite = connection.dialect.name == "sqlite"
        return Raw(connection.connection.driver_connection, is_sqlite)

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
