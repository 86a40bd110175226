"""``fieldhall audit``: the hall's audit log, checked straight on the configured database.

Needs no running server. ``verify`` exits 0 when the log is intact and 1 otherwise, with a
one-line reason on stderr (or, with ``--json``, exactly one JSON object on stdout).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from fieldhall.sync.connection import create_store_engine

from .hall.audit import AuditReport, Head, ensure_audit_tables, verify
from .migrations import upgrade_database
from .settings import Settings

__all__ = ["audit"]


def _anchor(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[Head]:
    try:
        return [Head.parse(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group()
def audit() -> None:
    """The hall's append-only, hash-chained audit log."""


@audit.command("verify")
@click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR).")
@click.option("--database-url", default=None, help="SQLAlchemy URL (FIELDHALL_DATABASE_URL).")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQ:HASH",
    callback=_anchor,
    help="A head recorded earlier outside the database (repeatable): entry SEQ must still "
    "have HASH. Catches a rewrite or truncation the database alone cannot show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def verify_command(
    data_dir: str | None, database_url: str | None, anchors: list[Head], as_json: bool
) -> None:
    """Walk the audit chain; exit 0 if intact, 1 with the first bad seq and why.

    Record the head it prints somewhere outside the database and pass it back later with
    --anchor to catch what an attacker with write access to the database could otherwise
    hide.
    """
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    try:
        report = _verify(settings, anchors)
    except SQLAlchemyError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        unreadable = {"ok": False, "entries": None, "head": None, "first_bad_seq": None}
        _finish(as_json, {**unreadable, "problem": "unreadable", "reason": detail}, None)
        return
    _finish(as_json, report.to_json(), report)


def _verify(settings: Settings, anchors: list[Head]) -> AuditReport:
    engine = create_store_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        upgrade_database(engine)
        ensure_audit_tables(engine)  # the tables exist now; this seeds the head row
        with engine.connect() as connection, connection.begin():
            return verify(connection, anchors=anchors)
    finally:
        engine.dispose()


def _finish(as_json: bool, payload: dict[str, Any], report: AuditReport | None) -> None:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
    elif report is not None and report.ok:
        click.echo(report.summary())
    else:
        line = report.summary() if report else f"cannot read the audit log: {payload['reason']}"
        click.echo(line, err=True)
    if not payload["ok"]:
        sys.exit(1)
