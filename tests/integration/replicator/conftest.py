"""Peers for replication tests: fieldhall servers (plain, or built here with a write policy
and ``POST /_replicate``), pouchdb-server, and a fast retry policy."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldhall.server.serving import serve_in_thread, uvicorn_config
from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.errors import CouchError
from fieldhall.sync.http import AdminAuthenticator, CouchApp, ServerSettings
from fieldhall.sync.http.asgi import Request, error_response
from fieldhall.sync.http.context import Context
from fieldhall.sync.http.replicate import replicate_endpoint
from fieldhall.sync.policy import WritePolicy
from fieldhall.sync.replicator import RetryPolicy
from fieldhall.sync.store import Store
from tests.servers import ADMIN, REPO, CouchServer, free_port, threaded_couch

SOAK = os.environ.get("FIELDHALL_SOAK") == "1"
FAST_RETRY = RetryPolicy(initial_delay=0.01, max_delay=0.2, max_attempts=40)
POUCHDB_SERVER = REPO / "node_modules" / ".bin" / "pouchdb-server"


@pytest.fixture(scope="module")
def couch_pair(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[CouchServer, CouchServer]]:
    """Two fieldhall servers (own data, own uuid) shared by a module's tests."""
    root = tmp_path_factory.mktemp("pair")
    with threaded_couch(root / "a") as a, threaded_couch(root / "b") as b:
        yield a, b


class ReplicateShim:
    """Routes ``POST /_replicate`` to :func:`replicate_endpoint` and everything else to the
    CouchApp — what app.py's dispatch will do once the endpoint is wired in."""

    def __init__(self, app: CouchApp, prefix: str = "") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/") == self.prefix + "/_replicate"
        ):
            app = self.app
            prefix = self.prefix.encode()
            request = Request.from_scope(scope, receive, prefix, app.settings.max_body)
            try:
                ctx = Context(app.store, app.authenticator.authenticate(request), app.settings)
                response = await replicate_endpoint(ctx, request)
            except CouchError as exc:
                response = error_response(exc)
            await response.send(send)
            return
        await self.app(scope, receive, send)


@contextmanager
def custom_couch(
    data_dir: Path, *, write_policy: WritePolicy | None = None, prefix: str = ""
) -> Iterator[CouchServer]:
    """A plain-mode server built here: optional write policy, ``POST /_replicate`` shimmed,
    mounted at ``prefix`` (the returned url includes it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(f"sqlite:///{data_dir / 'db.sqlite3'}", synchronous="NORMAL")
    store = Store(Database(engine), BlobStore(data_dir / "blobs"), write_policy=write_policy)
    settings = ServerSettings(uuid=store.server_uuid())
    app = CouchApp(store, AdminAuthenticator(*ADMIN), settings, prefix=prefix)
    port = free_port()
    config = uvicorn_config(ReplicateShim(app, prefix), "127.0.0.1", port, lifespan="off")
    with serve_in_thread(config):
        yield CouchServer(f"http://127.0.0.1:{port}{prefix}", data_dir)


class PouchServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60.0)


@pytest.fixture(scope="module")
def pouchdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PouchServer]:
    """``pouchdb-server --in-memory`` (no authentication) for a module's tests."""
    if not POUCHDB_SERVER.exists() or shutil.which("node") is None:
        pytest.skip("pouchdb-server is not installed (npm ci)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("pouchdb-server")  # it writes config.json and a log
    log = open(workdir / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(POUCHDB_SERVER), "--in-memory", "--port", str(port), "--host", "127.0.0.1"],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "pouchdb-server did not start: " + (workdir / "server.log").read_text()[-2000:]
                )
            time.sleep(0.1)
        yield PouchServer(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
