"""Documents: ``GET/HEAD/PUT/DELETE /{db}/{docid}`` with CouchDB's parameters and headers,
ids that need escaping, and revision-tree behaviour (winners, conflicts, deletions)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.couch import all_doc_ids, assert_error, b64, md5_digest, put, replicate_in


def test_put_get_head_and_etag(client: httpx.Client, db: str) -> None:
    created = client.put(f"/{db}/doc", json={"n": 1, "nested": {"a": [1, 2]}})
    assert created.status_code == 201
    body = created.json()
    rev = body["rev"]
    assert body == {"ok": True, "id": "doc", "rev": rev} and rev.startswith("1-")
    assert created.headers["etag"] == f'"{rev}"'
    got = client.get(f"/{db}/doc")
    assert got.status_code == 200
    assert got.json() == {"_id": "doc", "_rev": rev, "n": 1, "nested": {"a": [1, 2]}}
    assert got.headers["etag"] == f'"{rev}"'
    assert got.headers["content-type"].startswith("application/json")
    head = client.head(f"/{db}/doc")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == f'"{rev}"'
    assert_error(client.get(f"/{db}/nothing"), 404, "not_found", "missing")
    assert client.head(f"/{db}/nothing").status_code == 404


def test_updates_need_the_current_rev(client: httpx.Client, db: str) -> None:
    first = put(client, f"/{db}/doc", {"v": 1})
    assert_error(client.put(f"/{db}/doc", json={"v": 2}), 409, "conflict")
    second = put(client, f"/{db}/doc", {"_rev": first, "v": 2})
    assert second.startswith("2-")
    stale = client.put(f"/{db}/doc", json={"_rev": first, "v": 3})
    assert_error(stale, 409, "conflict", "Document update conflict.")
    third = put(client, f"/{db}/doc", {"v": 3}, rev=second)  # ?rev=
    assert third.startswith("3-")
    by_header = client.put(f"/{db}/doc", json={"v": 4}, headers={"If-Match": f'"{third}"'})
    assert by_header.status_code == 201 and by_header.json()["rev"].startswith("4-")
    stale_header = client.put(f"/{db}/doc", json={"v": 5}, headers={"If-Match": f'"{third}"'})
    assert_error(stale_header, 409, "conflict")
    mismatch = client.put(f"/{db}/doc", json={"_rev": third, "v": 5}, params={"rev": first})
    assert_error(mismatch, 400, "bad_request")
    assert client.get(f"/{db}/doc").json()["v"] == 4


def test_the_same_edit_gives_the_same_rev(client: httpx.Client, db: str) -> None:
    rev_a = put(client, f"/{db}/a", {"same": True})
    rev_b = put(client, f"/{db}/b", {"same": True})
    assert rev_a == rev_b
    assert put(client, f"/{db}/a", {"_rev": rev_a, "x": 1}) == put(
        client, f"/{db}/b", {"_rev": rev_b, "x": 1}
    )


def test_batch_ok_is_accepted(client: httpx.Client, db: str) -> None:
    response = client.put(f"/{db}/doc", json={"x": 1}, params={"batch": "ok"})
    assert response.status_code == 202 and response.json()["ok"] is True
    assert client.get(f"/{db}/doc").json()["x"] == 1


def test_get_an_older_rev(client: httpx.Client, db: str) -> None:
    first = put(client, f"/{db}/doc", {"v": 1})
    second = put(client, f"/{db}/doc", {"_rev": first, "v": 2})
    old = client.get(f"/{db}/doc", params={"rev": first})
    assert old.json() == {"_id": "doc", "_rev": first, "v": 1}
    assert old.headers["etag"] == f'"{first}"'
    by_header = client.get(f"/{db}/doc", headers={"If-Match": f'"{first}"'})
    assert by_header.json()["v"] == 1
    assert client.get(f"/{db}/doc", params={"rev": second}).json()["v"] == 2
    assert_error(client.get(f"/{db}/doc", params={"rev": "9-nope"}), 404, "not_found", "missing")
    assert_error(client.get(f"/{db}/doc", params={"rev": "nope"}), 400, "bad_request")


def test_delete_and_recreate(client: httpx.Client, db: str) -> None:
    rev = put(client, f"/{db}/doc", {"v": 1, "_attachments": {"a": {"data": b64(b"x")}}})
    assert_error(client.delete(f"/{db}/doc"), 409, "conflict")
    assert_error(client.delete(f"/{db}/doc", params={"rev": "1-stale"}), 409, "conflict")
    deleted = client.delete(f"/{db}/doc", params={"rev": rev})
    assert deleted.status_code == 200
    tomb = deleted.json()["rev"]
    assert deleted.json() == {"ok": True, "id": "doc", "rev": tomb} and tomb.startswith("2-")
    assert_error(client.get(f"/{db}/doc"), 404, "not_found", "deleted")
    assert client.head(f"/{db}/doc").status_code == 404
    # The tombstone itself can still be read by rev, without body or attachments.
    assert client.get(f"/{db}/doc", params={"rev": tomb}).json() == {
        "_id": "doc",
        "_rev": tomb,
        "_deleted": True,
    }
    assert all_doc_ids(client, db) == []
    info = client.get(f"/{db}").json()
    assert (info["doc_count"], info["doc_del_count"]) == (0, 1)
    # Recreating a deleted document continues its history.
    again = put(client, f"/{db}/doc", {"v": 2})
    assert again.startswith("3-")
    assert client.get(f"/{db}/doc").json() == {"_id": "doc", "_rev": again, "v": 2}


def test_delete_by_if_match_and_by_deleted_flag(client: httpx.Client, db: str) -> None:
    rev = put(client, f"/{db}/a", {"v": 1})
    response = client.delete(f"/{db}/a", headers={"If-Match": f'"{rev}"'})
    assert response.status_code == 200
    rev = put(client, f"/{db}/b", {"v": 1})
    put(client, f"/{db}/b", {"_rev": rev, "_deleted": True})
    assert_error(client.get(f"/{db}/a"), 404, "not_found", "deleted")
    assert_error(client.get(f"/{db}/b"), 404, "not_found", "deleted")


def test_revs_and_revs_info(client: httpx.Client, db: str) -> None:
    revs = [put(client, f"/{db}/doc", {"v": 0})]
    for v in (1, 2):
        revs.append(put(client, f"/{db}/doc", {"_rev": revs[-1], "v": v}))
    doc = client.get(f"/{db}/doc", params={"revs": "true"}).json()
    assert doc["_revisions"] == {"start": 3, "ids": [r.split("-", 1)[1] for r in reversed(revs)]}
    info = client.get(f"/{db}/doc", params={"revs_info": "true"}).json()["_revs_info"]
    assert info == [{"rev": r, "status": "available"} for r in reversed(revs)]
    old = client.get(f"/{db}/doc", params={"rev": revs[1], "revs": "true"}).json()
    assert old["_revisions"] == {"start": 2, "ids": [r.split("-", 1)[1] for r in revs[1::-1]]}


def _conflicted(client: httpx.Client, db: str) -> None:
    """``doc``: 1-a -> 2-b (winner) and 1-a -> 2-a (conflict), 1-a -> 2-c -> 3-d (deleted)."""
    replicate_in(
        client,
        db,
        [
            {"_id": "doc", "_rev": "2-b", "v": "b", "_revisions": {"start": 2, "ids": ["b", "a"]}},
            {"_id": "doc", "_rev": "2-a", "v": "a", "_revisions": {"start": 2, "ids": ["a", "a"]}},
            {
                "_id": "doc",
                "_rev": "3-d",
                "_deleted": True,
                "_revisions": {"start": 3, "ids": ["d", "c", "a"]},
            },
        ],
    )


def test_winner_conflicts_and_deleted_conflicts(client: httpx.Client, db: str) -> None:
    _conflicted(client, db)
    # A live leaf beats a deleted one of a higher generation; then the higher hash wins.
    plain = client.get(f"/{db}/doc").json()
    assert plain == {"_id": "doc", "_rev": "2-b", "v": "b"}
    assert client.get(f"/{db}/doc", params={"conflicts": "true"}).json()["_conflicts"] == ["2-a"]
    deleted = client.get(f"/{db}/doc", params={"deleted_conflicts": "true"}).json()
    assert deleted["_deleted_conflicts"] == ["3-d"] and "_conflicts" not in deleted
    meta = client.get(f"/{db}/doc", params={"meta": "true"}).json()
    assert meta["_conflicts"] == ["2-a"] and meta["_deleted_conflicts"] == ["3-d"]
    assert {"rev": "2-b", "status": "available"} in meta["_revs_info"]
    # Resolving: delete the losing leaf; the conflict disappears.
    client.delete(f"/{db}/doc", params={"rev": "2-a"})
    resolved = client.get(f"/{db}/doc", params={"conflicts": "true"}).json()
    assert resolved["_rev"] == "2-b" and "_conflicts" not in resolved
    # With every leaf deleted, the document is deleted.
    client.delete(f"/{db}/doc", params={"rev": "2-b"})
    assert_error(client.get(f"/{db}/doc"), 404, "not_found", "deleted")


def test_a_higher_generation_wins_over_a_higher_hash(client: httpx.Client, db: str) -> None:
    replicate_in(
        client,
        db,
        [
            {"_id": "d", "_rev": "1-zzzz", "v": 1},
            {
                "_id": "d",
                "_rev": "2-aaaa",
                "v": 2,
                "_revisions": {"start": 2, "ids": ["aaaa", "x"]},
            },
        ],
    )
    doc = client.get(f"/{db}/d", params={"conflicts": "true"}).json()
    assert doc["_rev"] == "2-aaaa" and doc["_conflicts"] == ["1-zzzz"]


def test_a_conflicting_leaf_can_be_updated(client: httpx.Client, db: str) -> None:
    _conflicted(client, db)
    rev = put(client, f"/{db}/doc", {"v": "a2"}, rev="2-a")
    assert rev.startswith("3-")
    # The live 3-… leaf now beats 2-b.
    doc = client.get(f"/{db}/doc", params={"conflicts": "true"}).json()
    assert doc["_rev"] == rev and doc["_conflicts"] == ["2-b"]
    # Editing a non-leaf revision is a conflict.
    assert_error(client.put(f"/{db}/doc", json={"_rev": "1-a"}), 409, "conflict")


def test_open_revs_all_and_listed(client: httpx.Client, db: str) -> None:
    _conflicted(client, db)
    accept = {"Accept": "application/json"}
    response = client.get(f"/{db}/doc", params={"open_revs": "all"}, headers=accept)
    assert response.status_code == 200
    found = {entry["ok"]["_rev"]: entry["ok"] for entry in response.json()}
    assert set(found) == {"2-b", "2-a", "3-d"}
    assert found["3-d"] == {"_id": "doc", "_rev": "3-d", "_deleted": True}
    assert found["2-a"]["v"] == "a"
    listed = client.get(
        f"/{db}/doc",
        params={"open_revs": '["2-a","5-missing","1-a"]', "revs": "true"},
        headers=accept,
    ).json()
    assert len(listed) == 3
    assert listed[0]["ok"]["_rev"] == "2-a"
    assert listed[0]["ok"]["_revisions"] == {"start": 2, "ids": ["a", "a"]}
    assert listed[1] == {"missing": "5-missing"}
    # 1-a is in the tree but its body was never stored (it came as history only).
    assert listed[2] == {"missing": "1-a"}
    nodoc = client.get(f"/{db}/ghost", params={"open_revs": '["1-a"]'}, headers=accept)
    assert nodoc.status_code == 200 and nodoc.json() == [{"missing": "1-a"}]
    assert_error(client.get(f"/{db}/ghost", params={"open_revs": "all"}), 404, "not_found")
    bad = client.get(f"/{db}/doc", params={"open_revs": "[1"}, headers=accept)
    assert_error(bad, 400, "bad_request")


def test_latest_replaces_an_old_rev_by_its_leaves(client: httpx.Client, db: str) -> None:
    first = put(client, f"/{db}/doc", {"v": 1})
    second = put(client, f"/{db}/doc", {"_rev": first, "v": 2})
    accept = {"Accept": "application/json"}
    entries = client.get(
        f"/{db}/doc", params={"open_revs": f'["{first}"]', "latest": "true"}, headers=accept
    ).json()
    assert [e["ok"]["_rev"] for e in entries] == [second]
    doc = client.get(f"/{db}/doc", params={"rev": first, "latest": "true"}).json()
    assert doc["_rev"] == second and doc["v"] == 2


def test_inline_attachments_and_atts_since(client: httpx.Client, db: str) -> None:
    one, two = b"first attachment", b"\x00\x01binary\xff"
    rev1 = put(
        client,
        f"/{db}/doc",
        {"_attachments": {"one.txt": {"content_type": "text/plain", "data": b64(one)}}},
    )
    stub = client.get(f"/{db}/doc").json()["_attachments"]["one.txt"]
    assert stub == {
        "content_type": "text/plain",
        "revpos": 1,
        "digest": md5_digest(one),
        "length": len(one),
        "stub": True,
    }
    rev2 = put(
        client,
        f"/{db}/doc",
        {
            "_rev": rev1,
            "_attachments": {
                "one.txt": {"stub": True},
                "two.bin": {"content_type": "application/octet-stream", "data": b64(two)},
            },
        },
    )
    full = client.get(f"/{db}/doc", params={"attachments": "true"}).json()["_attachments"]
    assert full["one.txt"]["data"] == b64(one) and full["one.txt"]["revpos"] == 1
    assert full["two.bin"]["data"] == b64(two) and full["two.bin"]["revpos"] == 2
    assert full["two.bin"]["digest"] == md5_digest(two)
    since = client.get(f"/{db}/doc", params={"atts_since": f'["{rev1}"]'}).json()["_attachments"]
    assert since["one.txt"]["stub"] is True and "data" not in since["one.txt"]
    assert since["two.bin"]["data"] == b64(two)
    # Leaving out _attachments in an update drops them.
    rev3 = put(client, f"/{db}/doc", {"_rev": rev2, "plain": True})
    assert "_attachments" not in client.get(f"/{db}/doc").json()
    assert client.get(f"/{db}/doc/one.txt", params={"rev": rev2}).content == one
    assert_error(client.get(f"/{db}/doc/one.txt"), 404, "not_found")
    assert rev3.startswith("3-")


IDS = [
    "a/b",
    "with space",
    "文档-ü-é",
    "plus+sign",
    "q?mark&amp",
    "percent%41",
    "emoji-😀",
    "hash#tag",
]


@pytest.mark.parametrize("doc_id", IDS)
def test_ids_that_need_escaping(client: httpx.Client, db: str, doc_id: str) -> None:
    path = f"/{db}/{quote(doc_id, safe='')}"
    rev = put(client, path, {"v": doc_id})
    assert client.get(path).json() == {"_id": doc_id, "_rev": rev, "v": doc_id}
    assert all_doc_ids(client, db) == [doc_id]
    changes = client.get(f"/{db}/_changes").json()["results"]
    assert [row["id"] for row in changes] == [doc_id]
    data = b"bytes of " + doc_id.encode()
    rev2 = client.put(f"{path}/file.txt", params={"rev": rev}, content=data).json()["rev"]
    assert client.get(f"{path}/file.txt").content == data
    deleted = client.delete(path, params={"rev": rev2})
    assert deleted.status_code == 200 and deleted.json()["id"] == doc_id
    assert_error(client.get(path), 404, "not_found", "deleted")


def test_design_docs_keep_their_slash(client: httpx.Client, db: str) -> None:
    rev = put(client, f"/{db}/_design/app", {"language": "javascript", "views": {}})
    doc = client.get(f"/{db}/_design/app").json()
    assert doc["_id"] == "_design/app" and doc["_rev"] == rev
    assert client.get(f"/{db}/_design%2Fapp").json()["_rev"] == rev
    assert all_doc_ids(client, db) == ["_design/app"]
    rev2 = client.put(f"/{db}/_design/app/lib/file.js", params={"rev": rev}, content=b"x=1").json()[
        "rev"
    ]
    assert client.get(f"/{db}/_design/app/lib/file.js").content == b"x=1"
    assert "lib/file.js" in client.get(f"/{db}/_design/app").json()["_attachments"]
    assert client.delete(f"/{db}/_design/app", params={"rev": rev2}).status_code == 200
    assert_error(client.get(f"/{db}/_design/app"), 404, "not_found", "deleted")


def test_a_body_id_must_match_the_url(client: httpx.Client, db: str) -> None:
    assert_error(client.put(f"/{db}/one", json={"_id": "two"}), 400, "bad_request")
    assert all_doc_ids(client, db) == []


def test_new_edits_false_put(client: httpx.Client, db: str) -> None:
    doc: dict[str, Any] = {
        "_id": "doc",
        "_rev": "3-ccc",
        "v": 3,
        "_revisions": {"start": 3, "ids": ["ccc", "bbb", "aaa"]},
    }
    response = client.put(f"/{db}/doc", json=doc, params={"new_edits": "false"})
    assert response.status_code == 201 and response.json()["rev"] == "3-ccc"
    got = client.get(f"/{db}/doc", params={"revs": "true"}).json()
    assert got["_revisions"] == {"start": 3, "ids": ["ccc", "bbb", "aaa"]}
    # Replaying the same revision is a no-op that still succeeds.
    again = client.put(f"/{db}/doc", json=doc, params={"new_edits": "false"})
    assert again.status_code == 201
    assert client.get(f"/{db}").json()["update_seq"] == "1"


def test_methods_not_allowed(client: httpx.Client, db: str) -> None:
    assert_error(client.post(f"/{db}/doc", json={}), 405, "method_not_allowed")
    assert_error(client.request("PATCH", f"/{db}"), 405, "method_not_allowed")
    assert_error(client.get(f"/{db}/_bulk_docs"), 405, "method_not_allowed")


def test_new_edits_false_put_takes_the_rev_from_the_query(client: httpx.Client, db: str) -> None:
    response = client.put(
        f"/{db}/doc", json={"v": 1}, params={"new_edits": "false", "rev": "4-dddd"}
    )
    assert response.status_code == 201 and response.json()["rev"] == "4-dddd"
    assert client.get(f"/{db}/doc").json() == {"_id": "doc", "_rev": "4-dddd", "v": 1}


def test_atts_since_counts_only_ancestors(client: httpx.Client, db: str) -> None:
    # 1-r -> 2-a (adds f) -> 3-a, and a second branch 1-r -> 2-b -> 3-b -> 4-b.
    f = {"content_type": "text/plain", "data": b64(b"F"), "revpos": 2}
    replicate_in(
        client,
        db,
        [
            {"_id": "d", "_rev": "3-a", "_revisions": {"start": 3, "ids": ["a", "a", "r"]},
             "_attachments": {"f": f}},
            {"_id": "d", "_rev": "4-b", "_revisions": {"start": 4, "ids": ["b", "b", "b", "r"]}},
        ],
    )  # fmt: skip
    # 2-b is not an ancestor of 3-a: a client at 2-b does not have f, so f is sent.
    for since in ('["2-b"]', '["4-b"]', '["9-unknown"]'):
        doc = client.get(f"/{db}/d", params={"rev": "3-a", "atts_since": since}).json()
        assert doc["_attachments"]["f"].get("data") == b64(b"F"), since
    # 2-a is: f (revpos 2) is then only a stub.
    doc = client.get(f"/{db}/d", params={"rev": "3-a", "atts_since": '["2-b","2-a"]'}).json()
    assert doc["_attachments"]["f"]["stub"] is True


def test_delete_of_missing_and_deleted_documents_is_404(client: httpx.Client, db: str) -> None:
    assert_error(client.delete(f"/{db}/ghost"), 404, "not_found", "missing")
    assert_error(
        client.delete(f"/{db}/ghost", params={"rev": "1-abc"}), 404, "not_found", "missing"
    )
    rev = put(client, f"/{db}/doc", {})
    tomb = client.delete(f"/{db}/doc", params={"rev": rev}).json()["rev"]
    seq = client.get(f"/{db}").json()["update_seq"]
    assert_error(client.delete(f"/{db}/doc", params={"rev": tomb}), 404, "not_found", "deleted")
    assert_error(client.delete(f"/{db}/doc"), 404, "not_found", "deleted")
    assert client.get(f"/{db}").json()["update_seq"] == seq
