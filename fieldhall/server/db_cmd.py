"""``fieldhall db``: the database schema and its migrations, on the configured data directory
or database. The server and the administrative commands upgrade on their own; these are for
the operator (``upgrade`` before starting several workers, ``current`` to see where a
database stands) and for the developer (``revision`` after changing a table)."""

from __future__ import annotations

import json
from typing import Any

import click

from fieldhall.sync.connection import create_store_engine

from .migrations import (
    UnknownRevision,
    current_revision,
    downgrade_database,
    head_revision,
    new_revision,
    upgrade_database,
)
from .settings import Settings

__all__ = ["db"]

_data_dir = click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR).")
_database_url = click.option(
    "--database-url", default=None, help="SQLAlchemy URL (FIELDHALL_DATABASE_URL)."
)
_as_json = click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(payload) if as_json else text)


def _engine(data_dir: str | None, database_url: str | None) -> Any:
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return create_store_engine(settings.database_url, synchronous=settings.sqlite_synchronous)


@click.group()
def db() -> None:
    """The database schema: upgrade, current revision, new revisions."""


@db.command("upgrade")
@click.argument("revision", default="head")
@_data_dir
@_database_url
@_as_json
def upgrade_command(
    revision: str, data_dir: str | None, database_url: str | None, as_json: bool
) -> None:
    """Migrate the database up to REVISION (default: head). Safe while servers run."""
    engine = _engine(data_dir, database_url)
    try:
        result = upgrade_database(engine, revision)
    except UnknownRevision as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    payload = {"before": result.before, "after": result.after, "adopted": result.adopted}
    if result.adopted:
        text = f"adopted a database made before migrations; now at {result.after}"
    elif result.changed:
        text = f"upgraded {result.before or 'empty'} -> {result.after}"
    else:
        text = f"already at {result.after}"
    _emit(as_json, payload, text)


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask: the tables it removes lose their data.")
@_data_dir
@_database_url
@_as_json
def downgrade_command(
    revision: str, yes: bool, data_dir: str | None, database_url: str | None, as_json: bool
) -> None:
    """Undo migrations down to REVISION (``base`` drops every table and its data)."""
    if not yes:
        click.confirm(f"Downgrade to {revision}? What later revisions added is lost.", abort=True)
    engine = _engine(data_dir, database_url)
    try:
        result = downgrade_database(engine, revision)
    except UnknownRevision as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    payload = {"before": result.before, "after": result.after}
    _emit(as_json, payload, f"downgraded {result.before} -> {result.after or 'base'}")


@db.command("current")
@_data_dir
@_database_url
@_as_json
def current_command(data_dir: str | None, database_url: str | None, as_json: bool) -> None:
    """Print the database's schema revision and the newest this fieldhall knows."""
    engine = _engine(data_dir, database_url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    payload = {"current": current, "head": head, "up_to_date": current == head}
    state = "up to date" if current == head else f"behind (head is {head})"
    _emit(as_json, payload, f"{current or 'none'}  {state}")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the change is, e.g. 'add visits'.")
@click.option(
    "--database-url",
    default=None,
    help="Compare against this database (migrated to head first); default: a scratch SQLite.",
)
def revision_command(message: str, database_url: str | None) -> None:
    """Autogenerate a migration from the difference between the tables and the schema at
    head, into fieldhall/server/migrations/versions/. Review it before committing."""
    path = new_revision(message, url=database_url)
    click.echo(str(path))
