"""``fieldhall evidence``: export a case's evidence bundle, and verify one offline.

``export`` works on the configured data directory or database, also while the server runs
(it reads one snapshot). ``verify`` needs neither a server nor a data directory: the keys
come from the bundle, and ``--server-key`` pins the one the manifest must be signed with. It
exits 0 when everything holds and 1 otherwise, naming each entry that fails and why (with
``--json``, exactly one JSON object on stdout).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .evidence import EvidenceExportError, export_case, verify_bundle
from .settings import Settings
from .stores import open_field

__all__ = ["evidence"]


@click.group()
def evidence() -> None:
    """Evidence bundles: a case, its files, keys and chain, signed, in one zip."""


@evidence.command("export")
@click.argument("case_id")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The zip file to write.",
)  # fmt: skip
@click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR).")
@click.option("--database-url", default=None, help="SQLAlchemy URL (FIELDHALL_DATABASE_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def export_command(
    case_id: str, output: Path, data_dir: str | None, database_url: str | None, as_json: bool
) -> None:
    """Write the evidence bundle of CASE_ID (case:<ULID>) to OUTPUT."""
    field = open_field(Settings.from_env(data_dir=data_dir, database_url=database_url))
    try:
        summary = export_case(field, case_id, output)
    except EvidenceExportError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        field.store.db.dispose()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        click.echo(
            f"{summary.path}: {summary.documents} documents, {summary.attachments} files, "
            f"{summary.entries} entries, signed by server:{summary.key_id}"
        )


@evidence.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--server-key", default=None, metavar="KEY",
    help="The server's public key (unpadded base64url, as GET /api/v1/keys lists it) the "
    "manifest must be signed with; without it the bundle's own keys are trusted.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def verify_command(bundle: Path, server_key: str | None, as_json: bool) -> None:
    """Check every signature, hash and chain link of BUNDLE, offline."""
    report = verify_bundle(bundle, server_key)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for finding in report.failures:
            click.echo(f"FAIL {finding}", err=True)
        for note in report.notes:
            click.echo(f"note {note}", err=True)
        checked = ", ".join(f"{n} {what}" for what, n in sorted(report.checked.items()))
        if report.ok:
            pinned = "pinned key" if report.pinned else "key from the bundle (not pinned)"
            click.echo(f"OK {report.case_id}: {checked}; manifest {report.signed_by}, {pinned}")
        else:
            click.echo(f"FAILED: {len(report.failures)} problem(s); {checked}", err=True)
    raise SystemExit(0 if report.ok else 1)
