"""Running fieldhall servers for tests: in a thread (fast) or as a real process (kill -9)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from fieldhall.server.app import create_couch_app
from fieldhall.server.serving import serve_in_thread, uvicorn_config
from fieldhall.server.settings import Settings

ADMIN = ("admin", "secret")
REPO = Path(__file__).resolve().parent.parent
FIELDHALL = str(Path(sys.executable).parent / "fieldhall")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/_up", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up in {timeout}s")


@dataclass
class CouchServer:
    url: str  # without credentials, no trailing slash
    data_dir: Path
    database_url: str | None = None

    @property
    def auth_url(self) -> str:
        user, password = ADMIN
        return self.url.replace("http://", f"http://{user}:{password}@")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=ADMIN, timeout=30.0)


@contextmanager
def threaded_couch(
    data_dir: Path, database_url: str | None = None, *, max_body: int | None = None
) -> Iterator[CouchServer]:
    """``fieldhall couch serve`` in this process, on a free port (``max_body``: the largest
    request body it accepts, default the server's own)."""
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, port=free_port())
    extra = {} if max_body is None else {"max_body": max_body}
    app = create_couch_app(settings, ADMIN, **extra)
    with serve_in_thread(uvicorn_config(app, "127.0.0.1", settings.port)):
        yield CouchServer(f"http://127.0.0.1:{settings.port}", data_dir, database_url)


class CouchProcess:
    """``fieldhall couch serve`` as a child process that tests may SIGKILL and restart."""

    def __init__(self, data_dir: Path, database_url: str | None = None, port: int | None = None):
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CouchProcess:
        command = [
            FIELDHALL, "couch", "serve", "--port", str(self.port),
            "--data-dir", str(self.data_dir), "--admin", ":".join(ADMIN),
        ]  # fmt: skip
        if self.database_url:
            command += ["--database-url", self.database_url]
        log = open(self.data_dir.parent / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_until_up(self.url)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def server(self) -> CouchServer:
        return CouchServer(self.url, self.data_dir, self.database_url)
