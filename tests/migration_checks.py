"""Checks on a migrated database shared by the SQLite (tests/unit/server) and PostgreSQL
(tests/pg) migration tests."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.uploads import Uploads
from fieldhall.server.hall.audit import ensure_audit_tables
from fieldhall.server.hall.tables import create_hall_tables
from fieldhall.server.migrations import schema_metadata
from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database
from fieldhall.sync.store import Store


def model_tables() -> set[str]:
    return {name for metadata in schema_metadata() for name in metadata.tables}


def schema_drift(engine: Engine) -> list[Any]:
    """What ``alembic check`` reports: every difference between the database and the
    models (tables, columns, types, nullability, indexes, constraints, defaults)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, schema_metadata()))


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def create_the_old_way(engine: Engine, blob_dir: Any, *, hall: bool = True) -> Store:
    """A database as fieldhall made it before migrations: each layer's ``create_all``.
    ``hall=False``: only the sync store's tables, as ``fieldhall couch serve`` makes them."""
    store = Store(Database(engine), BlobStore(blob_dir))
    if not hall:
        return store
    field = FieldService(engine, store)
    field.ensure_databases()
    Uploads(field)
    create_hall_tables(engine)
    ensure_audit_tables(engine)
    return store


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
