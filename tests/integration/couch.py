"""Small helpers the integration tests share: CouchDB error checks and common reads."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx


def assert_error(
    response: httpx.Response, status: int, error: str, reason: str | None = None
) -> dict[str, Any]:
    """``response`` is CouchDB's JSON error: the status, ``error`` and (if given) ``reason``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert isinstance(body["reason"], str), body
    if reason is not None:
        assert body["reason"] == reason, body
    return body


def all_doc_ids(client: httpx.Client, db: str) -> list[str]:
    response = client.get(f"/{db}/_all_docs")
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["rows"]]


def changed_ids(client: httpx.Client, db: str) -> list[str]:
    response = client.get(f"/{db}/_changes")
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["results"]]


def assert_empty(client: httpx.Client, db: str) -> None:
    """Nothing was stored: no documents, no changes, ``update_seq`` still 0."""
    assert all_doc_ids(client, db) == []
    assert changed_ids(client, db) == []
    info = client.get(f"/{db}").json()
    assert info["doc_count"] == 0 and info["doc_del_count"] == 0
    assert info["update_seq"] == "0"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def md5_digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def put(client: httpx.Client, path: str, doc: dict[str, Any], **params: Any) -> str:
    """PUT a document and return its new rev (the write must succeed)."""
    response = client.put(path, json=doc, params=params)
    assert response.status_code in (201, 202), response.text
    rev: str = response.json()["rev"]
    return rev


def replicate_in(client: httpx.Client, db: str, docs: list[dict[str, Any]]) -> None:
    """Write docs as a replicator does (``new_edits=false``); every doc must be accepted."""
    response = client.post(f"/{db}/_bulk_docs", json={"docs": docs, "new_edits": False})
    assert response.status_code == 201, response.text
    assert response.json() == [], response.text
