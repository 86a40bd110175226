"""``POST /_replicate`` with CouchDB's body: one-shot and continuous replications run in the
server process; ``cancel`` stops a continuous one; errors are CouchDB's JSON."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ADMIN, CouchServer, free_port

from .conftest import custom_couch


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchServer]:
    with custom_couch(tmp_path_factory.mktemp("replicate") / "data") as couch:
        yield couch


def _seed(client: httpx.Client, db: str, n: int) -> None:
    client.put(f"/{db}")
    client.post(f"/{db}/_bulk_docs", json={"docs": [{"_id": f"d{i:03}", "i": i} for i in range(n)]})


def _wait_for(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_one_shot_between_local_databases(server: CouchServer) -> None:
    with server.client() as client:
        _seed(client, "local-a", 30)
        reply = client.post(
            "/_replicate", json={"source": "local-a", "target": "local-b", "create_target": True}
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["ok"] is True and body["session_id"] and body["source_last_seq"] == "30"
        assert body["history"][0]["docs_written"] == 30
        assert client.get("/local-b").json()["doc_count"] == 30
        again = client.post("/_replicate", json={"source": "local-a", "target": "local-b"}).json()
        assert again["ok"] is True and again["no_changes"] is True


def test_one_shot_to_a_url_with_auth_object(server: CouchServer, tmp_path: Path) -> None:
    from tests.servers import threaded_couch

    with threaded_couch(tmp_path / "other") as other, server.client() as client:
        _seed(client, "remote-src", 5)
        user, password = ADMIN
        reply = client.post(
            "/_replicate",
            json={
                "source": {
                    "url": f"{server.url}/remote-src",
                    "auth": {"basic": {"username": user, "password": password}},
                },
                "target": f"{other.auth_url}/copied",
                "create_target": True,
                "doc_ids": ["d001", "d003"],
            },
        )
        assert reply.status_code == 200, reply.text
        with other.client() as remote:
            assert [r["id"] for r in remote.get("/copied/_all_docs").json()["rows"]] == [
                "d001",
                "d003",
            ]


def test_continuous_runs_until_cancelled(server: CouchServer) -> None:
    body = {"source": "live-a", "target": "live-b", "continuous": True, "create_target": True}
    with server.client() as client:
        _seed(client, "live-a", 3)
        started = client.post("/_replicate", json=body)
        assert started.status_code == 202, started.text
        local_id = started.json()["_local_id"]
        assert local_id.endswith("+continuous+create_target")
        assert client.post("/_replicate", json=body).json()["_local_id"] == local_id  # same job
        _wait_for(lambda: client.get("/live-b").json().get("doc_count") == 3)
        client.put("/live-a/later", json={"v": 1})
        _wait_for(lambda: client.get("/live-b/later").status_code == 200)

        cancelled = client.post("/_replicate", json={**body, "cancel": True})
        assert cancelled.status_code == 200 and cancelled.json() == {
            "ok": True,
            "_local_id": local_id,
        }
        client.put("/live-a/after-cancel", json={"v": 1})
        time.sleep(1.5)
        assert client.get("/live-b/after-cancel").status_code == 404
        missing = client.post("/_replicate", json={**body, "cancel": True})
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_cancel_by_replication_id(server: CouchServer) -> None:
    body = {"source": "byid-a", "target": "byid-b", "continuous": True, "create_target": True}
    with server.client() as client:
        _seed(client, "byid-a", 1)
        local_id = client.post("/_replicate", json=body).json()["_local_id"]
        reply = client.post("/_replicate", json={"replication_id": local_id, "cancel": True})
        assert reply.json() == {"ok": True, "_local_id": local_id}


def test_errors(server: CouchServer) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/db"
    wrong = server.url.replace("http://", "http://admin:wrong@")
    with server.client() as client:
        _seed(client, "err-src", 1)
        unreachable = client.post("/_replicate", json={"source": nowhere, "target": "err-dst"})
        assert unreachable.status_code == 404 and unreachable.json()["error"] == "db_not_found"
        missing = client.post("/_replicate", json={"source": "err-src", "target": "err-none"})
        assert missing.status_code == 404 and "err-none" in missing.json()["reason"]
        refused = client.post(
            "/_replicate",
            json={"source": f"{wrong}/err-src", "target": "err-dst", "create_target": True},
        )
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
        assert "wrong" not in refused.text
        for bad in (
            {"source": 1, "target": "x"},
            {"source": "a", "target": "b", "continuous": "yes"},
            {"source": "a", "target": "b", "filter": "ddoc/f"},
            {"source": "a", "target": "b", "doc_ids": "a"},
        ):
            reply = client.post("/_replicate", json=bad)
            assert reply.status_code == 400 and reply.json()["error"] == "bad_request", bad
        continuous_error = client.post(
            "/_replicate", json={"source": nowhere, "target": "x", "continuous": True}
        )
        assert continuous_error.status_code == 404


def test_local_names_resolve_below_the_mount_prefix(tmp_path: Path) -> None:
    with custom_couch(tmp_path / "mounted", prefix="/sync") as mounted, mounted.client() as client:
        _seed(client, "here", 4)
        reply = client.post(
            "/_replicate", json={"source": "here", "target": "there", "create_target": True}
        )
        assert reply.status_code == 200, reply.text
        assert client.get("/there").json()["doc_count"] == 4
