"""Standalone attachments: ``GET/HEAD/PUT/DELETE /{db}/{docid}/{name}``, names with slashes,
``?rev=`` and ``If-Match``, and what the document then says about them."""

from __future__ import annotations

import os

import httpx

from tests.integration.couch import assert_error, b64, md5_digest, put
from tests.servers import CouchServer


def test_put_attachment_creates_the_document(client: httpx.Client, db: str) -> None:
    data = b"hello attachment"
    response = client.put(
        f"/{db}/doc/hello.txt", content=data, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True and body["id"] == "doc" and body["rev"].startswith("1-")
    raw = client.get(f"/{db}/doc/hello.txt")
    assert raw.status_code == 200 and raw.content == data
    assert raw.headers["content-type"] == "text/plain"
    assert raw.headers["content-length"] == str(len(data))
    doc = client.get(f"/{db}/doc").json()
    assert doc["_attachments"]["hello.txt"] == {
        "content_type": "text/plain",
        "revpos": 1,
        "digest": md5_digest(data),
        "length": len(data),
        "stub": True,
    }
    head = client.head(f"/{db}/doc/hello.txt")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["etag"] == raw.headers["etag"]


def test_attachment_edits_need_the_current_rev(client: httpx.Client, db: str) -> None:
    rev1 = put(client, f"/{db}/doc", {"kept": "body"})
    assert_error(client.put(f"/{db}/doc/a.bin", content=b"a"), 409, "conflict")
    stale = client.put(f"/{db}/doc/a.bin", params={"rev": "1-stale"}, content=b"a")
    assert_error(stale, 409, "conflict")
    rev2 = client.put(f"/{db}/doc/a.bin", params={"rev": rev1}, content=b"a").json()["rev"]
    rev3 = client.put(f"/{db}/doc/b.bin", headers={"If-Match": f'"{rev2}"'}, content=b"b").json()[
        "rev"
    ]
    doc = client.get(f"/{db}/doc").json()
    assert doc["kept"] == "body" and doc["_rev"] == rev3
    assert doc["_attachments"]["a.bin"]["revpos"] == 2
    assert doc["_attachments"]["b.bin"]["revpos"] == 3
    # An attachment of an older revision stays readable by rev.
    replaced = client.put(f"/{db}/doc/a.bin", params={"rev": rev3}, content=b"A2")
    rev4 = replaced.json()["rev"]
    assert client.get(f"/{db}/doc/a.bin").content == b"A2"
    assert client.get(f"/{db}/doc/a.bin", params={"rev": rev3}).content == b"a"
    assert client.get(f"/{db}/doc").json()["_attachments"]["a.bin"]["revpos"] == 4
    # A document that does not exist has no rev to attach to.
    assert_error(client.put(f"/{db}/ghost/a", params={"rev": rev4}, content=b"x"), 409, "conflict")


def test_delete_attachment(client: httpx.Client, db: str) -> None:
    rev = client.put(f"/{db}/doc/a", content=b"a").json()["rev"]
    rev = client.put(f"/{db}/doc/b", params={"rev": rev}, content=b"b").json()["rev"]
    assert_error(client.delete(f"/{db}/doc/a"), 409, "conflict")
    assert_error(client.delete(f"/{db}/doc/zzz", params={"rev": rev}), 404, "not_found")
    deleted = client.delete(f"/{db}/doc/a", params={"rev": rev})
    assert deleted.status_code == 200 and deleted.json()["rev"].startswith("3-")
    assert_error(client.get(f"/{db}/doc/a"), 404, "not_found")
    assert set(client.get(f"/{db}/doc").json()["_attachments"]) == {"b"}
    assert client.get(f"/{db}/doc/a", params={"rev": rev}).content == b"a"


def test_names_with_slashes(client: httpx.Client, db: str) -> None:
    rev = client.put(f"/{db}/doc/dir/sub/file.txt", content=b"nested").json()["rev"]
    assert client.get(f"/{db}/doc/dir/sub/file.txt").content == b"nested"
    assert client.get(f"/{db}/doc/dir%2Fsub%2Ffile.txt").content == b"nested"
    assert list(client.get(f"/{db}/doc").json()["_attachments"]) == ["dir/sub/file.txt"]
    rev = client.put(f"/{db}/doc/sp%20ace%2F%C3%BC.txt", params={"rev": rev}, content=b"u").json()[
        "rev"
    ]
    assert client.get(f"/{db}/doc/sp ace/ü.txt").content == b"u"
    deleted = client.delete(f"/{db}/doc/dir/sub/file.txt", params={"rev": rev})
    assert deleted.status_code == 200
    assert list(client.get(f"/{db}/doc").json()["_attachments"]) == ["sp ace/ü.txt"]


def test_missing_and_deleted(client: httpx.Client, db: str) -> None:
    assert_error(client.get(f"/{db}/ghost/a"), 404, "not_found", "missing")
    rev = client.put(f"/{db}/doc/a", content=b"a").json()["rev"]
    assert_error(client.get(f"/{db}/doc/b"), 404, "not_found")
    assert_error(client.get(f"/{db}/doc/a", params={"rev": "7-x"}), 404, "not_found")
    client.delete(f"/{db}/doc", params={"rev": rev})
    assert_error(client.get(f"/{db}/doc/a"), 404, "not_found", "deleted")


def test_binary_bytes_round_trip(client: httpx.Client, db: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    response = client.put(
        f"/{db}/doc/photo.jpg", content=data, headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 201
    got = client.get(f"/{db}/doc/photo.jpg")
    assert got.content == data and got.headers["content-type"] == "image/jpeg"
    inline = client.get(f"/{db}/doc", params={"attachments": "true"}).json()
    assert inline["_attachments"]["photo.jpg"]["data"] == b64(data)
    assert inline["_attachments"]["photo.jpg"]["digest"] == md5_digest(data)


def test_if_none_match_on_the_digest(client: httpx.Client, db: str) -> None:
    client.put(f"/{db}/doc/a", content=b"cached")
    etag = client.get(f"/{db}/doc/a").headers["etag"]
    assert client.get(f"/{db}/doc/a", headers={"If-None-Match": etag}).status_code == 304


def test_content_md5_is_checked(client: httpx.Client, db: str) -> None:
    wrong = client.put(f"/{db}/doc/a", content=b"abc", headers={"Content-MD5": b64(b"x" * 16)})
    assert_error(wrong, 400, "content_md5_mismatch")
    assert_error(client.get(f"/{db}/doc"), 404, "not_found", "missing")
    right = md5_digest(b"abc").removeprefix("md5-")
    assert (
        client.put(f"/{db}/doc/a", content=b"abc", headers={"Content-MD5": right}).status_code
        == 201
    )


def test_attachment_names_may_not_start_with_underscore(client: httpx.Client, db: str) -> None:
    assert_error(client.put(f"/{db}/doc/_bad", content=b"x"), 400, "bad_request")
    assert_error(client.get(f"/{db}/doc"), 404, "not_found", "missing")


def test_lost_bytes_are_a_500_before_any_body(couch: CouchServer) -> None:
    with couch.client() as client:
        client.put("/db")
        client.put("/db/doc/a", content=b"precious bytes")
        for path in (couch.data_dir / "blobs" / "sha256").glob("*/*/*"):
            path.unlink()
        response = client.get("/db/doc/a")
        assert_error(response, 500, "unknown_error")
        assert client.head("/db/doc/a").status_code == 200
