"""The device sync's transport: the local store in process, the server over the network, and
the server's per-document refusals read on the way back (replies pass on unchanged)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from fieldhall.field_app_api.client.transport import LOCAL_HOST, DeviceTransport

Handler = Callable[[httpx.Request], httpx.Response]


async def local_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = json.dumps({"where": "local", "path": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def exchange(
    handler: Handler, method: str, url: str, body: Any = None
) -> tuple[httpx.Response, dict[str, str]]:
    async def run() -> tuple[httpx.Response, dict[str, str]]:
        transport = DeviceTransport(local_app, httpx.MockTransport(handler))
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.request(method, url, json=body)
            await response.aread()
        return response, transport.refusals

    return asyncio.run(run())


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"{request.url} went to the network")


def test_the_local_store_is_reached_in_process_only() -> None:
    response, _ = exchange(never, "GET", f"http://{LOCAL_HOST}/outbox/_changes")
    assert response.json() == {"where": "local", "path": "/outbox/_changes"}


def test_bulk_docs_refusals_are_read_and_the_reply_passes_unchanged() -> None:
    rows = [
        {"ok": True, "id": "case:A", "rev": "1-a"},
        {"id": "case:B", "error": "forbidden", "reason": "chain_fork: device_seq 2 is used"},
        {"id": "case:C", "error": "missing_stub", "reason": "bytes needed"},
    ]

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=rows)

    response, refusals = exchange(
        server, "POST", "http://hall/sync/field/_bulk_docs", {"docs": [], "new_edits": False}
    )
    assert response.status_code == 201 and response.json() == rows
    # missing_stub is not a refusal: the replicator sends the document again, bytes and all.
    assert refusals == {"case:B": "chain_fork: device_seq 2 is used"}


def test_a_refused_single_put_names_its_document() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": "forbidden", "reason": "bad_photo: not a JPEG"})

    url = "http://hall/sync/field/case%3A01JH0000000000000000000000?new_edits=false"
    response, refusals = exchange(server, "PUT", url, {})
    assert response.status_code == 403
    assert refusals == {"case:01JH0000000000000000000000": "bad_photo: not a JPEG"}


def test_a_bulk_docs_narrowed_to_one_document_names_it() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "bad_request", "reason": "not I-JSON"})

    _, refusals = exchange(
        server, "POST", "http://hall/sync/field/_bulk_docs", {"docs": [{"_id": "case:Z"}]}
    )
    assert refusals == {"case:Z": "bad_request: not I-JSON"}


def test_a_refused_token_is_no_document_refusal() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "unauthorized", "reason": "revoked"})

    _, refusals = exchange(
        server, "PUT", "http://hall/sync/field/case%3AZ?new_edits=false", {"_id": "case:Z"}
    )
    assert refusals == {}


def test_checkpoints_and_reads_are_not_inspected() -> None:
    seen = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(409, json={"error": "conflict", "reason": "Document update conflict"})

    _, refusals = exchange(server, "PUT", "http://hall/sync/field/_local/abc", {})
    _, more = exchange(server, "GET", "http://hall/sync/field/case%3AZ")
    assert refusals == more == {}
    assert seen == ["/sync/field/_local/abc", "/sync/field/case%3AZ"]
