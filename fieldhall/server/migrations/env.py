"""Alembic's environment: run on the connection :func:`fieldhall.server.migrations.
upgrade_database` hands over (already in a transaction, holding the migration lock), or on
``sqlalchemy.url`` for ``fieldhall db revision``'s scratch database."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from fieldhall.server.migrations import VERSION_TABLE, schema_metadata
from fieldhall.sync.connection import create_store_engine


def _render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Column types are written as the database sees them: SQLModel's ``AutoString`` and
    ``UTCDateTime`` become ``sa.String``/``sa.DateTime(timezone=True)``, so a revision does
    not depend on a library's Python-side type classes staying where they are."""
    from_sqlmodel = type(item).__module__.startswith("sqlmodel")
    if kind == "type" and isinstance(item, TypeDecorator) and from_sqlmodel:
        return f"sa.{item.impl_instance!r}"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema_metadata(),
        version_table=VERSION_TABLE,
        # SQLite alters a table by copying it; batch mode writes migrations that work there
        # (on PostgreSQL the same operations are plain ALTERs).
        render_as_batch=context.config.attributes.get("render_as_batch", True),
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection and no sqlalchemy.url to migrate")
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
_online()
