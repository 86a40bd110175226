"""The servers a sync benchmark runs against: ``fieldhall couch serve`` and ``pouchdb-server``
as child processes (fresh data directory, free port, 127.0.0.1), or an Apache CouchDB the
caller already runs; and the peak-RSS probe read from ``/proc``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = [
    "BENCH_DIR",
    "Server",
    "ServerFailed",
    "external_couchdb",
    "peak_rss_bytes",
    "reset_peak_rss",
    "rss_bytes",
    "start_fieldhall",
    "start_pouchdb_server",
]

BENCH_DIR = Path(__file__).resolve().parent
ADMIN = ("bench", "bench-secret")
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
POUCHDB_SERVER_JS = BENCH_DIR / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"


class ServerFailed(RuntimeError):
    """Raised when a server does not start, or dies, or answers a set-up request wrongly."""


@dataclass
class Server:
    """One server under test. ``url`` has no credentials and no trailing slash."""

    name: str
    url: str
    auth: tuple[str, str]
    process: subprocess.Popen[bytes] | None = None  # None: not ours (no RSS, not stopped)
    log_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    db_prefix: str = "bench"  # on a shared server, names unique to this run

    @property
    def auth_url(self) -> str:
        """The URL with credentials, as PouchDB takes it."""
        user, password = self.auth
        return self.url.replace("://", f"://{user}:{password}@", 1)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def db(self, name: str) -> str:
        return f"{self.db_prefix}-{name}"

    def client(self, timeout: float = 600.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=timeout)

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ServerFailed(
                f"{self.name} exited with {self.process.returncode}: {self.log_tail()}"
            )

    def log_tail(self, lines: int = 15) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(text) or "(empty log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(server: Server) -> None:
    """Until the server answers HTTP at all (pouchdb-server refuses credentials it does not
    know yet, so any answer below 500 counts)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            status = httpx.get(server.url + "/", auth=server.auth, timeout=2.0).status_code
        except httpx.HTTPError as exc:
            last = repr(exc)
        else:
            if status < 500:
                return
            last = f"HTTP {status}"
        time.sleep(0.1)
    server.stop()
    raise ServerFailed(f"{server.name} did not come up within {STARTUP_TIMEOUT_S:.0f} s: {last}")


def _spawn(name: str, command: list[str], data_dir: Path) -> Server:
    data_dir.mkdir(parents=True)
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    log_path = data_dir.parent / f"{data_dir.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
    server = Server(name, f"http://127.0.0.1:{port}", ADMIN, process, log_path)
    _wait_until_up(server)
    return server


def _fieldhall_command() -> list[str]:
    script = Path(sys.executable).parent / "fieldhall"
    if script.exists():
        return [str(script)]
    found = shutil.which("fieldhall")
    if found is None:
        raise ServerFailed("no fieldhall CLI: run `make test` (or `pip install -e .`) first")
    return [found]


def start_fieldhall(data_dir: Path) -> Server:
    """``fieldhall couch serve`` on SQLite in ``data_dir`` (its defaults: WAL, synchronous=FULL)."""
    command = [
        *_fieldhall_command(), "couch", "serve", "--admin", ":".join(ADMIN),
        "--host", "127.0.0.1", "--port", "{port}", "--data-dir", str(data_dir),
    ]  # fmt: skip
    server = _spawn("fieldhall", command, data_dir)
    server.notes.append("SQLite, WAL, synchronous=FULL (an fsync per committed batch)")
    return server


def start_pouchdb_server(data_dir: Path, node: str) -> Server:
    """``pouchdb-server`` on LevelDB in ``data_dir``; if leveldown cannot be used there, again
    with ``--in-memory`` (the server's notes say which)."""
    if not POUCHDB_SERVER_JS.exists():
        raise ServerFailed(f"{POUCHDB_SERVER_JS} is missing: run `npm ci` in {BENCH_DIR}")
    try:
        server = _start_pouchdb_server(data_dir, node, in_memory=False)
    except ServerFailed as exc:
        return _in_memory_fallback(data_dir, node, exc)
    try:
        _check_on_disk(server, data_dir)
    except (ServerFailed, httpx.HTTPError) as exc:
        server.stop()
        return _in_memory_fallback(data_dir, node, exc)
    server.notes.append("LevelDB on disk (leveldown's prebuilt binary), writes not fsynced")
    return server


def _in_memory_fallback(data_dir: Path, node: str, reason: Exception) -> Server:
    server = _start_pouchdb_server(data_dir.with_name(data_dir.name + "-mem"), node, True)
    server.name = "pouchdb-server (in-memory)"
    server.notes.append(f"IN MEMORY (--in-memory): leveldown could not be used on disk: {reason}")
    return server


def _start_pouchdb_server(data_dir: Path, node: str, in_memory: bool) -> Server:
    command = [
        node, str(POUCHDB_SERVER_JS), "--host", "127.0.0.1", "--port", "{port}",
        "--dir", str(data_dir), "--config", str(data_dir / "config.json"), "--no-stdout-logs",
    ]  # fmt: skip
    if in_memory:
        command.append("--in-memory")
    server = _spawn("pouchdb-server", command, data_dir)
    # Out of the "admin party", so both servers check Basic credentials on every request.
    user, password = server.auth
    response = httpx.put(f"{server.url}/_config/admins/{user}", json=password, timeout=10.0)
    if response.status_code != 200:
        server.stop()
        raise ServerFailed(f"pouchdb-server: creating the admin: {response.status_code}")
    return server


def _check_on_disk(server: Server, data_dir: Path) -> None:
    """A database can be created and written, and its LevelDB files are in ``data_dir``."""
    name = f"probe-{uuid.uuid4().hex[:8]}"
    with server.client(timeout=30.0) as client:
        client.put(f"/{name}").raise_for_status()
        client.put(f"/{name}/doc", json={"probe": True}).raise_for_status()
        adapter = client.get(f"/{name}").json().get("backend_adapter", "?")
        level_files = {p.name for p in (data_dir / name).glob("*")}
        client.delete(f"/{name}").raise_for_status()
    if "CURRENT" not in level_files:
        raise ServerFailed(f"no LevelDB files in {data_dir / name} (adapter {adapter})")


def external_couchdb(url: str) -> Server:
    """An Apache CouchDB at ``url`` (credentials in the URL); databases get a unique prefix and
    the caller deletes them afterwards."""
    parsed = httpx.URL(url)
    if not parsed.username:
        raise ServerFailed("--couchdb needs credentials in the URL: http://USER:PASS@HOST:PORT")
    auth = (parsed.username, parsed.password)
    base = str(parsed.copy_with(username=None, password=None)).rstrip("/")
    welcome = httpx.get(base + "/", auth=auth, timeout=10.0)
    welcome.raise_for_status()
    info = welcome.json()
    vendor = info.get("vendor", {}).get("name", "?")
    label = "Apache CouchDB" if "Apache" in vendor else f"{vendor} (--couchdb)"
    server = Server(f"{label} {info.get('version', '?')}", base, auth)
    server.db_prefix = f"fieldhall-bench-{uuid.uuid4().hex[:8]}"
    server.notes.append(f"external server at {base}; databases {server.db_prefix}-*")
    return server


def _proc_status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise ServerFailed(f"/proc/{pid}/status has no {key}")


def rss_bytes(pid: int) -> int:
    return _proc_status_kib(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the highest resident set size since the process started or since
    :func:`reset_peak_rss`."""
    return _proc_status_kib(pid, "VmHWM") * 1024


def reset_peak_rss(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux ``clear_refs`` 5); False if not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return peak_rss_bytes(pid) <= rss_bytes(pid) + 1024 * 1024
