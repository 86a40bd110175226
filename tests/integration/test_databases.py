"""Databases: create, info, delete (with and without a trailing slash), ``POST /{db}``,
``_revs_limit``, ``_ensure_full_commit`` and ``_compact`` (which removes unreferenced blobs)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.couch import all_doc_ids, assert_error, b64, put
from tests.servers import CouchServer


def _name() -> str:
    return "t-" + uuid.uuid4().hex[:12]


@pytest.mark.parametrize("slash", ["", "/"])
def test_create_info_delete(client: httpx.Client, slash: str) -> None:
    name = _name()
    created = client.put(f"/{name}{slash}")
    assert created.status_code == 201 and created.json() == {"ok": True}
    info = client.get(f"/{name}{slash}")
    assert info.status_code == 200
    body = info.json()
    assert body["db_name"] == name
    assert body["doc_count"] == 0 and body["doc_del_count"] == 0
    assert isinstance(body["update_seq"], str)
    head = client.head(f"/{name}{slash}")
    assert head.status_code == 200 and head.content == b""
    assert name in client.get("/_all_dbs").json()
    deleted = client.delete(f"/{name}{slash}")
    assert deleted.status_code == 200 and deleted.json() == {"ok": True}
    assert_error(client.get(f"/{name}{slash}"), 404, "not_found", "Database does not exist.")
    assert client.head(f"/{name}{slash}").status_code == 404
    assert name not in client.get("/_all_dbs").json()


def test_creating_twice_is_412(client: httpx.Client, db: str) -> None:
    assert_error(client.put(f"/{db}"), 412, "file_exists")
    assert_error(client.put(f"/{db}/"), 412, "file_exists")


@pytest.mark.parametrize("name", ["Upper", "1digit", "_underscore", "sp%20ace", "x" * 300])
def test_illegal_database_names(client: httpx.Client, name: str) -> None:
    assert_error(client.put(f"/{name}"), 400, "illegal_database_name")
    if name.startswith("_"):
        assert_error(client.get(f"/{name}"), 400, "illegal_database_name")
    else:
        assert_error(client.get(f"/{name}"), 404, "not_found", "Database does not exist.")


def test_database_name_with_a_slash(client: httpx.Client) -> None:
    name = _name() + "/sub"
    encoded = name.replace("/", "%2F")
    assert client.put(f"/{encoded}").status_code == 201
    assert client.get(f"/{encoded}").json()["db_name"] == name
    assert name in client.get("/_all_dbs").json()
    put(client, f"/{encoded}/doc", {"x": 1})
    assert client.get(f"/{encoded}/doc").json()["x"] == 1
    assert client.delete(f"/{encoded}").status_code == 200


def test_deleting_a_database_drops_its_documents(client: httpx.Client) -> None:
    name = _name()
    client.put(f"/{name}")
    put(client, f"/{name}/doc", {"x": 1})
    client.delete(f"/{name}")
    client.put(f"/{name}")
    assert all_doc_ids(client, name) == []
    assert_error(client.get(f"/{name}/doc"), 404, "not_found", "missing")


def test_delete_with_a_rev_is_refused(client: httpx.Client, db: str) -> None:
    assert_error(client.delete(f"/{db}", params={"rev": "1-abc"}), 400, "bad_request")
    assert client.get(f"/{db}").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("DELETE", ""),
        ("GET", "/doc"),
        ("PUT", "/doc"),
        ("GET", "/_all_docs"),
        ("GET", "/_changes"),
        ("POST", "/_bulk_docs"),
        ("POST", "/_bulk_get"),
        ("POST", "/_revs_diff"),
        ("GET", "/_local/x"),
        ("PUT", "/_local/x"),
        ("GET", "/doc/att"),
        ("POST", "/_ensure_full_commit"),
        ("GET", "/_revs_limit"),
    ],
)
def test_unknown_database_is_404_json(client: httpx.Client, method: str, path: str) -> None:
    body = {"docs": []} if "_bulk" in path else {}
    response = client.request(method, f"/no-such-db{path}", json=body)
    assert_error(response, 404, "not_found", "Database does not exist.")


def test_post_creates_a_document(client: httpx.Client, db: str) -> None:
    response = client.post(f"/{db}", json={"kind": "generated"})
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True and body["rev"].startswith("1-")
    assert len(body["id"]) == 32
    assert client.get(f"/{db}/{body['id']}").json()["kind"] == "generated"
    named = client.post(f"/{db}/", json={"_id": "chosen", "kind": "named"})
    assert named.status_code == 201 and named.json()["id"] == "chosen"
    again = client.post(f"/{db}", json={"_id": "chosen", "kind": "again"})
    assert_error(again, 409, "conflict")
    assert sorted(all_doc_ids(client, db)) == sorted([body["id"], "chosen"])


def test_revs_limit(client: httpx.Client, db: str) -> None:
    assert client.get(f"/{db}/_revs_limit").json() == 1000
    response = client.put(f"/{db}/_revs_limit", content=b"3")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert client.get(f"/{db}/_revs_limit").json() == 3
    assert_error(client.put(f"/{db}/_revs_limit", content=b"0"), 400, "bad_request")
    assert_error(client.put(f"/{db}/_revs_limit", content=b'"x"'), 400, "bad_request")
    assert client.get(f"/{db}/_revs_limit").json() == 3
    rev = put(client, f"/{db}/doc", {"n": 0})
    for n in range(1, 6):
        rev = put(client, f"/{db}/doc", {"_rev": rev, "n": n})
    revisions = client.get(f"/{db}/doc", params={"revs": "true"}).json()["_revisions"]
    assert revisions["start"] == 6 and len(revisions["ids"]) == 3


def test_ensure_full_commit(client: httpx.Client, db: str) -> None:
    response = client.post(f"/{db}/_ensure_full_commit", json={})
    assert response.status_code == 201
    assert response.json()["ok"] is True and "instance_start_time" in response.json()


def _blob_paths(data_dir: Path) -> set[str]:
    root = data_dir / "blobs" / "sha256"
    return {p.name for p in root.glob("*/*/*") if p.is_file()}


def _age_blobs(data_dir: Path, seconds: float = 2 * 3600) -> None:
    """Make every blob older than compaction's grace period for writes in flight."""
    then = time.time() - seconds
    for path in (data_dir / "blobs" / "sha256").glob("*/*/*"):
        os.utime(path, (then, then))


def test_compact_removes_unreferenced_blobs(couch: CouchServer) -> None:
    old, new, shared, leaf = b"old bytes" * 50, b"new bytes" * 50, b"shared" * 9, b"conflict!"
    sha = {k: hashlib.sha256(v).hexdigest() for k, v in locals().items() if isinstance(v, bytes)}
    inline = {"content_type": "application/octet-stream"}
    with couch.client() as client:
        client.put("/db")
        client.put("/other")
        rev1 = put(client, "/db/doc", {"_attachments": {"a": {**inline, "data": b64(old)}}})
        rev = put(
            client, "/db/doc", {"_rev": rev1, "_attachments": {"a": {**inline, "data": b64(new)}}}
        )
        assert client.get("/db/doc", params={"rev": rev1}).status_code == 200
        put(client, "/other/keeper", {"_attachments": {"s": {**inline, "data": b64(shared)}}})
        # A blob only a conflicting (losing) leaf refers to must survive compaction.
        docs = [
            {"_id": "c", "_rev": "1-aaa", "_attachments": {"x": {**inline, "data": b64(leaf)}}},
            {"_id": "c", "_rev": "1-zzz"},
        ]
        client.post("/db/_bulk_docs", json={"docs": docs, "new_edits": False})
        assert _blob_paths(couch.data_dir) == set(sha.values())
        assert_error(client.post("/db/_compact"), 415, "bad_content_type")
        assert_error(
            client.post("/db/_compact", content=b"{}", headers={"content-type": "text/plain"}),
            415,
            "bad_content_type",
        )
        assert _blob_paths(couch.data_dir) == set(sha.values())
        _age_blobs(couch.data_dir)
        response = client.post("/db/_compact", json={})
        assert response.status_code == 202 and response.json() == {"ok": True}
        assert _blob_paths(couch.data_dir) == {sha["new"], sha["shared"], sha["leaf"]}
        assert client.get("/db/doc/a").content == new
        assert client.get("/db/c/x", params={"rev": "1-aaa"}).content == leaf
        assert client.get("/other/keeper/s").content == shared
        # Old revision bodies are gone too; the current one stays.
        assert_error(client.get("/db/doc", params={"rev": rev1}), 404, "not_found", "missing")
        # A blob written a moment ago may belong to a write in flight: it is spared.
        fresh = b"written just now"
        rev = put(client, "/db/doc", {"_rev": rev, "_attachments": {"f": {"data": b64(fresh)}}})
        put(client, "/db/doc", {"_rev": rev})
        client.post("/db/_compact", json={})
        assert hashlib.sha256(fresh).hexdigest() in _blob_paths(couch.data_dir)
        # Deleting a database leaves its blobs unreferenced: the next compaction drops them.
        client.delete("/other")
        _age_blobs(couch.data_dir)
        client.post("/db/_compact", json={})
        assert _blob_paths(couch.data_dir) == {sha["leaf"]}
        assert_error(client.post("/nodb/_compact", json={}), 404, "not_found")
