"""``fieldhall``: the command line."""

from __future__ import annotations

import os
import secrets

import click
import uvicorn

from .app import create_app, create_couch_app
from .settings import Settings

__all__ = ["main"]


def _admin(value: str | None) -> tuple[str, str]:
    value = value or os.environ.get("FIELDHALL_ADMIN")
    if not value:
        generated = ("admin", secrets.token_urlsafe(12))
        click.echo(f"sync admin: {generated[0]} / {generated[1]}  (set FIELDHALL_ADMIN=user:pass)")
        return generated
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise click.BadParameter("expected USER:PASS")
    return user, password


@click.group()
def main() -> None:
    """fieldhall: offline-first field-service backend with CouchDB-protocol sync."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR).")
@click.option("--database-url", default=None, help="SQLAlchemy URL (FIELDHALL_DATABASE_URL).")
@click.option("--admin", default=None, help="USER:PASS of the sync admin (FIELDHALL_ADMIN).")
def serve(
    host: str | None,
    port: int | None,
    data_dir: str | None,
    database_url: str | None,
    admin: str | None,
) -> None:
    """Run the hall server."""
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, host=host, port=port)
    app = create_app(settings, _admin(admin))
    click.echo(f"fieldhall on http://{settings.host}:{settings.port}/  (sync at /sync, /health)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


@main.group()
def couch() -> None:
    """The sync engine alone, as a CouchDB-compatible server."""


@couch.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5984, show_default=True)
@click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR).")
@click.option("--database-url", default=None, help="SQLAlchemy URL (FIELDHALL_DATABASE_URL).")
@click.option("--admin", required=True, help="USER:PASS required on every request.")
def couch_serve(
    host: str, port: int, data_dir: str | None, database_url: str | None, admin: str
) -> None:
    """Serve the CouchDB replication protocol at / (admin Basic or cookie auth, no policy)."""
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, host=host, port=port)
    app = create_couch_app(settings, _admin(admin))
    click.echo(f"fieldhall couch serve on http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
