"""``multipart/related`` uploads as Apache CouchDB's replicator sends them (``PUT
?new_edits=false``, attachments that follow, gzip-encoded text), and the multipart replies:
``multipart/related`` for a document with ``Accept``, ``multipart/mixed`` for ``open_revs``."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from typing import Any

import httpx

from tests.integration.couch import assert_empty, assert_error, b64, md5_digest


def _multipart(doc: dict[str, Any], parts: list[tuple[dict[str, str], bytes]]) -> tuple[bytes, str]:
    """A body in the exact layout of CouchDB's ``couch_doc:doc_to_multi_part_stream``."""
    boundary = uuid.uuid4().hex
    out = [b"--" + boundary.encode(), b"\r\nContent-Type: application/json\r\n\r\n"]
    out += [json.dumps(doc).encode(), b"\r\n--" + boundary.encode()]
    for headers, data in parts:
        for key, value in headers.items():
            out.append(f"\r\n{key}: {value}".encode())
        out += [b"\r\n\r\n", data, b"\r\n--" + boundary.encode()]
    out.append(b"--")
    return b"".join(out), f'multipart/related; boundary="{boundary}"'


def _att_headers(
    name: str, content_type: str, data: bytes, gzipped: bool = False
) -> dict[str, str]:
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Type": content_type,
        "Content-Length": str(len(data)),
    }
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return headers


def _parse(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart body into (lower-cased headers, content) parts."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    pieces = body.split(b"--" + boundary)
    assert pieces[-1].strip() in (b"--", b""), pieces[-1][:20]
    parts = []
    for piece in pieces[1:-1]:
        piece = piece.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = piece.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        parts.append((headers, content))
    return parts


PHOTO = os.urandom(70_000)
NOTES = b"field notes, very compressible. " * 400


def _replicated_upload(client: httpx.Client, db: str) -> dict[str, Any]:
    """What CouchDB's replicator PUTs for a doc at 2-b whose notes.txt CouchDB stored gzipped."""
    notes_gz = gzip.compress(NOTES)
    doc = {
        "_id": "case",
        "_rev": "2-bbbb",
        "_revisions": {"start": 2, "ids": ["bbbb", "aaaa"]},
        "title": "replicated",
        "_attachments": {
            "photo.jpg": {
                "content_type": "image/jpeg",
                "revpos": 1,
                "digest": md5_digest(PHOTO),
                "length": len(PHOTO),
                "follows": True,
            },
            "notes.txt": {
                "content_type": "text/plain",
                "revpos": 2,
                "digest": md5_digest(notes_gz),
                "length": len(NOTES),
                "follows": True,
                "encoding": "gzip",
                "encoded_length": len(notes_gz),
            },
        },
    }
    body, content_type = _multipart(
        doc,
        [
            (_att_headers("photo.jpg", "image/jpeg", PHOTO), PHOTO),
            (_att_headers("notes.txt", "text/plain", notes_gz, gzipped=True), notes_gz),
        ],
    )
    response = client.put(
        f"/{db}/case",
        params={"new_edits": "false"},
        content=body,
        headers={"Content-Type": content_type, "Accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"ok": True, "id": "case", "rev": "2-bbbb"}
    return doc


def test_replicator_upload_with_following_attachments(client: httpx.Client, db: str) -> None:
    sent = _replicated_upload(client, db)
    assert client.get(f"/{db}/case/photo.jpg").content == PHOTO
    notes = client.get(f"/{db}/case/notes.txt")
    assert notes.content == NOTES and notes.headers["content-type"] == "text/plain"
    doc = client.get(f"/{db}/case", params={"revs": "true"}).json()
    assert doc["title"] == "replicated"
    assert doc["_revisions"] == {"start": 2, "ids": ["bbbb", "aaaa"]}
    atts = doc["_attachments"]
    assert atts["photo.jpg"]["revpos"] == 1 and atts["notes.txt"]["revpos"] == 2
    assert atts["photo.jpg"]["digest"] == md5_digest(PHOTO)
    assert atts["notes.txt"]["length"] == len(NOTES)
    # Stored decoded, so its digest is that of the decoded bytes (CouchDB's was of the gzip).
    assert atts["notes.txt"]["digest"] == md5_digest(NOTES)
    assert sent["_attachments"]["notes.txt"]["digest"] != md5_digest(NOTES)
    assert notes.headers["content-md5"] == md5_digest(NOTES).removeprefix("md5-")


def test_replicator_next_revision_with_stubs(client: httpx.Client, db: str) -> None:
    sent = _replicated_upload(client, db)
    extra = b"third revision attachment"
    doc = {
        "_id": "case",
        "_rev": "3-cccc",
        "_revisions": {"start": 3, "ids": ["cccc", "bbbb", "aaaa"]},
        "title": "edited",
        "_attachments": {
            "photo.jpg": {**sent["_attachments"]["photo.jpg"], "stub": True},
            "notes.txt": {**sent["_attachments"]["notes.txt"], "stub": True},
            "extra.bin": {
                "content_type": "application/octet-stream",
                "revpos": 3,
                "digest": md5_digest(extra),
                "length": len(extra),
                "follows": True,
            },
        },
    }
    for att in ("photo.jpg", "notes.txt"):
        del doc["_attachments"][att]["follows"]
    body, content_type = _multipart(
        doc, [(_att_headers("extra.bin", "application/octet-stream", extra), extra)]
    )
    response = client.put(
        f"/{db}/case", params={"new_edits": "false"}, content=body,
        headers={"Content-Type": content_type},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    got = client.get(f"/{db}/case", params={"attachments": "true"}).json()
    assert got["_rev"] == "3-cccc" and got["title"] == "edited"
    assert got["_attachments"]["photo.jpg"]["data"] == b64(PHOTO)
    assert got["_attachments"]["notes.txt"]["data"] == b64(NOTES)
    assert got["_attachments"]["extra.bin"]["data"] == b64(extra)


def test_multipart_put_with_new_edits(client: httpx.Client, db: str) -> None:
    data = b"plain upload"
    doc = {
        "kind": "new",
        "_attachments": {
            "a.txt": {"content_type": "text/plain", "follows": True, "length": len(data)}
        },
    }
    body, content_type = _multipart(doc, [(_att_headers("a.txt", "text/plain", data), data)])
    response = client.put(f"/{db}/fresh", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 201 and response.json()["rev"].startswith("1-")
    assert client.get(f"/{db}/fresh/a.txt").content == data
    assert client.get(f"/{db}/fresh").json()["_attachments"]["a.txt"]["revpos"] == 1


def test_get_multipart_related(client: httpx.Client, db: str) -> None:
    _replicated_upload(client, db)
    response = client.get(
        f"/{db}/case",
        params={"attachments": "true", "revs": "true"},
        headers={"Accept": "multipart/related"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/related")
    assert response.headers["etag"] == '"2-bbbb"'
    parts = _parse(response.content, response.headers["content-type"])
    assert parts[0][0]["content-type"].startswith("application/json")
    doc = json.loads(parts[0][1])
    assert doc["_rev"] == "2-bbbb" and doc["_revisions"]["ids"] == ["bbbb", "aaaa"]
    following = [name for name, att in doc["_attachments"].items() if att.get("follows")]
    assert following == list(doc["_attachments"]) and len(parts) == 1 + len(following)
    content = {name: parts[1 + i][1] for i, name in enumerate(following)}
    assert content == {"photo.jpg": PHOTO, "notes.txt": NOTES}
    assert (
        'filename="photo.jpg"' in parts[1 + following.index("photo.jpg")][0]["content-disposition"]
    )
    # With atts_since, only newer attachments follow; the others are stubs.
    since = client.get(
        f"/{db}/case",
        params={"attachments": "true", "atts_since": '["1-aaaa"]'},
        headers={"Accept": "multipart/related"},
    )
    parts = _parse(since.content, since.headers["content-type"])
    doc = json.loads(parts[0][1])
    assert doc["_attachments"]["photo.jpg"]["stub"] is True
    assert doc["_attachments"]["notes.txt"]["follows"] is True
    assert [p[1] for p in parts[1:]] == [NOTES]


def test_open_revs_as_multipart_mixed(client: httpx.Client, db: str) -> None:
    _replicated_upload(client, db)
    response = client.get(
        f"/{db}/case",
        params={"open_revs": '["2-bbbb","9-missing"]', "revs": "true", "attachments": "true"},
        headers={"Accept": "multipart/mixed"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed")
    parts = _parse(response.content, response.headers["content-type"])
    assert len(parts) == 2
    doc = json.loads(parts[0][1])
    assert doc["_rev"] == "2-bbbb" and doc["_revisions"]["start"] == 2
    assert doc["_attachments"]["photo.jpg"]["data"] == b64(PHOTO)
    assert 'error="true"' in parts[1][0]["content-type"]
    assert json.loads(parts[1][1]) == {"missing": "9-missing"}


def _bad_upload(client: httpx.Client, db: str, body: bytes, content_type: str) -> httpx.Response:
    return client.put(
        f"/{db}/bad", params={"new_edits": "false"}, content=body,
        headers={"Content-Type": content_type},
    )  # fmt: skip


def test_malformed_multipart_uploads_store_nothing(client: httpx.Client, db: str) -> None:
    data = b"0123456789"
    att = {"content_type": "text/plain", "follows": True, "length": len(data)}
    doc = {"_id": "bad", "_rev": "1-a", "_attachments": {"a": att}}
    part = (_att_headers("a", "text/plain", data), data)
    # one part short
    body, ctype = _multipart(doc, [])
    assert_error(_bad_upload(client, db, body, ctype), 400, "bad_request")
    # a length that does not match the part
    body, ctype = _multipart({**doc, "_attachments": {"a": {**att, "length": 99}}}, [part])
    assert_error(_bad_upload(client, db, body, ctype), 400, "bad_request")
    # a digest that does not match the bytes
    wrong = {"a": {**att, "digest": md5_digest(b"other")}}
    body, ctype = _multipart({**doc, "_attachments": wrong}, [part])
    assert_error(_bad_upload(client, db, body, ctype), 400, "content_md5_mismatch")
    # gzip that is not gzip
    gz = {"a": {**att, "encoding": "gzip"}}
    body, ctype = _multipart({**doc, "_attachments": gz}, [part])
    assert_error(_bad_upload(client, db, body, ctype), 400, "bad_request")
    # truncated body, missing boundary, a first part that is not JSON
    body, ctype = _multipart(doc, [part])
    assert_error(_bad_upload(client, db, body[: len(body) // 2], ctype), 400, "bad_request")
    assert_error(_bad_upload(client, db, body, "multipart/related"), 400, "bad_request")
    assert_error(
        _bad_upload(client, db, b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--",
                    'multipart/related; boundary="x"'),
        400,
        "bad_request",
    )  # fmt: skip
    # invalid JSON in the document part
    broken = body.replace(b'"_id": "bad"', b'"_id": "bad",,')
    assert_error(_bad_upload(client, db, broken, ctype), 400, "bad_request")
    assert_empty(client, db)
