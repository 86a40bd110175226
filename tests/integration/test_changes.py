"""``/{db}/_changes``: normal, longpoll and continuous feeds (GET and POST), ``since``
(``now`` too), ``limit``, ``descending``, ``style=all_docs``, ``include_docs`` with
``conflicts`` and ``attachments``, heartbeats, and the ``_doc_ids`` and ``_selector`` filters."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.couch import assert_error, b64, put, replicate_in
from tests.servers import CouchServer


def _changes(client: httpx.Client, db: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/{db}/_changes", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def _seed(client: httpx.Client, db: str) -> dict[str, str]:
    """a, b, c written in that order, then a updated (so a is last) and b deleted."""
    revs = {name: put(client, f"/{db}/{name}", {"name": name, "type": "t"}) for name in "abc"}
    revs["a"] = put(client, f"/{db}/a", {"_rev": revs["a"], "name": "a", "type": "u"})
    deleted = client.delete(f"/{db}/b", params={"rev": revs["b"]})
    revs["b"] = deleted.json()["rev"]
    return revs


def test_normal_feed(client: httpx.Client, db: str) -> None:
    revs = _seed(client, db)
    body = _changes(client, db)
    rows = body["results"]
    assert [r["id"] for r in rows] == ["c", "a", "b"]
    assert [r["changes"] for r in rows] == [[{"rev": revs[k]}] for k in "cab"]
    assert rows[2]["deleted"] is True and "deleted" not in rows[0]
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs) and isinstance(rows[0]["seq"], str)
    assert body["last_seq"] == rows[-1]["seq"] == client.get(f"/{db}").json()["update_seq"]
    assert body["pending"] == 0
    later = _changes(client, db, since=rows[0]["seq"])
    assert [r["id"] for r in later["results"]] == ["a", "b"]
    assert _changes(client, db, since=body["last_seq"])["results"] == []
    # CouchDB's replicator sends since as JSON: a quoted string.
    quoted = _changes(client, db, since=f'"{rows[0]["seq"]}"', style="all_docs")
    assert [r["id"] for r in quoted["results"]] == ["a", "b"]
    post = client.post(f"/{db}/_changes", json={}, params={"since": rows[0]["seq"]}).json()
    assert [r["id"] for r in post["results"]] == ["a", "b"]


def test_since_now_limit_and_descending(client: httpx.Client, db: str) -> None:
    _seed(client, db)
    now = _changes(client, db, since="now")
    assert now["results"] == [] and now["last_seq"] == client.get(f"/{db}").json()["update_seq"]
    first = _changes(client, db, limit=2)
    assert [r["id"] for r in first["results"]] == ["c", "a"]
    assert first["last_seq"] == first["results"][-1]["seq"]
    rest = _changes(client, db, since=first["last_seq"], limit=2)
    assert [r["id"] for r in rest["results"]] == ["b"]
    down = _changes(client, db, descending="true")
    assert [r["id"] for r in down["results"]] == ["b", "a", "c"]
    assert [r["id"] for r in _changes(client, db, descending="true", limit=1)["results"]] == ["b"]
    zero = _changes(client, db, limit=0)  # as CouchDB: the same as limit=1
    assert [r["id"] for r in zero["results"]] == ["c"]
    assert zero["last_seq"] == zero["results"][0]["seq"]


def test_style_all_docs_lists_every_leaf(client: httpx.Client, db: str) -> None:
    replicate_in(
        client,
        db,
        [
            {"_id": "d", "_rev": "1-a", "v": 1},
            {"_id": "d", "_rev": "1-b", "v": 2},
            {
                "_id": "d",
                "_rev": "2-c",
                "_deleted": True,
                "_revisions": {"start": 2, "ids": ["c", "z"]},
            },
        ],
    )
    winner_only = _changes(client, db)["results"][0]["changes"]
    assert winner_only == [{"rev": "1-b"}]
    every = _changes(client, db, style="all_docs")["results"][0]["changes"]
    assert every == [{"rev": "1-b"}, {"rev": "1-a"}, {"rev": "2-c"}]


def test_include_docs_with_conflicts_and_attachments(client: httpx.Client, db: str) -> None:
    replicate_in(
        client,
        db,
        [
            {"_id": "d", "_rev": "1-a", "v": "a"},
            {"_id": "d", "_rev": "1-b", "v": "b", "_attachments": {"f": {"data": b64(b"F")}}},
        ],
    )
    rev = put(client, f"/{db}/gone", {"x": 1})
    client.delete(f"/{db}/gone", params={"rev": rev})
    rows = _changes(client, db, include_docs="true")["results"]
    doc = rows[0]["doc"]
    assert doc["_id"] == "d" and doc["_rev"] == "1-b" and doc["v"] == "b"
    assert doc["_attachments"]["f"]["stub"] is True and "_conflicts" not in doc
    assert rows[1]["doc"]["_deleted"] is True and rows[1]["deleted"] is True
    rich = _changes(client, db, include_docs="true", conflicts="true", attachments="true")
    doc = rich["results"][0]["doc"]
    assert doc["_conflicts"] == ["1-a"]
    assert doc["_attachments"]["f"]["data"] == b64(b"F")
    assert "doc" not in _changes(client, db)["results"][0]


def test_doc_ids_filter(client: httpx.Client, db: str) -> None:
    _seed(client, db)
    got = _changes(client, db, filter="_doc_ids", doc_ids='["c","b","nope"]')
    assert [r["id"] for r in got["results"]] == ["c", "b"]
    assert got["last_seq"] == client.get(f"/{db}").json()["update_seq"]
    post = client.post(
        f"/{db}/_changes", params={"filter": "_doc_ids"}, json={"doc_ids": ["a"]}
    ).json()
    assert [r["id"] for r in post["results"]] == ["a"]
    missing = client.post(f"/{db}/_changes", params={"filter": "_doc_ids"}, json={})
    assert_error(missing, 400, "bad_request")


def test_selector_filter(client: httpx.Client, db: str) -> None:
    _seed(client, db)
    put(client, f"/{db}/n", {"type": "t", "size": 10})
    body = {"selector": {"type": "t", "name": {"$exists": True}}}
    got = client.post(f"/{db}/_changes", params={"filter": "_selector"}, json=body).json()
    assert [r["id"] for r in got["results"]] == ["c"]
    body = {"selector": {"$or": [{"type": "u"}, {"size": {"$gt": 5}}]}}
    got = client.post(f"/{db}/_changes", params={"filter": "_selector"}, json=body).json()
    assert [r["id"] for r in got["results"]] == ["a", "n"]
    bad = {"selector": {"size": {"$bogus": 1}}}
    response = client.post(f"/{db}/_changes", params={"filter": "_selector"}, json=bad)
    assert_error(response, 400, "bad_request")
    assert_error(
        client.post(f"/{db}/_changes", params={"filter": "_selector"}, json={}), 400, "bad_request"
    )


@pytest.mark.parametrize(
    "params",
    [
        {"feed": "sideways"},
        {"since": "banana"},
        {"filter": "app/by_type"},
        {"filter": "unknown"},
        {"limit": "-1"},
        {"heartbeat": "soon"},
    ],
)
def test_bad_parameters(client: httpx.Client, db: str, params: dict[str, str]) -> None:
    assert_error(client.get(f"/{db}/_changes", params=params), 400, "bad_request")


def _write_later(
    server: CouchServer, path: str, delay: float, doc: dict[str, Any]
) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        with server.client() as writer:
            writer.put(path, json=doc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_longpoll_waits_for_a_write(
    shared_couch: CouchServer, client: httpx.Client, db: str
) -> None:
    put(client, f"/{db}/before", {})
    since = _changes(client, db)["last_seq"]
    writer = _write_later(shared_couch, f"/{db}/after", 0.5, {"late": True})
    started = time.monotonic()
    body = _changes(client, db, feed="longpoll", since=since, timeout=10_000, include_docs="true")
    elapsed = time.monotonic() - started
    writer.join(5)
    assert 0.4 <= elapsed < 5
    assert [r["id"] for r in body["results"]] == ["after"]
    assert body["results"][0]["doc"]["late"] is True
    assert body["last_seq"] == body["results"][0]["seq"]


def test_longpoll_with_pending_changes_answers_at_once(client: httpx.Client, db: str) -> None:
    put(client, f"/{db}/x", {})
    started = time.monotonic()
    body = _changes(client, db, feed="longpoll", timeout=10_000)
    assert time.monotonic() - started < 2
    assert [r["id"] for r in body["results"]] == ["x"]


def test_longpoll_since_now_and_timeout(client: httpx.Client, db: str) -> None:
    put(client, f"/{db}/old", {})
    seq = client.get(f"/{db}").json()["update_seq"]
    started = time.monotonic()
    body = _changes(client, db, feed="longpoll", since="now", timeout=400)
    elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 3
    assert body["results"] == [] and body["last_seq"] == seq


def test_longpoll_heartbeat_sends_newlines_while_waiting(client: httpx.Client, db: str) -> None:
    response = client.get(
        f"/{db}/_changes",
        params={"feed": "longpoll", "since": "now", "timeout": 700, "heartbeat": 100},
    )
    assert response.status_code == 200
    text = response.text
    assert text.startswith("\n\n"), repr(text[:20])
    assert _json_tail(text)["results"] == []


def _json_tail(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text.strip())
    return value


def test_longpoll_with_a_selector_waits_for_a_match(
    shared_couch: CouchServer, client: httpx.Client, db: str
) -> None:
    threads = [
        _write_later(shared_couch, f"/{db}/other", 0.2, {"type": "other"}),
        _write_later(shared_couch, f"/{db}/wanted", 0.6, {"type": "wanted"}),
    ]
    body = client.post(
        f"/{db}/_changes",
        params={"feed": "longpoll", "filter": "_selector", "timeout": 10_000},
        json={"selector": {"type": "wanted"}},
    ).json()
    for thread in threads:
        thread.join(5)
    assert [r["id"] for r in body["results"]] == ["wanted"]


class _Lines:
    """Reads a streaming response line by line as bytes arrive (empty lines included)."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks: Iterator[bytes] = response.iter_raw()
        self._buffer = b""

    def next(self) -> str:
        while b"\n" not in self._buffer:
            self._buffer += next(self._chunks)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def next_row(self) -> dict[str, Any]:
        while True:
            line = self.next()
            if line:
                row: dict[str, Any] = json.loads(line)
                return row


def _stream_client(server: CouchServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=("admin", "secret"), timeout=httpx.Timeout(5.0))


def test_continuous_streams_rows_as_they_happen(shared_couch: CouchServer, db: str) -> None:
    with _stream_client(shared_couch) as http, _stream_client(shared_couch) as writer:
        writer.put(f"/{db}/first", json={})
        params = {"feed": "continuous", "heartbeat": 5000, "include_docs": "true"}
        with http.stream("GET", f"/{db}/_changes", params=params) as response:
            assert response.status_code == 200
            assert "content-encoding" not in response.headers
            lines = _Lines(response)
            assert lines.next_row()["id"] == "first"
            for n in range(3):
                started = time.monotonic()
                writer.put(f"/{db}/live{n}", json={"n": n})
                row = lines.next_row()
                assert row["id"] == f"live{n}" and row["doc"]["n"] == n
                assert time.monotonic() - started < 2


def test_continuous_heartbeats_and_since_now(shared_couch: CouchServer, db: str) -> None:
    with _stream_client(shared_couch) as http, _stream_client(shared_couch) as writer:
        writer.put(f"/{db}/old", json={})
        params = {"feed": "continuous", "since": "now", "heartbeat": 100}
        with http.stream("GET", f"/{db}/_changes", params=params) as response:
            lines = _Lines(response)
            started = time.monotonic()
            assert lines.next() == "" and lines.next() == ""
            assert time.monotonic() - started < 2
            writer.put(f"/{db}/new", json={})
            assert lines.next_row()["id"] == "new"


def test_continuous_with_timeout_ends_with_last_seq(client: httpx.Client, db: str) -> None:
    put(client, f"/{db}/a", {})
    put(client, f"/{db}/b", {})
    started = time.monotonic()
    response = client.get(f"/{db}/_changes", params={"feed": "continuous", "timeout": 300})
    assert time.monotonic() - started < 3
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert [line["id"] for line in lines[:2]] == ["a", "b"]
    assert lines[2] == {"last_seq": lines[1]["seq"], "pending": 0}


def test_continuous_limit_and_doc_ids(client: httpx.Client, db: str) -> None:
    for name in "abcd":
        put(client, f"/{db}/{name}", {})
    limited = client.get(f"/{db}/_changes", params={"feed": "continuous", "limit": 2})
    rows = [json.loads(line) for line in limited.text.splitlines() if line]
    assert [r.get("id") for r in rows] == ["a", "b", None]
    assert rows[-1]["last_seq"] == rows[1]["seq"]
    filtered = client.post(
        f"/{db}/_changes",
        params={"feed": "continuous", "filter": "_doc_ids", "timeout": 200},
        json={"doc_ids": ["d", "b"]},
    )
    lines = [json.loads(line) for line in filtered.text.splitlines() if line]
    assert [line.get("id") for line in lines] == ["b", "d", None]
    assert lines[-1] == {"last_seq": client.get(f"/{db}").json()["update_seq"], "pending": 0}


def test_changes_of_a_database_deleted_while_waiting(
    shared_couch: CouchServer, client: httpx.Client
) -> None:
    client.put("/doomed")
    result: dict[str, httpx.Response] = {}

    def poll() -> None:
        with _stream_client(shared_couch) as http:
            result["r"] = http.get(
                "/doomed/_changes", params={"feed": "longpoll", "since": "now", "timeout": 3000}
            )

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    time.sleep(0.3)
    client.delete("/doomed")
    thread.join(6)
    assert not thread.is_alive()
    # The feed had started (200); it ends cleanly with CouchDB's error as its last line.
    response = result["r"]
    assert response.status_code == 200
    assert _json_tail(response.text.strip().splitlines()[-1]) == {
        "error": "not_found",
        "reason": "Database does not exist.",
    }


@pytest.mark.parametrize("feed", ["normal", "longpoll", "continuous"])
def test_feeds_of_a_missing_database_are_404(client: httpx.Client, feed: str) -> None:
    response = client.get("/no-such-db/_changes", params={"feed": feed, "timeout": 100})
    assert_error(response, 404, "not_found", "Database does not exist.")
