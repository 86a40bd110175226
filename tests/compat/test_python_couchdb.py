"""The Python ``couchdb`` package (1.2) works against ``fieldhall couch serve``.

Databases, document CRUD with conflicts, attachments, ``_changes`` (normal and a bounded
continuous read), ``_all_docs`` through ``db.view``, bulk updates and revisions, all through
the package's public API as an operator's script would use it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import couchdb
import pytest
from couchdb import http

from tests.servers import ADMIN, CouchProcess

SOCKET_TIMEOUT = 15  # seconds; bounds every read, including continuous feeds


@pytest.fixture(scope="module")
def process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchProcess]:
    couch = CouchProcess(tmp_path_factory.mktemp("python-couchdb") / "data").start()
    try:
        yield couch
    finally:
        couch.stop()


@pytest.fixture
def server(process: CouchProcess) -> couchdb.Server:
    return couchdb.Server(process.server.auth_url, session=http.Session(timeout=SOCKET_TIMEOUT))


@pytest.fixture
def db(server: couchdb.Server) -> Iterator[couchdb.Database]:
    name = f"py-{uuid.uuid4().hex[:10]}"
    database = server.create(name)
    yield database
    if name in server:
        del server[name]


def md5_digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def error_of(exc: http.HTTPError) -> tuple[str, str]:
    """The (error, reason) pair the package extracted from the JSON error body."""
    error, reason = exc.args[0]
    return error, reason


# --- server and databases ---------------------------------------------------------------


def test_server_version_uuids_and_database_lifecycle(server: couchdb.Server) -> None:
    assert server.version()
    uuids = server.uuids(5)
    assert len(set(uuids)) == 5
    name = f"py-{uuid.uuid4().hex[:10]}"
    assert name not in server
    created = server.create(name)
    assert created.name == name
    assert name in server and name in list(server)
    assert server[name].info()["db_name"] == name
    with pytest.raises(http.PreconditionFailed) as exists:
        server.create(name)
    assert error_of(exists.value)[0] == "file_exists"
    del server[name]
    assert name not in server
    with pytest.raises(http.ResourceNotFound):
        server[name]
    with pytest.raises(http.ResourceNotFound):
        del server[name]


def test_wrong_password_is_unauthorized(process: CouchProcess) -> None:
    user, _ = ADMIN
    url = process.url.replace("http://", f"http://{user}:wrong@")
    with pytest.raises(http.Unauthorized) as refused:
        list(couchdb.Server(url, session=http.Session(timeout=SOCKET_TIMEOUT)))
    assert error_of(refused.value)[0] == "unauthorized"


def test_cookie_session(process: CouchProcess) -> None:
    user, password = ADMIN
    server = couchdb.Server(process.url, session=http.Session(timeout=SOCKET_TIMEOUT))
    with pytest.raises(http.Unauthorized):
        list(server)  # no credentials at all
    _, headers, body = server.resource.post_json("_session", {"name": user, "password": password})
    assert body["ok"] is True
    # Server.login() returns the *first* response header, assuming it is Set-Cookie, which
    # is not true of CouchDB 2.3+ either (djc/couchdb-python#334); read it by name.
    cookie = headers["Set-Cookie"].split(";")[0]
    assert cookie.startswith("AuthSession=")
    server.resource.headers["Cookie"] = cookie
    _, _, session = server.resource.get_json("_session")
    assert session["userCtx"]["name"] == user and "_admin" in session["userCtx"]["roles"]
    name = f"py-{uuid.uuid4().hex[:10]}"
    server.create(name)
    assert name in list(server)
    del server[name]
    assert server.logout(cookie.split("=", 1)[1])


# --- documents -------------------------------------------------------------------------


def test_document_create_read_update_delete(db: couchdb.Database) -> None:
    doc_id, rev = db.save({"type": "case", "n": 1})  # POST: server-assigned id
    assert rev.startswith("1-")
    assert db[doc_id]["n"] == 1

    db["case-1"] = {"type": "case", "n": 1}  # PUT
    doc = db["case-1"]
    assert (doc.id, doc.rev[:2], doc["n"]) == ("case-1", "1-", 1)

    doc["n"] = 2
    _, rev2 = db.save(doc)
    assert rev2.startswith("2-") and doc.rev == rev2
    assert db.get("case-1")["n"] == 2

    db.delete(doc)
    assert db.get("case-1") is None
    assert "case-1" not in db
    with pytest.raises(http.ResourceNotFound) as deleted:
        db["case-1"]
    assert error_of(deleted.value) == ("not_found", "deleted")
    with pytest.raises(http.ResourceNotFound) as missing:
        db["never-was"]
    assert error_of(missing.value) == ("not_found", "missing")
    assert db.info()["doc_count"] == 1


def test_stale_revisions_raise_resource_conflict(db: couchdb.Database) -> None:
    db["doc"] = {"v": 1}
    first = db["doc"]
    second = db["doc"]
    second["v"] = 2
    db.save(second)
    first["v"] = "stale"
    with pytest.raises(http.ResourceConflict) as conflict:
        db.save(first)
    assert error_of(conflict.value)[0] == "conflict"
    with pytest.raises(http.ResourceConflict):
        db.delete(first)
    with pytest.raises(http.ResourceConflict):
        db["doc"] = {"v": "no rev"}
    assert db["doc"]["v"] == 2


@pytest.mark.parametrize("doc_id", ["a/b", "with space", "ünïcødé-文書", "_design/app", "q?x=1&y"])
def test_awkward_document_ids(db: couchdb.Database, doc_id: str) -> None:
    db[doc_id] = {"id_is": doc_id}
    doc = db[doc_id]
    assert doc.id == doc_id and doc["id_is"] == doc_id
    db.delete(doc)
    assert db.get(doc_id) is None


# --- attachments -----------------------------------------------------------------------


def test_attachments_put_get_delete(db: couchdb.Database) -> None:
    photo = bytes(range(256)) * 800  # 200 KB of binary
    note = "Zählerstand 1234 ✓\n" * 50
    db["visit"] = {"type": "visit"}
    doc = db["visit"]
    db.put_attachment(doc, photo, "photo 1.jpg", "image/jpeg")
    # Bytes, not str: couchdb 1.2 sends len(str) as Content-Length but UTF-8 bytes as the body.
    db.put_attachment(doc, note.encode(), "note.txt", "text/plain")
    assert doc.rev.startswith("3-")

    stubs = db["visit"]["_attachments"]
    assert set(stubs) == {"photo 1.jpg", "note.txt"}
    assert stubs["photo 1.jpg"]["stub"] is True
    assert stubs["photo 1.jpg"]["length"] == len(photo)
    assert stubs["photo 1.jpg"]["digest"] == md5_digest(photo)
    assert stubs["photo 1.jpg"]["content_type"] == "image/jpeg"
    assert stubs["photo 1.jpg"]["revpos"] == 2
    assert stubs["note.txt"]["length"] == len(note.encode())

    assert db.get_attachment(doc, "photo 1.jpg").read() == photo
    assert db.get_attachment("visit", "note.txt").read().decode() == note

    inline = db.get("visit", attachments=True)["_attachments"]["photo 1.jpg"]
    assert base64.b64decode(inline["data"]) == photo

    replaced = b"\x00\xff" * 3000
    db.put_attachment(doc, replaced, "photo 1.jpg", "image/jpeg")
    assert db.get_attachment(doc, "photo 1.jpg").read() == replaced

    db.delete_attachment(doc, "photo 1.jpg")
    assert doc.rev.startswith("5-")
    assert db.get_attachment(doc, "photo 1.jpg") is None
    assert set(db["visit"]["_attachments"]) == {"note.txt"}
    assert db.get_attachment("no-such-doc", "x.bin", default="absent") == "absent"


def test_attachment_write_with_stale_rev_conflicts(db: couchdb.Database) -> None:
    db["doc"] = {}
    stale = db["doc"]
    db.put_attachment(db["doc"], b"one", "a.bin", "application/octet-stream")
    with pytest.raises(http.ResourceConflict):
        db.put_attachment(stale, b"two", "a.bin", "application/octet-stream")
    assert db.get_attachment("doc", "a.bin").read() == b"one"


# --- changes ---------------------------------------------------------------------------


def test_changes_normal_feed(db: couchdb.Database) -> None:
    for i in range(5):
        db[f"d{i}"] = {"i": i}
    changes = db.changes()
    assert [row["id"] for row in changes["results"]] == [f"d{i}" for i in range(5)]
    assert all(row["changes"][0]["rev"].startswith("1-") for row in changes["results"])
    since = changes["last_seq"]

    doc = db["d1"]
    doc["i"] = 10
    db.save(doc)
    db.delete(db["d2"])
    later = db.changes(since=since, include_docs=True)
    rows = {row["id"]: row for row in later["results"]}
    assert set(rows) == {"d1", "d2"}
    assert rows["d1"]["doc"]["i"] == 10
    assert rows["d2"]["deleted"] is True

    limited = db.changes(limit=2)
    assert len(limited["results"]) == 2
    assert db.changes(since=later["last_seq"])["results"] == []

    # A list would be sent as repeated parameters; CouchDB wants one JSON array.
    by_ids = db.changes(filter="_doc_ids", doc_ids=json.dumps(["d0", "d3"]))
    assert sorted(row["id"] for row in by_ids["results"]) == ["d0", "d3"]
    by_selector = db.changes(filter="_selector", _selector={"selector": {"i": {"$gte": 3}}})
    assert sorted(row["id"] for row in by_selector["results"]) == ["d1", "d3", "d4"]


def test_changes_continuous_feed_bounded_read(db: couchdb.Database) -> None:
    for i in range(3):
        db[f"before-{i}"] = {"i": i}
    since = db.changes()["last_seq"]

    def write_later() -> None:
        time.sleep(0.3)
        for i in range(3):
            db[f"live-{i}"] = {"i": i}

    writer = threading.Thread(target=write_later)
    writer.start()
    seen: list[str] = []
    started = time.monotonic()
    # timeout= makes the server end an idle feed; the session's socket timeout bounds reads.
    feed = db.changes(feed="continuous", since=since, heartbeat=1000, timeout=10000)
    for row in feed:
        assert "last_seq" not in row, f"feed ended before the live changes: {row}"
        seen.append(row["id"])
        if len(seen) == 3 or time.monotonic() - started > 10:
            break
    writer.join(timeout=10)
    assert seen == ["live-0", "live-1", "live-2"]
    # Well before the 10 s feed timeout: the feed streams each change as it happens.
    assert time.monotonic() - started < 5

    # From the start, a continuous feed with a short timeout lists everything, then ends
    # with a last_seq line.
    started = time.monotonic()
    rows = list(db.changes(feed="continuous", timeout=300))
    assert [row["id"] for row in rows[:-1]] == [f"before-{i}" for i in range(3)] + seen
    assert "last_seq" in rows[-1]
    assert time.monotonic() - started < 5


# --- _all_docs, bulk updates, revisions -------------------------------------------------


def test_all_docs_view(db: couchdb.Database) -> None:
    db.update([{"_id": f"doc-{i:02d}", "i": i} for i in range(12)])
    db["_design/app"] = {"views": {}}
    db.delete(db["doc-05"])
    db.resource.put_json("_local/checkpoint", body={"last_seq": 1})

    rows = db.view("_all_docs")
    ids = [row.id for row in rows]
    assert ids == ["_design/app"] + [f"doc-{i:02d}" for i in range(12) if i != 5]
    assert rows.total_rows == 12
    assert all(row.key == row.id and row.value["rev"].startswith("1-") for row in rows)

    with_docs = db.view("_all_docs", include_docs=True, startkey="doc-00", endkey="doc-03")
    assert [row.doc["i"] for row in with_docs] == [0, 1, 2, 3]
    assert [row.id for row in db.view("_all_docs", limit=2, skip=1)] == ["doc-00", "doc-01"]
    descending = db.view("_all_docs", descending=True, limit=2)
    assert [row.id for row in descending] == ["doc-11", "doc-10"]

    by_keys = db.view("_all_docs", keys=["doc-01", "doc-05", "nope"])
    as_list: list[Any] = list(by_keys)
    assert as_list[0].id == "doc-01"
    assert as_list[1].value["deleted"] is True
    assert as_list[2].error == "not_found"


def test_bulk_update(db: couchdb.Database) -> None:
    results = db.update([{"_id": f"b{i}", "i": i} for i in range(50)] + [{"no_id": True}])
    assert all(ok for ok, _, _ in results) and len(results) == 51
    assert db.info()["doc_count"] == 51

    docs = [db[f"b{i}"] for i in range(3)]
    stale = dict(docs[0])
    docs[0]["i"] = 100
    docs[1]["_deleted"] = True
    assert all(ok for ok, _, _ in db.update(docs))
    assert db["b0"]["i"] == 100 and db.get("b1") is None

    stale["i"] = "stale"
    mixed = db.update([stale, {"_id": "fresh"}])
    (ok_stale, id_stale, exc), (ok_fresh, id_fresh, rev_fresh) = mixed
    assert (ok_stale, id_stale, ok_fresh, id_fresh) == (False, "b0", True, "fresh")
    assert isinstance(exc, http.ResourceConflict)
    assert rev_fresh.startswith("1-") and db["fresh"]


def test_revisions_and_conflicts(db: couchdb.Database) -> None:
    db["doc"] = {"step": 0}
    for step in (1, 2, 3):
        doc = db["doc"]
        doc["step"] = step
        db.save(doc)
    revisions = list(db.revisions("doc"))
    assert [r["step"] for r in revisions] == [3, 2, 1, 0]
    assert [int(r.rev.split("-")[0]) for r in revisions] == [4, 3, 2, 1]
    assert db.get("doc", rev=revisions[2].rev)["step"] == 1

    revs_info = db.get("doc", revs_info=True)["_revs_info"]
    assert [info["rev"] for info in revs_info] == [r.rev for r in revisions]
    assert all(info["status"] == "available" for info in revs_info)

    # A replicated branch from generation 2 (new_edits=false) makes a conflict.
    gen2 = revisions[2].rev
    branch = {
        "_id": "doc",
        "_rev": "3-" + "f" * 32,
        "_revisions": {"start": 3, "ids": ["f" * 32, gen2.split("-")[1], revisions[3].rev[2:]]},
        "step": "branch",
    }
    assert db.update([branch], new_edits=False) == []
    current = db.get("doc", conflicts=True)
    assert current.rev == revisions[0].rev  # generation 4 still wins
    assert current["_conflicts"] == ["3-" + "f" * 32]


def test_database_info_commit_and_compact(db: couchdb.Database) -> None:
    db.update([{"_id": f"x{i}"} for i in range(4)])
    db.delete(db["x0"])
    info = db.info()
    assert (info["doc_count"], info["doc_del_count"]) == (3, 1)
    assert db.commit()["ok"] is True
    assert db.compact() is True
