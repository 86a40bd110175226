"""The replication read and write paths: ``_bulk_docs`` (``new_edits`` true and false),
``_bulk_get`` and ``_revs_diff``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.couch import (
    all_doc_ids,
    assert_error,
    b64,
    changed_ids,
    md5_digest,
    put,
    replicate_in,
)


def _bulk(client: httpx.Client, db: str, docs: list[Any], **extra: Any) -> list[dict[str, Any]]:
    response = client.post(f"/{db}/_bulk_docs", json={"docs": docs, **extra})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    result: list[dict[str, Any]] = response.json()
    return result


def test_bulk_docs_creates_updates_and_reports_each(client: httpx.Client, db: str) -> None:
    rev = put(client, f"/{db}/existing", {"v": 1})
    put(client, f"/{db}/taken", {"v": 1})
    results = _bulk(
        client,
        db,
        [
            {"_id": "new", "v": 1},
            {"_id": "existing", "_rev": rev, "v": 2},
            {"_id": "taken", "v": 2},  # exists: no rev is a conflict
            {"_id": "existing", "_rev": rev, "v": 3},  # now stale within the batch
            {"v": "no id"},
        ],
    )
    assert [r.get("id") for r in results[:4]] == ["new", "existing", "taken", "existing"]
    assert results[0]["ok"] is True and results[0]["rev"].startswith("1-")
    assert results[1]["ok"] is True and results[1]["rev"].startswith("2-")
    assert results[2] == {"id": "taken", "error": "conflict", "reason": "Document update conflict."}
    assert results[3]["error"] == "conflict"
    assert results[4]["ok"] is True and len(results[4]["id"]) == 32
    assert client.get(f"/{db}/existing").json()["v"] == 2
    assert client.get(f"/{db}/taken").json()["v"] == 1
    assert set(all_doc_ids(client, db)) == {"new", "existing", "taken", results[4]["id"]}


def test_bulk_docs_deletes(client: httpx.Client, db: str) -> None:
    rev = put(client, f"/{db}/doc", {"v": 1})
    results = _bulk(client, db, [{"_id": "doc", "_rev": rev, "_deleted": True}])
    assert results[0]["ok"] is True and results[0]["rev"].startswith("2-")
    assert all_doc_ids(client, db) == []
    assert changed_ids(client, db) == ["doc"]


def test_one_bad_document_does_not_spoil_the_batch(client: httpx.Client, db: str) -> None:
    results = _bulk(
        client,
        db,
        [
            {"_id": "good1", "v": 1},
            {"_id": "_illegal", "v": 2},
            {"_id": "badatt", "_attachments": {"a": {"data": "%%% not base64"}}},
            {"_id": "badrev", "_rev": "x-y", "v": 1},
            {"_id": "stub", "_attachments": {"a": {"stub": True}}},
            "not an object",
            {"_id": "good2", "v": 2},
        ],
    )
    assert len(results) == 7
    assert results[0]["ok"] is True and results[6]["ok"] is True
    assert results[1]["id"] == "_illegal" and results[1]["error"] == "illegal_docid"
    assert results[2]["id"] == "badatt" and results[2]["error"] == "bad_request"
    assert results[3]["id"] == "badrev" and results[3]["error"] == "bad_request"
    assert results[4]["id"] == "stub" and results[4]["error"] == "missing_stub"
    assert results[5]["error"] == "bad_request"
    assert sorted(all_doc_ids(client, db)) == ["good1", "good2"]
    assert sorted(changed_ids(client, db)) == ["good1", "good2"]


def test_new_edits_false_stores_given_revisions(client: httpx.Client, db: str) -> None:
    docs = [
        {
            "_id": "doc",
            "_rev": "2-bbb",
            "v": "b",
            "_revisions": {"start": 2, "ids": ["bbb", "aaa"]},
            "_attachments": {
                "a.txt": {"content_type": "text/plain", "data": b64(b"payload"), "revpos": 1}
            },
        },
        {
            "_id": "doc",
            "_rev": "2-ccc",
            "v": "c",
            "_revisions": {"start": 2, "ids": ["ccc", "aaa"]},
        },
        {"_id": "single", "_rev": "7-abc", "v": 7},
    ]
    assert _bulk(client, db, docs, new_edits=False) == []
    doc = client.get(f"/{db}/doc", params={"conflicts": "true", "revs": "true"}).json()
    assert doc["_rev"] == "2-ccc" and doc["_conflicts"] == ["2-bbb"]
    assert doc["_revisions"] == {"start": 2, "ids": ["ccc", "aaa"]}
    loser = client.get(f"/{db}/doc", params={"rev": "2-bbb"}).json()
    assert loser["v"] == "b"
    assert loser["_attachments"]["a.txt"]["revpos"] == 1
    assert loser["_attachments"]["a.txt"]["digest"] == md5_digest(b"payload")
    assert client.get(f"/{db}/single").json() == {"_id": "single", "_rev": "7-abc", "v": 7}
    # The same batch again changes nothing and still succeeds.
    seq = client.get(f"/{db}").json()["update_seq"]
    assert _bulk(client, db, docs, new_edits=False) == []
    assert client.get(f"/{db}").json()["update_seq"] == seq
    # An older revision of a known path is not a conflict either.
    assert _bulk(client, db, [{"_id": "doc", "_rev": "1-aaa"}], new_edits=False) == []
    assert client.get(f"/{db}/doc").json()["_rev"] == "2-ccc"


def test_new_edits_false_copies_conflicts_from_another_replica(
    client: httpx.Client, db: str
) -> None:
    rev1 = put(client, f"/{db}/doc", {"v": 1})
    mine = put(client, f"/{db}/doc", {"_rev": rev1, "v": "mine"})
    theirs = {
        "_id": "doc",
        "_rev": "2-ffffffffffffffffffffffffffffffff",
        "v": "theirs",
        "_revisions": {"start": 2, "ids": ["ffffffffffffffffffffffffffffffff", rev1[2:]]},
    }
    replicate_in(client, db, [theirs])
    doc = client.get(f"/{db}/doc", params={"conflicts": "true"}).json()
    assert doc["_rev"] == theirs["_rev"] and doc["_conflicts"] == [mine]
    leaves = client.get(f"/{db}/_changes", params={"style": "all_docs"}).json()["results"][0][
        "changes"
    ]
    assert [c["rev"] for c in leaves] == [theirs["_rev"], mine]


def test_new_edits_false_stubs_refer_to_the_ancestor(client: httpx.Client, db: str) -> None:
    rev1 = put(client, f"/{db}/doc", {"_attachments": {"a": {"data": b64(b"kept")}}})
    digest = md5_digest(b"kept")
    child = {
        "_id": "doc",
        "_rev": "2-child",
        "_revisions": {"start": 2, "ids": ["child", rev1[2:]]},
        "_attachments": {"a": {"stub": True, "revpos": 1, "digest": digest}},
    }
    replicate_in(client, db, [child])
    assert client.get(f"/{db}/doc/a").content == b"kept"
    assert client.get(f"/{db}/doc").json()["_attachments"]["a"]["revpos"] == 1


def test_bulk_get(client: httpx.Client, db: str) -> None:
    rev1 = put(client, f"/{db}/a", {"v": 1, "_attachments": {"f": {"data": b64(b"file")}}})
    rev2 = put(client, f"/{db}/a", {"_rev": rev1, "v": 2, "_attachments": {"f": {"stub": True}}})
    put(client, f"/{db}/b", {"v": "b"})
    wanted = [
        {"id": "b"},
        {"id": "a", "rev": rev1},
        {"id": "a", "rev": "9-unknown"},
        {"id": "ghost", "rev": "1-x"},
        {"id": "a", "rev": rev2},
    ]
    response = client.post(
        f"/{db}/_bulk_get", params={"revs": "true", "attachments": "true"}, json={"docs": wanted}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == ["b", "a", "a", "ghost", "a"]
    b = results[0]["docs"][0]["ok"]
    assert b["v"] == "b" and b["_revisions"]["start"] == 1
    old = results[1]["docs"][0]["ok"]
    assert old["_rev"] == rev1 and old["v"] == 1
    assert old["_attachments"]["f"]["data"] == b64(b"file")
    assert results[2]["docs"] == [
        {"error": {"id": "a", "rev": "9-unknown", "error": "not_found", "reason": "missing"}}
    ]
    assert results[3]["docs"][0]["error"]["error"] == "not_found"
    assert results[3]["docs"][0]["error"]["rev"] == "1-x"
    new = results[4]["docs"][0]["ok"]
    assert new["_revisions"] == {"start": 2, "ids": [rev2[2:], rev1[2:]]}


def test_bulk_get_latest_and_atts_since(client: httpx.Client, db: str) -> None:
    rev1 = put(client, f"/{db}/a", {"_attachments": {"f": {"data": b64(b"one")}}})
    rev2 = put(
        client,
        f"/{db}/a",
        {"_rev": rev1, "_attachments": {"f": {"stub": True}, "g": {"data": b64(b"two")}}},
    )
    body = {"docs": [{"id": "a", "rev": rev1, "atts_since": [rev1]}]}
    latest = client.post(f"/{db}/_bulk_get", params={"latest": "true"}, json=body).json()
    doc = latest["results"][0]["docs"][0]["ok"]
    assert doc["_rev"] == rev2
    assert doc["_attachments"]["f"]["stub"] is True
    assert doc["_attachments"]["g"]["data"] == b64(b"two")
    plain = client.post(f"/{db}/_bulk_get", json={"docs": [{"id": "a", "rev": rev1}]}).json()
    assert plain["results"][0]["docs"][0]["ok"]["_rev"] == rev1
    assert "_revisions" not in plain["results"][0]["docs"][0]["ok"]


def test_bulk_get_latest_with_conflicts_returns_every_leaf(client: httpx.Client, db: str) -> None:
    replicate_in(
        client,
        db,
        [
            {"_id": "d", "_rev": "1-r", "v": 0},
            {"_id": "d", "_rev": "2-x", "_revisions": {"start": 2, "ids": ["x", "r"]}},
            {"_id": "d", "_rev": "2-y", "_revisions": {"start": 2, "ids": ["y", "r"]}},
        ],
    )
    body = {"docs": [{"id": "d", "rev": "1-r"}]}
    result = client.post(f"/{db}/_bulk_get", params={"latest": "true"}, json=body).json()
    assert sorted(d["ok"]["_rev"] for d in result["results"][0]["docs"]) == ["2-x", "2-y"]


def test_revs_diff(client: httpx.Client, db: str) -> None:
    rev1 = put(client, f"/{db}/known", {"v": 1})
    rev2 = put(client, f"/{db}/known", {"_rev": rev1, "v": 2})
    response = client.post(
        f"/{db}/_revs_diff",
        json={
            "known": [rev1, rev2, "3-new"],
            "same": [],
            "absent": ["1-a", "2-b"],
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "known": {"missing": ["3-new"], "possible_ancestors": [rev2]},
        "absent": {"missing": ["1-a", "2-b"]},
    }
    complete = client.post(f"/{db}/_revs_diff", json={"known": [rev1, rev2]}).json()
    assert complete == {}


def test_bulk_get_odd_items_are_error_entries(client: httpx.Client, db: str) -> None:
    rev = put(client, f"/{db}/a", {"_attachments": {"f": {"data": b64(b"f")}}})
    response = client.post(
        f"/{db}/_bulk_get",
        json={
            "docs": [
                "not an object",
                {"rev": rev},
                {"id": "a", "rev": rev, "atts_since": [{"odd": 1}, 7, "nope"]},
                {"id": "a", "rev": "malformed"},
            ]
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 4
    assert results[0]["docs"][0]["error"]["error"] == "bad_request"
    assert results[1]["docs"][0]["error"]["error"] == "bad_request"
    assert results[2]["docs"][0]["ok"]["_attachments"]["f"]["data"] == b64(b"f")
    assert results[3]["docs"][0]["error"]["error"] == "not_found"
    assert_error(client.post(f"/{db}/_bulk_get", json={"docs": "a"}), 400, "bad_request")
    assert_error(client.post(f"/{db}/_bulk_get", json={}), 400, "bad_request")


def test_new_edits_false_errors_name_the_rev(client: httpx.Client, db: str) -> None:
    response = client.post(
        f"/{db}/_bulk_docs",
        json={
            "docs": [
                {"_id": "ok", "_rev": "1-a"},
                {"_id": "s", "_rev": "1-b", "_attachments": {"x": {"stub": True}}},
            ],
            "new_edits": False,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body == [{"id": "s", "rev": "1-b", "error": "missing_stub", "reason": body[0]["reason"]}]
    assert all_doc_ids(client, db) == ["ok"]
