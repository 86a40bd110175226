"""``/{db}/_all_docs``: GET and POST ``keys``, ranges (``startkey``/``endkey`` and
``start_key``/``end_key``), ``inclusive_end``, ``limit``, ``skip``, ``descending``,
``include_docs`` and ``conflicts``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.couch import assert_error, put, replicate_in

IDS = ["a", "b", "c", "d", "e"]


@pytest.fixture
def seeded(client: httpx.Client, db: str) -> dict[str, str]:
    revs = {doc_id: put(client, f"/{db}/{doc_id}", {"v": doc_id}) for doc_id in reversed(IDS)}
    gone = put(client, f"/{db}/gone", {})
    client.delete(f"/{db}/gone", params={"rev": gone})
    return revs


def _all(client: httpx.Client, db: str, **params: Any) -> dict[str, Any]:
    encoded = {k: json.dumps(v) if k.replace("_", "") in ("startkey", "endkey", "keys") else v
               for k, v in params.items()}  # fmt: skip
    response = client.get(f"/{db}/_all_docs", params=encoded)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [row["id"] for row in body["rows"]]


def test_rows_in_id_order_without_deleted(
    client: httpx.Client, db: str, seeded: dict[str, str]
) -> None:
    body = _all(client, db)
    assert body["total_rows"] == 5 and body["offset"] == 0
    assert body["rows"][0] == {"id": "a", "key": "a", "value": {"rev": seeded["a"]}}
    assert _ids(body) == IDS
    assert _ids(client.get(f"/{db}/_all_docs/").json()) == IDS


def test_ranges(client: httpx.Client, db: str, seeded: dict[str, str]) -> None:
    assert _ids(_all(client, db, startkey="b", endkey="d")) == ["b", "c", "d"]
    assert _ids(_all(client, db, start_key="b", end_key="d")) == ["b", "c", "d"]
    assert _ids(_all(client, db, startkey="b", endkey="d", inclusive_end="false")) == ["b", "c"]
    assert _ids(_all(client, db, startkey="bb")) == ["c", "d", "e"]
    assert _ids(_all(client, db, endkey="b")) == ["a", "b"]
    assert _ids(_all(client, db, startkey="d", endkey="b", descending="true")) == ["d", "c", "b"]
    assert _ids(
        _all(client, db, startkey="d", endkey="b", descending="true", inclusive_end="false")
    ) == ["d", "c"]
    assert _ids(_all(client, db, startkey="x")) == []


def test_limit_skip_descending(client: httpx.Client, db: str, seeded: dict[str, str]) -> None:
    assert _ids(_all(client, db, limit=2)) == ["a", "b"]
    page = _all(client, db, limit=2, skip=2)
    assert _ids(page) == ["c", "d"] and page["offset"] == 2
    assert _ids(_all(client, db, descending="true")) == list(reversed(IDS))
    assert _ids(_all(client, db, descending="true", limit=2, skip=1)) == ["d", "c"]
    assert _ids(_all(client, db, limit=0)) == []
    assert_error(client.get(f"/{db}/_all_docs", params={"limit": "x"}), 400, "bad_request")
    assert_error(client.get(f"/{db}/_all_docs", params={"skip": "-1"}), 400, "bad_request")


def test_include_docs(client: httpx.Client, db: str, seeded: dict[str, str]) -> None:
    rows = _all(client, db, include_docs="true", limit=2)["rows"]
    assert rows[0]["doc"] == {"_id": "a", "_rev": seeded["a"], "v": "a"}
    assert rows[1]["doc"]["v"] == "b"


def test_keys(client: httpx.Client, db: str, seeded: dict[str, str]) -> None:
    keys = ["c", "nope", "gone", "a"]
    for body in (
        client.post(f"/{db}/_all_docs", json={"keys": keys}).json(),
        _all(client, db, keys=keys),
    ):
        rows = body["rows"]
        assert body["total_rows"] == 5
        assert rows[0] == {"id": "c", "key": "c", "value": {"rev": seeded["c"]}}
        assert rows[1] == {"key": "nope", "error": "not_found"}
        assert rows[2]["id"] == "gone" and rows[2]["value"]["deleted"] is True
        assert rows[3]["id"] == "a"
    with_docs = client.post(
        f"/{db}/_all_docs", params={"include_docs": "true"}, json={"keys": ["gone", "b"]}
    ).json()["rows"]
    assert with_docs[0]["doc"] is None
    assert with_docs[1]["doc"]["v"] == "b"
    limited = client.post(f"/{db}/_all_docs", json={"keys": keys, "limit": 1, "skip": 1}).json()
    assert limited["rows"] == [{"key": "nope", "error": "not_found"}]
    assert_error(client.post(f"/{db}/_all_docs", json={"keys": "a"}), 400, "bad_request")


def test_conflicts(client: httpx.Client, db: str) -> None:
    replicate_in(
        client, db, [{"_id": "d", "_rev": "1-a", "v": 1}, {"_id": "d", "_rev": "1-b", "v": 2}]
    )
    rows = _all(client, db, include_docs="true", conflicts="true")["rows"]
    assert rows[0]["value"] == {"rev": "1-b"}
    assert rows[0]["doc"]["_conflicts"] == ["1-a"]
    assert "_conflicts" not in _all(client, db, include_docs="true")["rows"][0]["doc"]


def test_design_docs_are_listed_local_docs_are_not(client: httpx.Client, db: str) -> None:
    put(client, f"/{db}/_design/app", {})
    put(client, f"/{db}/_local/checkpoint", {"seq": 1})
    put(client, f"/{db}/plain", {})
    assert _ids(_all(client, db)) == ["_design/app", "plain"]
    assert _all(client, db)["total_rows"] == 2


def test_ids_sort_by_bytes(client: httpx.Client, db: str) -> None:
    for doc_id in ["b", "B", "a", "é", "z", "Z", "10", "9"]:
        put(client, f"/{db}/{doc_id}", {})
    assert _ids(_all(client, db)) == sorted(["b", "B", "a", "é", "z", "Z", "10", "9"])
