"""``/{db}/_local/{id}``: replication checkpoints with ``0-N`` revs that never appear in
``_changes`` or ``_all_docs``."""

from __future__ import annotations

import httpx

from tests.integration.couch import all_doc_ids, assert_empty, assert_error


def test_local_documents_have_0_n_revs(client: httpx.Client, db: str) -> None:
    created = client.put(f"/{db}/_local/cp", json={"last_seq": "1", "history": []})
    assert created.status_code == 201
    assert created.json() == {"ok": True, "id": "_local/cp", "rev": "0-1"}
    got = client.get(f"/{db}/_local/cp")
    assert got.json() == {"_id": "_local/cp", "_rev": "0-1", "last_seq": "1", "history": []}
    updated = client.put(f"/{db}/_local/cp", json={"_rev": "0-1", "last_seq": "2"})
    assert updated.json()["rev"] == "0-2"
    assert client.get(f"/{db}/_local/cp").json()["last_seq"] == "2"
    stale = client.put(f"/{db}/_local/cp", json={"_rev": "0-1", "last_seq": "3"})
    assert_error(stale, 409, "conflict")
    by_query = client.put(f"/{db}/_local/cp", params={"rev": "0-2"}, json={"last_seq": "4"})
    assert by_query.json()["rev"] == "0-3"
    assert client.get(f"/{db}/_local/cp").json()["last_seq"] == "4"


def test_local_documents_never_appear_in_feeds(client: httpx.Client, db: str) -> None:
    client.put(f"/{db}/_local/a", json={"x": 1})
    client.put(f"/{db}/_local%2Fb", json={"x": 2})
    assert client.get(f"/{db}/_local/b").json()["x"] == 2
    assert_empty(client, db)
    client.put(f"/{db}/real", json={})
    assert all_doc_ids(client, db) == ["real"]
    keys = client.post(f"/{db}/_all_docs", json={"keys": ["_local/a"]}).json()["rows"]
    assert keys == [{"key": "_local/a", "error": "not_found"}]


def test_delete_local(client: httpx.Client, db: str) -> None:
    client.put(f"/{db}/_local/cp", json={"x": 1})
    assert_error(client.delete(f"/{db}/_local/cp"), 409, "conflict")
    assert_error(client.delete(f"/{db}/_local/cp", params={"rev": "0-9"}), 409, "conflict")
    deleted = client.delete(f"/{db}/_local/cp", params={"rev": "0-1"})
    assert deleted.status_code == 200
    assert deleted.json() == {"ok": True, "id": "_local/cp", "rev": "0-0"}
    assert_error(client.get(f"/{db}/_local/cp"), 404, "not_found", "missing")
    assert_error(client.delete(f"/{db}/_local/cp", params={"rev": "0-1"}), 404, "not_found")
    # A deleted checkpoint can be written afresh.
    assert client.put(f"/{db}/_local/cp", json={"x": 2}).json()["rev"] == "0-1"


def test_local_ids_with_slashes_and_missing(client: httpx.Client, db: str) -> None:
    assert_error(client.get(f"/{db}/_local/nope"), 404, "not_found", "missing")
    client.put(f"/{db}/_local/a/b", json={"deep": True})
    assert client.get(f"/{db}/_local/a%2Fb").json() == {
        "_id": "_local/a/b",
        "_rev": "0-1",
        "deep": True,
    }


def test_local_documents_persist_per_database(client: httpx.Client, db: str) -> None:
    other = db + "-other"
    client.put(f"/{other}")
    client.put(f"/{db}/_local/cp", json={"mine": True})
    assert_error(client.get(f"/{other}/_local/cp"), 404, "not_found")
    client.delete(f"/{other}")


def test_bad_local_bodies(client: httpx.Client, db: str) -> None:
    assert_error(client.put(f"/{db}/_local/cp", content=b"[1]"), 400, "bad_request")
    assert_error(client.put(f"/{db}/_local/cp", content=b'{"x":'), 400, "bad_request")
    assert_error(client.get(f"/{db}/_local/cp"), 404, "not_found")
