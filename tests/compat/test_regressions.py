"""Behaviour first found broken by the compat suite: a graceful stop with a live PouchDB sync
attached, and CouchDB's stub revpos rule."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import couchdb
import pytest
from couchdb import http

from tests.compat.node_scenarios import run_interactive_scenario
from tests.servers import CouchProcess

GRACEFUL_STOP_LIMIT = 5.0  # seconds from SIGTERM to exit


@pytest.fixture(scope="module")
def process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchProcess]:
    couch = CouchProcess(tmp_path_factory.mktemp("pending") / "data").start()
    try:
        yield couch
    finally:
        couch.stop()


@pytest.fixture
def db(process: CouchProcess) -> Iterator[couchdb.Database]:
    server = couchdb.Server(process.server.auth_url, session=http.Session(timeout=15))
    name = f"pending-{uuid.uuid4().hex[:10]}"
    yield server.create(name)
    del server[name]


def test_graceful_restart_with_a_live_pouchdb_sync_attached(tmp_path: Path) -> None:
    """Bug: SIGTERM does not stop `fieldhall couch serve` while a PouchDB live sync is
    connected. PouchDB's live pull holds `_changes?feed=longpoll&heartbeat=10000`; with a
    heartbeat CouchDB keeps a feed open indefinitely (the heartbeat overrides the timeout),
    and uvicorn's graceful shutdown waits without limit for in-flight responses
    (fieldhall/server/cli.py calls uvicorn.run without timeout_graceful_shutdown, and open
    feeds do not end on shutdown). The retrying client never hangs up, so the process only
    exits on SIGKILL. Apache CouchDB closes client connections when it stops."""
    couch = CouchProcess(tmp_path / "data").start()
    stop_seconds: list[float] = []

    def restart(message: dict[str, object]) -> str:
        assert message == {"request": "restart"} and couch.process is not None
        started = time.monotonic()
        couch.process.terminate()
        try:
            couch.process.wait(timeout=GRACEFUL_STOP_LIMIT)
        except subprocess.TimeoutExpired:
            couch.kill()
            pytest.fail(
                f"server still running {GRACEFUL_STOP_LIMIT}s after SIGTERM with a live "
                "PouchDB sync (heartbeat longpoll) connected"
            )
        stop_seconds.append(time.monotonic() - started)
        couch.start()
        return "restarted"

    try:
        summary = run_interactive_scenario("restart.js", couch.server.auth_url, restart)
    finally:
        couch.stop()
    assert stop_seconds and stop_seconds[0] < GRACEFUL_STOP_LIMIT
    assert summary["second_push_docs_read"] == 30
    assert summary["second_pull_docs_read"] == 10


def test_stub_with_a_different_revpos_is_a_missing_stub(db: couchdb.Database) -> None:
    """Bug: CouchDB accepts an attachment stub only if its `revpos`, when given, equals the
    stored one (couch_att:merge_stubs: "If the revpos is supplied with the stub it is also
    only counted to match if is the same as the disk attachment"); otherwise the write fails
    with 412 missing_stub. fieldhall (sync/store.py `_resolve_attachments`) matches stubs by
    name and digest only, so it stores the revision."""
    db["doc"] = {}
    db.put_attachment(db["doc"], b"hello", "a.txt", "text/plain")
    doc = db["doc"]
    assert doc["_attachments"]["a.txt"]["revpos"] == 2
    doc["_attachments"]["a.txt"]["revpos"] = 7
    with pytest.raises(http.PreconditionFailed) as refused:
        db.save(doc)
    assert refused.value.args[0][0] == "missing_stub"
    assert db["doc"]["_rev"].startswith("2-")
