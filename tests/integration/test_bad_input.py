"""Bad input: each case gets its precise 4xx and CouchDB's JSON error, and nothing of the bad
document is stored (checked through ``_all_docs``, ``_changes``, db info and ``GET``)."""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.couch import (
    all_doc_ids,
    assert_empty,
    assert_error,
    b64,
    changed_ids,
    md5_digest,
    put,
)
from tests.servers import CouchServer, threaded_couch

MALFORMED = [
    b'{"a": }',
    b'{"a": [1, 2',
    b'{"a": 1',
    b'{"a": 1}}',
    b"{'a': 1}",
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": 1e400}',
    b'{"a": "\\ud800"}',
    b'{"a": "\xff\xfe"}',
    b"[" * 50_000 + b"]" * 50_000,
    b"",
    b"   ",
]
NOT_OBJECTS = [b"[1, 2]", b'"text"', b"42", b"null", b"true"]


@pytest.mark.parametrize("body", MALFORMED + NOT_OBJECTS)
def test_bad_document_bodies(client: httpx.Client, db: str, body: bytes) -> None:
    json_type = {"Content-Type": "application/json"}
    assert_error(client.put(f"/{db}/doc", content=body, headers=json_type), 400, "bad_request")
    assert_error(client.post(f"/{db}", content=body, headers=json_type), 400, "bad_request")
    bulk = client.post(f"/{db}/_bulk_docs", content=body, headers=json_type)
    assert_error(bulk, 400, "bad_request")
    local = client.put(f"/{db}/_local/doc", content=body, headers=json_type)
    assert_error(local, 400, "bad_request")
    for endpoint in ("_bulk_get", "_revs_diff", "_all_docs"):
        assert_error(
            client.post(f"/{db}/{endpoint}", content=body, headers=json_type), 400, "bad_request"
        )
    assert_empty(client, db)
    assert_error(client.get(f"/{db}/_local/doc"), 404, "not_found")


def _batch_with(client: httpx.Client, db: str, body: bytes) -> httpx.Response:
    batch = b'{"docs": [{"_id": "good"}, ' + body.replace(b'"a"', b'"_id": "bad", "a"') + b"]}"
    return client.post(
        f"/{db}/_bulk_docs", content=batch, headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize("body", MALFORMED[:10])
def test_malformed_json_inside_bulk_docs(client: httpx.Client, db: str, body: bytes) -> None:
    # The batch itself is no longer JSON: nothing of it is stored.
    assert_error(_batch_with(client, db, body), 400, "bad_request")
    assert_empty(client, db)


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_non_objects_inside_bulk_docs(client: httpx.Client, db: str, body: bytes) -> None:
    response = _batch_with(client, db, body)
    assert response.status_code == 201
    results = response.json()
    assert results[0]["ok"] is True
    assert results[1]["error"] == "bad_request" and isinstance(results[1]["reason"], str)
    assert all_doc_ids(client, db) == ["good"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"docs": "x"}, "bad_request"),
        ({"doc": []}, "bad_request"),
        ({"docs": [], "new_edits": "no"}, "bad_request"),
    ],
)
def test_bad_bulk_requests(client: httpx.Client, db: str, body: Any, error: str) -> None:
    assert_error(client.post(f"/{db}/_bulk_docs", json=body), 400, error)
    assert_empty(client, db)


@pytest.mark.parametrize("doc_id", ["", "_foo", "_design/", "_local", "_attachments", 5, None])
def test_illegal_ids_in_bodies(client: httpx.Client, db: str, doc_id: Any) -> None:
    doc = {"_id": doc_id, "v": 1}
    if doc_id is None:
        doc = {"_id": None}
    assert_error(client.post(f"/{db}", json=doc), 400, "illegal_docid")
    results = client.post(f"/{db}/_bulk_docs", json={"docs": [doc, {"_id": "ok"}]}).json()
    assert results[0]["error"] == "illegal_docid" and results[1]["ok"] is True
    assert all_doc_ids(client, db) == ["ok"]
    assert changed_ids(client, db) == ["ok"]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("_foo", "illegal_docid"),
        ("_design", "illegal_docid"),
        ("_design/", "illegal_docid"),
        ("_bar/baz", "illegal_docid"),
        ("a%00b", "illegal_docid"),
        ("%FF%FE", "bad_request"),
    ],
)
def test_illegal_ids_in_urls(client: httpx.Client, db: str, path: str, error: str) -> None:
    assert_error(client.put(f"/{db}/{path}", json={"v": 1}), 400, error)
    assert_empty(client, db)


def test_unknown_special_members(client: httpx.Client, db: str) -> None:
    response = client.put(f"/{db}/doc", json={"_foo": 1})
    assert_error(response, 400, "doc_validation", "Bad special document member: _foo")
    assert_error(client.put(f"/{db}/doc", json={"_deleted": "yes"}), 400, "doc_validation")
    assert_empty(client, db)


@pytest.mark.parametrize("rev", ["abc", "1-", "-abc", "0-abc", "x-abc", "1-a b", "1-abc\n", 5, []])
def test_malformed_revs(client: httpx.Client, db: str, rev: Any) -> None:
    assert_error(client.put(f"/{db}/doc", json={"_rev": rev}), 400, "bad_request")
    results = client.post(f"/{db}/_bulk_docs", json={"docs": [{"_id": "doc", "_rev": rev}]})
    assert results.json()[0]["error"] == "bad_request"
    replicated = client.post(
        f"/{db}/_bulk_docs", json={"docs": [{"_id": "doc", "_rev": rev}], "new_edits": False}
    )
    assert replicated.json()[0]["error"] == "bad_request"
    if isinstance(rev, str):
        for method in ("GET", "DELETE"):
            response = client.request(method, f"/{db}/doc", params={"rev": rev})
            assert_error(response, 400, "bad_request")
        assert_error(
            client.get(f"/{db}/doc", headers={"If-Match": f'"{rev.strip()}x y"'}),
            400,
            "bad_request",
        )
    assert_empty(client, db)


@pytest.mark.parametrize(
    "doc",
    [
        {"_id": "d", "v": 1},  # no _rev at all
        {"_id": "d", "_rev": "2-b", "_revisions": {"start": 3, "ids": ["b", "a"]}},
        {"_id": "d", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["c", "a"]}},
        {"_id": "d", "_rev": "2-b", "_revisions": {"start": 1, "ids": ["b", "a"]}},
        {"_id": "d", "_rev": "2-b", "_revisions": {"start": 2, "ids": []}},
        {"_id": "d", "_rev": "2-b", "_revisions": {"start": "2", "ids": ["b", "a"]}},
        {"_id": "d", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", 7]}},
        {"_id": "d", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a-b c"]}},
        {"_id": "d", "_rev": "2-b", "_revisions": ["b", "a"]},
    ],
)
def test_bad_replicated_revisions(client: httpx.Client, db: str, doc: dict[str, Any]) -> None:
    response = client.post(
        f"/{db}/_bulk_docs",
        json={"docs": [doc, {"_id": "fine", "_rev": "1-f"}], "new_edits": False},
    )
    assert response.status_code == 201
    assert response.json() == [
        {"id": "d", "error": "bad_request", "reason": response.json()[0]["reason"]}
    ]
    single = client.put(f"/{db}/d", json=doc, params={"new_edits": "false"})
    assert_error(single, 400, "bad_request")
    assert all_doc_ids(client, db) == ["fine"]
    assert_error(client.get(f"/{db}/d"), 404, "not_found", "missing")


@pytest.mark.parametrize("data", ["%%%", "abc", "YWJj=", "YW Jj", 5, None])
def test_bad_inline_attachments(client: httpx.Client, db: str, data: Any) -> None:
    doc = {"_attachments": {"a.txt": {"content_type": "text/plain", "data": data}}}
    assert_error(client.put(f"/{db}/doc", json=doc), 400, "bad_request")
    results = client.post(
        f"/{db}/_bulk_docs", json={"docs": [{"_id": "doc", **doc}, {"_id": "ok"}]}
    ).json()
    assert results[0]["error"] == "bad_request" and results[1]["ok"] is True
    assert all_doc_ids(client, db) == ["ok"]


@pytest.mark.parametrize(
    "attachments",
    [
        "not an object",
        {"a": "not an object"},
        {"a": {"content_type": "text/plain"}},  # neither data, stub nor follows
        {"_a": {"data": b64(b"x")}},
        {"": {"data": b64(b"x")}},
        {"a": {"data": b64(b"x"), "content_type": 5}},
        {"a": {"follows": True, "length": 1}},  # no multipart part to follow
        {"a": {"data": b64(b"x"), "length": "1"}},
    ],
)
def test_bad_attachment_entries(client: httpx.Client, db: str, attachments: Any) -> None:
    assert_error(client.put(f"/{db}/doc", json={"_attachments": attachments}), 400, "bad_request")
    assert_empty(client, db)


def test_stub_of_a_missing_attachment_is_412(client: httpx.Client, db: str) -> None:
    stub = {"_attachments": {"gone.txt": {"stub": True, "content_type": "text/plain"}}}
    assert_error(client.put(f"/{db}/new", json=stub), 412, "missing_stub")
    assert_empty(client, db)
    rev = put(client, f"/{db}/doc", {"_attachments": {"a": {"data": b64(b"a")}}})
    seq = client.get(f"/{db}").json()["update_seq"]
    response = client.put(f"/{db}/doc", json={"_rev": rev, **stub})
    assert_error(response, 412, "missing_stub")
    # As CouchDB's merge_stubs: a stub names its attachment by name and revpos.
    wrong_revpos = {"a": {"stub": True, "revpos": 7}}
    response = client.put(f"/{db}/doc", json={"_rev": rev, "_attachments": wrong_revpos})
    assert_error(response, 412, "missing_stub")
    assert client.get(f"/{db}").json()["update_seq"] == seq
    assert client.get(f"/{db}/doc").json()["_rev"] == rev
    replicated = client.post(
        f"/{db}/_bulk_docs",
        json={
            "docs": [
                {"_id": "r", "_rev": "2-x", "_revisions": {"start": 2, "ids": ["x", "w"]}, **stub}
            ],
            "new_edits": False,
        },
    ).json()
    assert replicated == [
        {"id": "r", "rev": "2-x", "error": "missing_stub", "reason": replicated[0]["reason"]}
    ]
    assert all_doc_ids(client, db) == ["doc"]


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/_bulk_docs", "text/plain"),
        ("POST", "/_bulk_docs", "application/x-www-form-urlencoded"),
        ("POST", "/_bulk_docs", None),
        ("POST", "", "application/x-www-form-urlencoded"),
        ("POST", "", "text/plain"),
        ("PUT", "/doc", "application/x-www-form-urlencoded"),
        ("PUT", "/doc", "image/png"),
        ("PUT", "/doc", "multipart/form-data; boundary=x"),
    ],
)
def test_wrong_content_types_are_415(
    client: httpx.Client, db: str, method: str, path: str, content_type: str | None
) -> None:
    body = b'{"docs": [{"_id": "x"}]}' if "bulk" in path else b'{"_id": "doc"}'
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.request(method, f"/{db}{path}", content=body, headers=headers)
    assert_error(response, 415, "bad_content_type")
    assert_empty(client, db)


def test_stale_revs_are_409_and_change_nothing(client: httpx.Client, db: str) -> None:
    first = put(client, f"/{db}/doc", {"v": 1})
    second = put(client, f"/{db}/doc", {"_rev": first, "v": 2})
    seq = client.get(f"/{db}").json()["update_seq"]
    for response in (
        client.put(f"/{db}/doc", json={"_rev": first, "v": 3}),
        client.put(f"/{db}/doc", json={"_rev": "2-0000", "v": 3}),
        client.put(f"/{db}/doc", json={"_rev": "1-0000", "v": 3}),
        client.put(f"/{db}/doc", json={"v": 3}),
        client.delete(f"/{db}/doc", params={"rev": first}),
        client.put(f"/{db}/doc/att", params={"rev": first}, content=b"x"),
        client.put(f"/{db}/new", json={"_rev": first}),
    ):
        assert_error(response, 409, "conflict", "Document update conflict.")
    assert client.get(f"/{db}").json()["update_seq"] == seq
    assert client.get(f"/{db}/doc").json() == {"_id": "doc", "_rev": second, "v": 2}
    assert all_doc_ids(client, db) == ["doc"]


def test_bad_query_parameters(client: httpx.Client, db: str) -> None:
    put(client, f"/{db}/doc", {})
    assert_error(client.get(f"/{db}/doc", params={"revs": "maybe"}), 400, "bad_request")
    assert_error(client.get(f"/{db}/doc", params={"atts_since": "[1"}), 400, "bad_request")
    assert_error(client.get(f"/{db}/doc", params={"atts_since": '"x"'}), 400, "bad_request")
    assert_error(client.get(f"/{db}/doc", params={"open_revs": '{"a":1}'}), 400, "bad_request")
    assert_error(
        client.get(f"/{db}/_all_docs", params={"startkey": "unquoted"}), 400, "bad_request"
    )


# --------------------------------------------------------------------------- body size limit

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def small_couch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchServer]:
    """A server that accepts request bodies of at most 64 KiB."""
    data_dir: Path = tmp_path_factory.mktemp("small") / "data"
    with threaded_couch(data_dir, max_body=LIMIT) as server:
        yield server


def test_bodies_over_the_limit_are_413(small_couch: CouchServer) -> None:
    with small_couch.client() as client:
        client.put("/small")
        big = {"blob": "x" * (LIMIT + 10)}
        assert_error(client.put("/small/doc", json=big), 413, "too_large")
        assert_error(client.post("/small", json=big), 413, "too_large")
        assert_error(
            client.post("/small/_bulk_docs", json={"docs": [{"_id": "a"}, big]}), 413, "too_large"
        )
        assert_error(client.put("/small/doc/att", content=os.urandom(LIMIT + 1)), 413, "too_large")
        inline = {"_attachments": {"a": {"data": base64.b64encode(os.urandom(LIMIT)).decode()}}}
        assert_error(client.put("/small/doc", json=inline), 413, "too_large")

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"blob": "'
            for _ in range(LIMIT // 1024 + 2):
                yield b"y" * 1024
            yield b'"}'

        response = client.put(
            "/small/doc", content=chunked(), headers={"Content-Type": "application/json"}
        )
        assert_error(response, 413, "too_large")
        assert_empty(client, "small")
        # Just under the limit is fine.
        assert client.put("/small/doc", json={"blob": "x" * (LIMIT - 100)}).status_code == 201
        assert client.put("/small/doc2/att", content=b"z" * (LIMIT - 1)).status_code == 201
        assert sorted(all_doc_ids(client, "small")) == ["doc", "doc2"]


def _in_chunks(body: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    # httpx sends one huge bytes body slowly; chunks with a Content-Length go at full speed.
    view = memoryview(body)
    for start in range(0, len(body), size):
        yield bytes(view[start : start + size])


def test_100_docs_with_3_mb_photos_fit_the_default_limit(couch: CouchServer) -> None:
    photos = [random.Random(n).randbytes(3 * 1024 * 1024) for n in range(100)]
    parts = [
        b'{"_id": "case-%03d", "type": "case", "_attachments": {"photo.jpg": '
        b'{"content_type": "image/jpeg", "data": "%s"}}}' % (n, base64.b64encode(photo))
        for n, photo in enumerate(photos)
    ]
    body = b'{"docs": [' + b", ".join(parts) + b"]}"
    del parts
    assert len(body) > 400 * 1024 * 1024
    with couch.client() as client:
        client.put("/big")
        response = client.post(
            "/big/_bulk_docs",
            content=_in_chunks(body),
            headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
            timeout=300,
        )
        del body
        assert response.status_code == 201, response.text[:500]
        assert all(r.get("ok") for r in response.json())
        rows = client.get("/big/_all_docs", params={"include_docs": "true"}).json()["rows"]
        assert len(rows) == 100
        for n, row in enumerate(rows):
            stub = row["doc"]["_attachments"]["photo.jpg"]
            assert stub["length"] == len(photos[n]) and stub["digest"] == md5_digest(photos[n])
        assert client.get("/big/case-042/photo.jpg").content == photos[42]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/db%FF"),
        ("GET", "/%FF"),
        ("GET", "/{db}/%FF"),
        ("PUT", "/{db}/%FF"),
        ("GET", "/{db}/%ED%A0%80"),
        ("GET", "/{db}/doc/%FF"),
        ("PUT", "/{db}/doc/%FF"),
        ("GET", "/{db}/_local/%FF"),
        ("PUT", "/{db}/_local/%FF"),
        ("GET", "/{db}/_design/%FF"),
    ],
)
def test_urls_that_are_not_utf8(client: httpx.Client, db: str, method: str, path: str) -> None:
    response = client.request(method, path.format(db=db), json={"v": 1})
    assert_error(response, 400, "bad_request")
    assert_empty(client, db)


def test_malformed_revs_on_attachments(client: httpx.Client, db: str) -> None:
    put(client, f"/{db}/doc", {"_attachments": {"a": {"data": b64(b"a")}}})
    seq = client.get(f"/{db}").json()["update_seq"]
    for method in ("GET", "PUT", "DELETE"):
        response = client.request(method, f"/{db}/doc/a", params={"rev": "garbage"}, content=b"x")
        assert_error(response, 400, "bad_request")
    assert client.get(f"/{db}").json()["update_seq"] == seq
