"""``fieldhall``: the command line."""

from __future__ import annotations

import importlib
import json
import os
import secrets
import sys
from typing import TYPE_CHECKING, Any, ClassVar

import click

if TYPE_CHECKING:
    from fieldhall.field_app_api.enrollment import IssuedCode
    from fieldhall.field_app_api.errors import FieldError
    from fieldhall.field_app_api.service import FieldService

from .settings import Settings

__all__ = ["main"]

# The staff roles (fieldhall.field_app_api.staff.ROLES, checked equal by a test), spelled
# here so that `--help` does not load the database layer.
STAFF_ROLES = ("admin", "clerk", "approver", "supervisor")


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


class LazyGroup(click.Group):
    """Subcommands from other modules are imported when used: `fieldhall replicate` must not
    pay for loading the whole hall server first."""

    lazy: ClassVar[dict[str, str]] = {
        "audit": "fieldhall.server.audit_cmd:audit",
        "bench": "fieldhall.server.bench_cmd:bench",
        "db": "fieldhall.server.db_cmd:db",
        "device": "fieldhall.server.device_cmd:device",
        "evidence": "fieldhall.server.evidence_cmd:evidence",
        "replicate": "fieldhall.server.replicate_cmd:replicate",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attr = self.lazy[name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
def main() -> None:
    """fieldhall: offline-first field-service backend with CouchDB-protocol sync."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR).")
@click.option("--database-url", default=None, help="SQLAlchemy URL (FIELDHALL_DATABASE_URL).")
@click.option("--public-url", default=None, help="Base URL devices reach (FIELDHALL_PUBLIC_URL).")
def serve(
    host: str | None,
    port: int | None,
    data_dir: str | None,
    database_url: str | None,
    public_url: str | None,
) -> None:
    """Run the hall server."""
    import uvicorn

    from .app import create_app
    from .serving import tune_garbage_collector, uvicorn_config

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, host=host, port=port)
    app = create_app(settings, public_url or os.environ.get("FIELDHALL_PUBLIC_URL"))
    base = f"http://{settings.host}:{settings.port}"
    click.echo(
        f"fieldhall on {base}/  (API {base}/api/v1, OpenAPI {base}/schema, sync {base}/sync)"
    )
    tune_garbage_collector()
    # Elsewhere the door's workers start with the first large batch (which the writer's thread
    # checks alone meanwhile); a server starts them at once.
    app.state.hall.door_workers.start()
    uvicorn.Server(uvicorn_config(app, settings.host, settings.port)).run()


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
    import uvicorn

    from .app import create_couch_app
    from .serving import tune_garbage_collector, uvicorn_config

    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, host=host, port=port)
    app = create_couch_app(settings, _admin(admin))
    click.echo(f"fieldhall couch serve on http://{host}:{port}/", err=True)
    tune_garbage_collector()
    uvicorn.Server(uvicorn_config(app, host, port)).run()


def _field(data_dir: str | None, database_url: str | None) -> FieldService:
    from .stores import open_field

    return open_field(Settings.from_env(data_dir=data_dir, database_url=database_url))


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        click.echo(text)


def _fail(exc: FieldError) -> None:
    raise click.ClickException(f"{exc.code}: {exc.message}")


_data_options = [
    click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR)."),
    click.option("--database-url", default=None, help="SQLAlchemy URL (FIELDHALL_DATABASE_URL)."),
]


def data_options(fn: Any) -> Any:
    for option in reversed(_data_options):
        fn = option(fn)
    return fn


def _public_url() -> str:
    return os.environ.get("FIELDHALL_PUBLIC_URL", "http://127.0.0.1:8000")


@main.group()
def agents() -> None:
    """Grid agents and station staff, and their enrollment codes."""


@agents.command("add")
@click.option("--name", required=True, help="The agent's name.")
@click.option("--grid", "grid_id", default=None, help="Grid id (created if new).")
@click.option("--station", "station_id", default=None, help="Station id (created if new).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def agents_add(
    name: str,
    grid_id: str | None,
    station_id: str | None,
    as_json: bool,
    data_dir: str | None,
    database_url: str | None,
) -> None:
    """Add an agent and print a one-time enrollment code (and its QR code on a terminal)."""
    from fieldhall.field_app_api.directory import add_agent
    from fieldhall.field_app_api.enrollment import issue_code
    from fieldhall.field_app_api.errors import FieldError

    service = _field(data_dir, database_url)
    try:
        with service.session() as session:
            agent = add_agent(session, name, grid_id=grid_id, station_id=station_id)
            session.commit()
            issued = issue_code(session, agent.id)
    except FieldError as exc:
        _fail(exc)
    _print_code(as_json, issued)


def _print_code(as_json: bool, issued: IssuedCode) -> None:
    from fieldhall.field_app_api.clock import rfc3339
    from fieldhall.field_app_api.enrollment import enrollment_qr, enrollment_uri

    expires = rfc3339(issued.expires_at)
    payload = {
        "agent_id": issued.agent_id,
        "grid_id": issued.grid_id,
        "enrollment_code": issued.code,
        "expires_at": expires,
    }
    if issued.station_id:
        payload["station_id"] = issued.station_id
    text = (
        f"agent:           {issued.agent_id}\n"
        f"grid:            {issued.grid_id or '-'}   station: {issued.station_id or '-'}\n"
        f"enrollment code: {issued.code}   (expires {expires})\n"
        f"enrollment URI:  {enrollment_uri(_public_url(), issued.code)}"
    )
    if not as_json and sys.stdout.isatty():
        text += "\n" + enrollment_qr(_public_url(), issued.code)
    _emit(as_json, payload, text)


@agents.command("code")
@click.argument("agent_id")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def agents_code(
    agent_id: str, as_json: bool, data_dir: str | None, database_url: str | None
) -> None:
    """Issue a fresh enrollment code for AGENT_ID."""
    from fieldhall.field_app_api.enrollment import issue_code
    from fieldhall.field_app_api.errors import FieldError

    service = _field(data_dir, database_url)
    try:
        with service.session() as session:
            issued = issue_code(session, agent_id)
    except FieldError as exc:
        _fail(exc)
    _print_code(as_json, issued)


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def agents_list(as_json: bool, data_dir: str | None, database_url: str | None) -> None:
    """List agents."""
    from fieldhall.field_app_api.directory import list_agents

    service = _field(data_dir, database_url)
    with service.session() as session:
        rows = [
            {"agent_id": a.id, "name": a.name, "grid_id": a.grid_id, "station_id": a.station_id}
            for a in list_agents(session)
        ]
    lines = [
        f"{r['agent_id']}  {r['name']}  grid={r['grid_id']}  station={r['station_id']}"
        for r in rows
    ]
    _emit(as_json, {"agents": rows}, "\n".join(lines) or "no agents")


@main.group()
def devices() -> None:
    """Enrolled devices."""


@devices.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def devices_list(as_json: bool, data_dir: str | None, database_url: str | None) -> None:
    """List enrolled devices."""
    from fieldhall.field_app_api.clock import rfc3339
    from fieldhall.field_app_api.devices import list_devices

    service = _field(data_dir, database_url)
    with service.session() as session:
        rows = [
            {
                "device_id": d.id,
                "agent_id": d.agent_id,
                "name": d.name,
                "enrolled_at": rfc3339(d.enrolled_at),
                "revoked_at": rfc3339(d.revoked_at),
            }
            for d in list_devices(session)
        ]
    lines = [
        f"{r['device_id']}  agent={r['agent_id']}  {r['name']!r}"
        + ("  REVOKED" if r["revoked_at"] else "")
        for r in rows
    ]
    _emit(as_json, {"devices": rows}, "\n".join(lines) or "no devices")


@devices.command("revoke")
@click.argument("device_id")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def devices_revoke(
    device_id: str, as_json: bool, data_dir: str | None, database_url: str | None
) -> None:
    """Revoke DEVICE_ID: its token is refused from the next request on."""
    from fieldhall.field_app_api.clock import rfc3339
    from fieldhall.field_app_api.devices import revoke_device
    from fieldhall.field_app_api.errors import FieldError

    service = _field(data_dir, database_url)
    try:
        with service.session() as session:
            device = revoke_device(session, device_id)
    except FieldError as exc:
        _fail(exc)
    revoked = rfc3339(device.revoked_at)
    _emit(as_json, {"device_id": device.id, "revoked_at": revoked}, f"revoked {device.id}")


@main.group()
def staff() -> None:
    """Hall staff accounts."""


@staff.command("add")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--department", default=None, help="For approvers: the department they approve for.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def staff_add(
    username: str,
    role: str,
    department: str | None,
    display_name: str,
    password_stdin: bool,
    as_json: bool,
    data_dir: str | None,
    database_url: str | None,
) -> None:
    """Add a staff account (argon2id password hash)."""
    from fieldhall.field_app_api.errors import FieldError
    from fieldhall.field_app_api.staff import add_staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    service = _field(data_dir, database_url)
    try:
        with service.session() as session:
            account = add_staff(
                session, username, password, role, department=department, display_name=display_name
            )
    except FieldError as exc:
        _fail(exc)
    payload = {"username": account.username, "role": account.role, "department": account.department}
    _emit(as_json, payload, f"added {account.role} {account.username}")


@main.group()
def keys() -> None:
    """The server's signing keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def keys_list(as_json: bool, data_dir: str | None, database_url: str | None) -> None:
    """List signing keys, current and retired."""
    from fieldhall.field_app_api.keys import list_signing_keys

    service = _field(data_dir, database_url)
    with service.session() as session:
        rows = [k.to_json() for k in list_signing_keys(session)]
    lines = [
        f"{r['key_id']}  {r['public_key']}  from {r['valid_from']}  until {r['valid_until'] or '-'}"
        for r in rows
    ]
    _emit(as_json, {"keys": rows}, "\n".join(lines))


@keys.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@data_options
def keys_rotate(as_json: bool, data_dir: str | None, database_url: str | None) -> None:
    """Retire the current signing key and start signing with a new one."""
    from fieldhall.field_app_api.keys import rotate_signing_key

    service = _field(data_dir, database_url)
    with service.session() as session:
        fresh = rotate_signing_key(session)
    _emit(as_json, fresh.to_json(), f"now signing with {fresh.key_id}")


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--data-dir", default=None, help="Data directory (FIELDHALL_DATA_DIR).")
@click.option("--seed", type=int, default=2026, show_default=True, help="Seed of the demo data.")
def demo(host: str | None, port: int | None, data_dir: str | None, seed: int) -> None:
    """Serve a demo hall: seeded on first use (staff, devices, cases), kept afterwards.

    The staff passwords are printed and kept in DATA_DIR/demo/credentials.json (0600).
    """
    from .demo import DemoError, run_demo

    settings = Settings.from_env(data_dir=data_dir, host=host, port=port)
    try:
        run_demo(
            settings,
            public_url=os.environ.get("FIELDHALL_PUBLIC_URL"),
            seed=seed,
            echo=click.echo,
        )
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
