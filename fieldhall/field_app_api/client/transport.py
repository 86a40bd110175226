"""How the replicator reaches both peers of a device sync: one httpx transport, two routes.

The replicator takes one ``httpx.AsyncBaseTransport`` for all its requests (its hook for
tests and embedding). :class:`DeviceTransport` sends requests for the reserved host
:data:`LOCAL_HOST` to the device's local store, an ASGI app called in process (no socket, no
port: nothing else on the phone can reach it), and everything else to the network.

On the way back it reads the server's per-document answers to writes, so that the device can
tell its user *why* a document was refused: the replicator counts refusals
(``doc_write_failures``) and moves on, as CouchDB's does, but a field app must show "case X:
chain_fork: …" to the agent. It reads CouchDB's wire format only — ``_bulk_docs`` result rows
and the error body of a single-document ``PUT`` — and passes every reply on unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx
import orjson

__all__ = ["LOCAL_HOST", "DeviceTransport"]

LOCAL_HOST = "device.invalid"
"""RFC 2606 reserves ``.invalid``: it never resolves, so a URL with this host can only mean
the in-process store."""


class DeviceTransport(httpx.AsyncBaseTransport):
    def __init__(self, local_app: Any, remote: httpx.AsyncBaseTransport | None = None) -> None:
        self._local = httpx.ASGITransport(app=local_app)
        self._remote = remote or httpx.AsyncHTTPTransport(retries=0)
        self.refusals: dict[str, str] = {}  # doc id -> "<error>: <reason>" of the server

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == LOCAL_HOST:
            return await self._local.handle_async_request(request)
        response = await self._remote.handle_async_request(request)
        if _is_write(request):
            # Write replies are small JSON; read here, they are kept for the replicator.
            await response.aread()
            self._observe(request, response)
        return response

    async def aclose(self) -> None:
        await self._local.aclose()
        await self._remote.aclose()

    def _observe(self, request: httpx.Request, reply: httpx.Response) -> None:
        try:
            body = orjson.loads(reply.content) if reply.content else None
        except orjson.JSONDecodeError:
            return
        if request.method == "POST" and reply.status_code in (200, 201, 202):
            for row in body if isinstance(body, list) else []:
                if isinstance(row, dict) and _refused(row) and isinstance(row.get("id"), str):
                    self.refusals[row["id"]] = _reason(row)
            return
        # 401 is about the token, not a document; 5xx is temporary and retried.
        if reply.status_code not in _DOC_REFUSALS or not isinstance(body, dict):
            return
        if not _refused(body):
            return
        doc_id = _single_doc_id(request)
        if doc_id is not None:
            self.refusals[doc_id] = _reason(body)


_DOC_REFUSALS = (400, 403, 409, 412, 413, 415)


def _refused(row: dict[str, Any]) -> bool:
    # missing_stub is not a refusal: the replicator sends the document again, bytes included.
    return bool(row.get("error")) and row.get("error") != "missing_stub"


def _is_write(request: httpx.Request) -> bool:
    path = request.url.path
    if request.method == "POST":
        return path.endswith("/_bulk_docs")
    return request.method == "PUT" and "/_local/" not in path


def _single_doc_id(request: httpx.Request) -> str | None:
    """The document a refused write was about, when it was about one: a ``PUT`` names it in
    its path; a ``_bulk_docs`` the replicator narrowed down to one document, in its body."""
    if request.method == "PUT":
        return unquote(request.url.raw_path.split(b"?", 1)[0].decode().rsplit("/", 1)[-1])
    try:
        docs = orjson.loads(request.content).get("docs")
    except (orjson.JSONDecodeError, AttributeError, httpx.RequestNotRead):
        return None
    if isinstance(docs, list) and len(docs) == 1 and isinstance(docs[0], dict):
        doc_id = docs[0].get("_id")
        return doc_id if isinstance(doc_id, str) else None
    return None


def _reason(row: dict[str, Any]) -> str:
    error, reason = str(row.get("error") or "error"), str(row.get("reason") or "")
    # The policy's reasons already start with their code ("chain_fork: …"): CouchDB's
    # ``forbidden`` adds nothing a user needs.
    return reason if error == "forbidden" and reason else f"{error}: {reason}".rstrip(": ")
