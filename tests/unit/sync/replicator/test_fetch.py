"""The fetch step against a fake source (``httpx.MockTransport``): ``_bulk_get`` first, then
``open_revs`` for what needs attachment bytes, for error entries, or for everything when the
source has no ``_bulk_get``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from urllib.parse import unquote

import httpx

from fieldhall.sync.replicator import Endpoint
from fieldhall.sync.replicator.client import PeerClient
from fieldhall.sync.replicator.fetch import MAX_REVS_PARAM_CHARS, Fetched, fetch_missing
from fieldhall.sync.replicator.revs_diff import Missing

Handler = Callable[[httpx.Request], httpx.Response]


def leaf(doc_id: str, rev: str, **atts: dict[str, object]) -> dict[str, object]:
    gen, h = rev.split("-")
    doc: dict[str, object] = {
        "_id": doc_id,
        "_rev": rev,
        "_revisions": {"start": int(gen), "ids": [h, "a"][: int(gen)]},
    }
    if atts:
        doc["_attachments"] = atts
    return doc


def run(
    handler: Handler, missing: list[Missing], use_bulk_get: bool = True
) -> tuple[Fetched, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def main() -> Fetched:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
            client = PeerClient(Endpoint.parse("http://src/db"), http)
            return await fetch_missing(client, missing, use_bulk_get=use_bulk_get)

    return asyncio.run(main()), seen


def test_stubs_the_target_has_stay_stubs_new_bytes_are_fetched_alone() -> None:
    old = {"stub": True, "revpos": 1, "digest": "md5-o", "length": 3}
    new = {"stub": True, "revpos": 2, "digest": "md5-n", "length": 3}
    bulk = {
        "results": [
            {"id": "a", "docs": [{"ok": leaf("a", "2-b", old=old)}]},
            {"id": "c", "docs": [{"ok": leaf("c", "2-b", old=old, new=new)}]},
        ]
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/db/_bulk_get":
            assert request.url.params["attachments"] == "false"
            return httpx.Response(200, json=bulk)
        assert request.url.path == "/db/c"
        assert json.loads(request.url.params["atts_since"]) == ["1-a"]  # only its own ancestor
        full = leaf("c", "2-b", old=old, new={"data": "aGk=", "revpos": 2})
        return httpx.Response(200, json=[{"ok": full}])

    fetched, seen = run(
        handler, [Missing("a", ("2-b",), ("1-a",)), Missing("c", ("2-b",), ("1-a", "1-zz"))]
    )
    assert [d["_id"] for d in fetched.docs] == ["a", "c"]
    assert fetched.stats.docs_read == 2 and fetched.use_bulk_get
    assert len(seen) == 2


def test_error_entries_and_pouchdb_missing_entries_are_asked_again_alone() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/db/_bulk_get":
            return httpx.Response(
                200,
                json={
                    "results": [
                        {
                            "id": "x",
                            "docs": [{"error": {"id": "x", "rev": "1-a", "error": "not_found"}}],
                        },
                        {"id": "y", "docs": [{"missing": "1-a"}]},
                    ]
                },
            )
        doc_id = unquote(request.url.path.rsplit("/", 1)[1])
        if doc_id == "x":
            return httpx.Response(200, json=[{"ok": leaf("x", "2-b")}])  # latest: a newer leaf
        return httpx.Response(200, json=[{"missing": "1-a"}])

    fetched, _ = run(handler, [Missing("x", ("1-a",)), Missing("y", ("1-a",))])
    assert [(d["_id"], d["_rev"]) for d in fetched.docs] == [("x", "2-b")]


def test_without_bulk_get_every_document_is_read_with_open_revs_in_url_sized_groups() -> None:
    revs = tuple(f"2-{i:032x}" for i in range(300))  # far more than one URL holds

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/db/_bulk_get":
            return httpx.Response(405, json={"error": "method_not_allowed", "reason": "no"})
        assert len(request.url.params["open_revs"]) <= MAX_REVS_PARAM_CHARS
        asked = json.loads(request.url.params["open_revs"])
        return httpx.Response(200, json=[{"ok": leaf("many", rev)} for rev in asked])

    fetched, seen = run(handler, [Missing("many", revs)])
    assert not fetched.use_bulk_get
    assert sorted(d["_rev"] for d in fetched.docs) == sorted(revs)
    assert len(seen) > 2
    again, seen = run(handler, [Missing("many", revs[:2])], use_bulk_get=False)
    assert len(again.docs) == 2 and all(r.url.path != "/db/_bulk_get" for r in seen)
