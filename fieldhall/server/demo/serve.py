"""``fieldhall demo``: start the hall, seed it if it is new, print where everything is, and
serve until Ctrl-C (or SIGTERM).

The simulated devices enroll and push over HTTP on the demo's own address, so the device
state files name the server that keeps running (while seeding, the seed projects each
document itself, on its clock). The data directory decides what happens:

* no staff accounts yet: seed it (:mod:`~fieldhall.server.demo.seeding`), keep the
  passwords in ``demo/credentials.json`` (0600), and print them;
* seeded before (the credentials file is there): keep everything, print the same;
* a hall not made by the demo: serve it as it is, with no credentials to print;
* ``demo/seeding`` left behind by an interrupted seed: that half-seeded hall is the demo's
  own, and it is removed and seeded again.

Seeding runs on a server of its own on the same port, stopped before the hall is served
(see :func:`seed_hall`).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from sqlmodel import select

from fieldhall.field_app_api.tables import StaffAccount

from ..app import create_app
from ..serving import ServerDidNotStart, ThreadedServer, uvicorn_config
from ..settings import Settings
from ..stores import open_field
from .credentials import (
    DemoRecord,
    credentials_path,
    demo_dir,
    read_record,
    seeding_marker,
    write_record,
)
from .seeding import DEFAULT_SEED, DemoError, seed_demo

__all__ = ["banner", "needs_seed", "run_demo", "seed_hall"]

Echo = Callable[[str], None]


def _own_sqlite(settings: Settings) -> bool:
    return settings.database_url == f"sqlite:///{settings.data_dir / 'fieldhall.sqlite3'}"


def restart_interrupted(settings: Settings) -> bool:
    """Remove the hall an interrupted seed left behind; True if there was one."""
    if not seeding_marker(settings.data_dir).exists():
        return False
    if not _own_sqlite(settings):
        raise DemoError(
            f"a demo seed into {settings.database_url} was interrupted; drop that database "
            f"and remove {demo_dir(settings.data_dir)} to seed it again"
        )
    root = settings.data_dir
    for name in ("fieldhall.sqlite3", "fieldhall.sqlite3-wal", "fieldhall.sqlite3-shm"):
        (root / name).unlink(missing_ok=True)
    for name in ("blobs", "uploads", "demo"):
        shutil.rmtree(root / name, ignore_errors=True)
    return True


def needs_seed(settings: Settings) -> bool:
    """True for a hall with no demo record and no staff account: a new one."""
    if read_record(settings.data_dir) is not None:
        return False
    field = open_field(settings)
    try:
        with field.read_session() as session:
            return session.exec(select(StaffAccount.username).limit(1)).first() is None
    finally:
        field.store.db.dispose()


class _Server(ThreadedServer):
    """The demo's server: the main thread seeds, then waits for Ctrl-C."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        super().__init__(uvicorn_config(app, host, port), name="demo-server")

    def start(self) -> None:
        try:
            super().start()
        except ServerDidNotStart as exc:
            raise DemoError(str(exc)) from exc


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the demo as Ctrl-C does (a service manager's stop)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(
    settings: Settings,
    *,
    public_url: str | None = None,
    seed: int = DEFAULT_SEED,
    echo: Echo = print,
) -> None:
    """Serve the demo hall until interrupted (see the module doc)."""
    base = (public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    with _sigterm_interrupts():
        try:
            if restart_interrupted(settings):
                echo(f"an interrupted demo seed was found in {settings.data_dir}: seeding again")
            seeded = needs_seed(settings)
            if seeded:
                echo(f"seeding a demo hall in {settings.data_dir} …")
                record: DemoRecord | None = seed_hall(settings, base, seed, echo)
            else:
                record = read_record(settings.data_dir)
            server = _Server(create_app(settings, public_url=base), settings.host, settings.port)
            server.start()
            try:
                echo(banner(base, settings.data_dir, record, seeded=seeded))
                server.wait()
            finally:
                server.stop()
        except KeyboardInterrupt:
            echo("stopped")


def seed_hall(settings: Settings, base: str, seed: int, echo: Echo) -> DemoRecord:
    """Seed through a server of its own on the demo's port, then stop it.

    Its SQLite commits wait for the WAL write, not the disk (``synchronous=NORMAL``): the
    seed's two thousand transactions would otherwise spend most of their time in fsync.
    Nothing is at risk — the database stays consistent, and the seed counts only once the
    database is closed (a checkpoint syncs it) and the seeding marker is gone; a seed cut
    short is started over.
    """
    # The devices' requests would each log a line at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    relaxed = dataclasses.replace(settings, sqlite_synchronous="NORMAL")
    app = create_app(relaxed, public_url=base, projector=False)
    server = _Server(app, settings.host, settings.port)
    try:
        server.start()  # a taken port fails here, before anything is seeded
        marker = seeding_marker(settings.data_dir)
        marker.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        marker.touch()
        record = seed_demo(app.state.hall, base, settings.data_dir, seed=seed, progress=echo).record
    finally:
        server.stop()
        app.state.hall.field.store.db.dispose()
    write_record(settings.data_dir, record)
    marker.unlink()
    return record


def banner(base: str, data_dir: Path, record: DemoRecord | None, *, seeded: bool) -> str:
    """The URLs, and the demo's credentials when there are any."""
    lines = []
    if record is None:
        lines.append(f"serving the hall in {data_dir} (not seeded by the demo: no credentials)")
    elif seeded:
        states = ", ".join(f"{state} {count}" for state, count in record.states.items())
        lines.append(f"demo hall seeded in {record.seconds:.1f} s: {record.cases} cases ({states})")
        if record.visits:
            visits = ", ".join(f"{state} {count}" for state, count in record.visits.items())
            lines.append(f"  {sum(record.visits.values())} home-visit requests ({visits})")
    else:
        lines.append(
            f"demo hall in {data_dir}, seeded {record.seeded_at} ({record.cases} cases); "
            "kept as it is"
        )
    lines += [
        "",
        f"  hall web UI     {base}/hall/",
        f"  REST API        {base}/api/v1",
        f"  OpenAPI         {base}/schema",
        f"  device sync     {base}/sync/field",
        f"  health          {base}/health",
        f"  metrics         {base}/metrics",
    ]
    if record is not None:
        lines += ["", "staff accounts (HTTP Basic on /api/v1):"]
        width = max(len(s.username) for s in record.staff)
        for login in record.staff:
            lines.append(
                f"  {login.username:<{width}}  {login.password}  {login.role:<10} "
                f"{login.display_name}"
            )
        lines += ["", "simulated devices (try: fieldhall device status --state FILE):"]
        for device in record.devices:
            where = (device.grid_id or "-") + (
                f" + {device.station_id}" if device.station_id else ""
            )
            lines.append(f"  {device.agent_name}  {where:<30} {device.state_file}")
        lines.append(f"\ncredentials kept in {credentials_path(data_dir)} (mode 0600)")
    lines.append("Ctrl-C stops the server.")
    return "\n".join(lines)
