"""The hall database's schema history, kept by Alembic: every table of every layer (the sync
store's, the field side's, the uploads', the hall's and its audit log's) on SQLite and
PostgreSQL.

The server and every administrative command call :func:`upgrade_database` before they use
the database. It is safe to run from several processes at once: the upgrade runs in one
transaction that first takes the database's migration lock (a transaction-level advisory
lock on PostgreSQL, the write lock — ``BEGIN IMMEDIATE`` — on SQLite), so the second process
waits, then finds the schema already at head. A database made before migrations existed
(tables, no ``alembic_version``) is adopted: the baseline revision creates only the tables
it lacks, and the database is stamped.

Adding a migration after changing a table: ``make migration m="what changed"`` (or
``fieldhall db revision -m "what changed"``) autogenerates ``versions/NNNN_what_changed.py``
against a scratch database at head; review it, then ``fieldhall db upgrade``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "MigrationResult",
    "UnknownRevision",
    "alembic_config",
    "current_revision",
    "downgrade_database",
    "head_revision",
    "new_revision",
    "schema_metadata",
    "upgrade_database",
]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
# The revision that describes the schema as create_all made it before migrations.
BASELINE = "0001"
# pg_advisory_xact_lock key: "fieldhall" in ASCII, so it does not collide with others' locks.
PG_MIGRATION_LOCK = 0x6669656C6468616C


def schema_metadata() -> list[MetaData]:
    """The tables the migrations must produce: the sync store's Core metadata and the
    SQLModel metadata, with every module that declares a table imported (a test checks that
    no table of ``fieldhall`` is missing from here)."""
    from sqlmodel import SQLModel

    import fieldhall.field_app_api.tables
    import fieldhall.field_app_api.uploads.tables
    import fieldhall.server.hall.audit
    import fieldhall.server.hall.tables
    import fieldhall.server.hall.visits.tables
    import fieldhall.server.photos.tables  # noqa: F401
    from fieldhall.sync import tables as sync_tables

    return [sync_tables.metadata, SQLModel.metadata]


def alembic_config(
    connection: Connection | None = None, *, url: str | None = None, **attributes: Any
) -> Config:
    """Alembic's configuration, built in code (no ``alembic.ini``): the scripts ship inside
    the package, so this works from an installed wheel as from a checkout."""
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


def new_revision(message: str, *, url: str | None = None) -> Path:
    """Autogenerate ``versions/NNNN_<message>.py`` from the difference between the models and
    a database at head: ``url``, or by default a scratch SQLite database made for the
    purpose. The file is the starting point of a review, not the end of one."""
    import importlib.util
    import tempfile

    from sqlalchemy import create_engine

    with tempfile.TemporaryDirectory(prefix="fieldhall-revision-") as scratch:
        url = url or f"sqlite:///{Path(scratch) / 'scratch.sqlite3'}"
        engine = create_engine(url)
        try:
            upgrade_database(engine)
        finally:
            engine.dispose()
        config = alembic_config(url=url)
        if importlib.util.find_spec("ruff") is not None:
            config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
            for name, options in (("ruff_fix", "check --fix"), ("ruff_format", "format")):
                config.set_section_option("post_write_hooks", f"{name}.type", "module")
                config.set_section_option("post_write_hooks", f"{name}.module", "ruff")
                config.set_section_option(
                    "post_write_hooks", f"{name}.options", f"{options} REVISION_SCRIPT_FILENAME"
                )
        script = command.revision(
            config, message=message, autogenerate=True, rev_id=_next_revision_id()
        )
    if script is None or isinstance(script, list):  # pragma: no cover - one head, one script
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)


def _next_revision_id() -> str:
    """Revisions are numbered 0001, 0002…: their order is visible in the file names."""
    revisions = ScriptDirectory.from_config(alembic_config()).get_revisions("heads")
    numbers = [int(r.revision) for r in revisions if r is not None and r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migration revisions found")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty or pre-migration one)."""
    with engine.connect() as connection:
        return _current(connection)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


class UnknownRevision(RuntimeError):
    """Raised when the database is at a revision these migrations do not know: it was
    migrated by a newer fieldhall, and this one must not touch it."""


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {r.revision for r in script.walk_revisions()}


@dataclass(frozen=True, slots=True)
class MigrationResult:
    before: str | None
    after: str | None
    adopted: bool  # tables made before migrations were found and kept

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade_database(engine: Engine, revision: str = "head") -> MigrationResult:
    """Bring the database to ``revision`` (head by default), under the migration lock."""
    if revision == "head":
        with engine.connect() as connection:
            before = _current(connection)
        if before == head_revision():  # the usual start: nothing to do, no lock taken
            return MigrationResult(before, before, adopted=False)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            _lock(connection)
            # Read under the lock: another process may have upgraded while we waited.
            before = _current(connection)
            _check_known(before)
            adopted = before is None and _has_tables(connection)
            if adopted:
                _adopt(connection, revision)
            else:
                command.upgrade(alembic_config(connection), revision)
            after = _current(connection)
    return MigrationResult(before, after, adopted)


def downgrade_database(engine: Engine, revision: str) -> MigrationResult:
    """Undo migrations down to ``revision`` (``base`` drops every table): for development."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            _lock(connection)
            before = _current(connection)
            _check_known(before)
            command.downgrade(alembic_config(connection), revision)
            after = _current(connection)
    return MigrationResult(before, after, adopted=False)


def _adopt(connection: Connection, revision: str) -> None:
    """A database made by ``create_all`` before migrations: the baseline creates the tables
    it lacks and stamps it. If it then already equals the models (``create_all`` of this very
    version made it, as in a test database) it is stamped at head; otherwise the revisions
    after the baseline bring it there."""
    log.warning("adopting a database made before migrations (tables, no %s)", VERSION_TABLE)
    config = alembic_config(connection)
    command.upgrade(config, BASELINE)
    if revision == "head" and not _drift(connection):
        command.stamp(config, "head")
    else:
        command.upgrade(config, revision)


def _drift(connection: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    # A sequence of MetaData works here as in target_metadata; the stub says one.
    return list(compare_metadata(context, schema_metadata()))  # type: ignore[arg-type]


def _check_known(revision: str | None) -> None:
    if revision is not None and revision not in known_revisions():
        raise UnknownRevision(
            f"the database is at schema revision {revision}, which this fieldhall does not "
            f"know (its newest is {head_revision()}): it was migrated by a newer version"
        )


def _lock(connection: Connection) -> None:
    # SQLite: BEGIN IMMEDIATE already holds the write lock for the whole transaction.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})


def _has_tables(connection: Connection) -> bool:
    known = {name for metadata in schema_metadata() for name in metadata.tables}
    return bool(known & set(inspect(connection).get_table_names()))
