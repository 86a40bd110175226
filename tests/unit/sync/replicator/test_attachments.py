"""Which attachment bytes must cross the wire, and the multipart/related upload."""

from __future__ import annotations

import base64
import hashlib

import orjson

from fieldhall.sync.http.multipart import parse_multipart
from fieldhall.sync.replicator.attachments import (
    ancestors_on_path,
    for_bulk_docs,
    inline_size,
    known_generation,
    missing_attachments,
    revision_path,
    to_multipart,
)

DOC = {
    "_id": "d",
    "_rev": "3-c",
    "_revisions": {"start": 3, "ids": ["c", "b", "a"]},
    "_attachments": {
        "old.jpg": {"stub": True, "revpos": 1, "digest": "md5-x", "length": 5},
        "mid.txt": {"stub": True, "revpos": 2, "digest": "md5-y", "length": 3},
        "new.txt": {"stub": True, "revpos": 3, "digest": "md5-z", "length": 3},
    },
}


def test_path_and_known_generation() -> None:
    assert revision_path(DOC) == ("3-c", "2-b", "1-a")
    assert revision_path({"_rev": "1-x"}) == ("1-x",)
    # Only ancestors on this revision's own path count, not other branches' leaves.
    assert ancestors_on_path(DOC, ["2-b", "2-other", "5-z"]) == ("2-b",)
    assert known_generation(DOC, ["2-other", "1-a"]) == 1
    assert known_generation(DOC, []) == 0


def test_missing_attachments_follow_revpos() -> None:
    assert missing_attachments(DOC, []) == ["old.jpg", "mid.txt", "new.txt"]
    assert missing_attachments(DOC, ["1-a"]) == ["mid.txt", "new.txt"]
    assert missing_attachments(DOC, ["2-b"]) == ["new.txt"]
    assert missing_attachments(DOC, ["2-zz"]) == ["old.jpg", "mid.txt", "new.txt"]
    inline = {**DOC, "_attachments": {"x": {"data": "aGk=", "revpos": 3}}}
    assert missing_attachments(inline, []) == []


def test_inline_size_and_bulk_docs_shape() -> None:
    data = b"\x00" * 1000
    doc = {
        "_id": "d",
        "_rev": "1-a",
        "_attachments": {
            "a": {
                "content_type": "x/y",
                "revpos": 1,
                "digest": "md5-q",
                "data": base64.b64encode(data).decode(),
            },
            "s": {"stub": True, "revpos": 1, "digest": "md5-r"},
        },
    }
    assert inline_size(doc) == 1000
    shaped = for_bulk_docs(doc)
    assert shaped["_attachments"]["a"].keys() == {"content_type", "revpos", "data"}
    assert shaped["_attachments"]["s"] == doc["_attachments"]["s"]


def test_multipart_parts_follow_in_order_with_raw_bytes() -> None:
    one, two = b"\x00\x01binary\r\n--", "ü".encode() * 10
    doc = {
        "_id": "a/b",
        "_rev": "2-x",
        "_revisions": {"start": 2, "ids": ["x", "w"]},
        "_attachments": {
            "one.bin": {
                "content_type": "application/octet-stream",
                "revpos": 2,
                "data": base64.b64encode(one).decode(),
            },
            "kept": {"stub": True, "revpos": 1, "digest": "md5-k", "length": 1},
            "two ü.txt": {
                "content_type": "text/plain",
                "revpos": 2,
                "data": base64.b64encode(two).decode(),
            },
        },
    }
    content_type, body = to_multipart(doc)
    assert content_type.startswith("multipart/related; boundary=")
    boundary = content_type.split('boundary="', 1)[1].rstrip('"')
    parts = parse_multipart(body, boundary)
    sent = orjson.loads(parts[0].body)
    assert sent["_revisions"] == doc["_revisions"]
    atts = sent["_attachments"]
    assert atts["kept"] == doc["_attachments"]["kept"]
    assert atts["one.bin"]["follows"] is True and atts["one.bin"]["length"] == len(one)
    md5 = base64.b64encode(hashlib.md5(two).digest()).decode()
    assert atts["two ü.txt"]["digest"] == "md5-" + md5 and "data" not in atts["two ü.txt"]
    assert [p.body for p in parts[1:]] == [one, two]
