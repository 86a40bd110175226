"""Minimal request and response objects for the CouchDB surface.

CouchDB's URL grammar (document ids containing ``%2F``, ``_design/`` ids with a raw slash,
attachment names with slashes) needs the *raw* path, so the router is an ASGI app mounted
into Litestar and reads requests with these few helpers. Bodies are read with a size limit and
can be streamed; continuous feeds are sent line by line, never buffered or compressed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
import orjson

from ..errors import BadContentType, BadRequest, CouchError, TooLarge

__all__ = [
    "Receive",
    "Request",
    "Response",
    "Scope",
    "Send",
    "StreamingResponse",
    "json_response",
    "loads",
]

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

JSON_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"must-revalidate")]


def loads(data: bytes | str) -> Any:
    """Parse JSON as CouchDB would; malformed JSON is a 400 ``bad_request``.

    orjson also refuses what we could not store faithfully: ``NaN``, ``Infinity``, numbers
    that overflow a double, lone surrogates and nesting deeper than 1024 levels.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("invalid UTF-8 JSON", error="bad_request") from exc


@dataclass(slots=True)
class Request:
    scope: Scope
    receive: Receive
    segments: list[str]  # path segments after the mount point, percent-decoded one by one
    trailing_slash: bool
    max_body: int
    query: dict[str, str] = field(default_factory=dict)
    query_multi: list[tuple[str, str]] = field(default_factory=list)
    _headers: dict[str, str] | None = None
    _body: bytes | None = None
    json_loader: Callable[[bytes], Any] | None = None

    @classmethod
    def from_scope(cls, scope: Scope, receive: Receive, prefix: bytes, max_body: int) -> Request:
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        raw = raw.split(b"?", 1)[0]
        if prefix and raw.startswith(prefix):
            raw = raw[len(prefix) :]
        text = raw.decode("latin-1")
        trailing = text.endswith("/") and text != "/"
        parts = [p for p in text.split("/")]
        segments = [unquote(p, encoding="utf-8", errors="surrogateescape") for p in parts if p]
        qs = scope.get("query_string", b"").decode("latin-1")
        multi = parse_qsl(qs, keep_blank_values=True, encoding="utf-8", errors="replace")
        return cls(scope, receive, segments, trailing, max_body, dict(multi), multi)

    @property
    def method(self) -> str:
        return str(self.scope["method"]).upper()

    @property
    def headers(self) -> Mapping[str, str]:
        if self._headers is None:
            self._headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope["headers"]
            }
        return self._headers

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def header_param(self, header: str, name: str) -> str | None:
        for part in self.headers.get(header, "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == name:
                return value.strip().strip('"')
        return None

    async def stream(self) -> AsyncIterator[bytes]:
        """The body in chunks, refusing more than ``max_body`` bytes with 413."""
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise TooLarge()
        received = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise BadRequest("client disconnected")
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body:
                raise TooLarge()
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    async def body(self) -> bytes:
        if self._body is None:
            self._body = b"".join([chunk async for chunk in self.stream()])
        return self._body

    def discard_body(self) -> None:
        """Forget the cached body once parsed: a 500 MB batch need not be held twice."""
        self._body = None

    async def json(self, *, require_content_type: bool = False) -> Any:
        if require_content_type and not self.content_type.endswith("json"):
            raise BadContentType()
        data = await self.body()
        if not data.strip():
            raise BadRequest("Request body is empty; a JSON object was expected")
        return self.parse_json(data)

    def parse_json(self, data: bytes) -> Any:
        return self.json_loader(data) if self.json_loader is not None else loads(data)

    async def json_object(self, *, require_content_type: bool = False) -> dict[str, Any]:
        value = await self.json(require_content_type=require_content_type)
        if not isinstance(value, dict):
            raise BadRequest("Request body must be a JSON object")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.query.get(name)
        if value is None:
            return default
        if value in ("true", "1", ""):
            return True
        if value in ("false", "0"):
            return False
        raise BadRequest(f"Invalid boolean parameter: {name}")

    def integer(self, name: str, default: int | None = None, minimum: int = 0) -> int | None:
        value = self.query.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise BadRequest(f"Invalid value for integer parameter {name}: {value!r}") from None
        if number < minimum:
            raise BadRequest(f"{name} must be at least {minimum}")
        return number

    def json_param(self, name: str, default: Any = None) -> Any:
        value = self.query.get(name)
        if value is None:
            return default
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise BadRequest(f"Invalid JSON in query parameter {name}") from None


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def send(self, send: Send, *, head: bool = False) -> None:
        headers = self.headers
        if not any(key == b"content-length" for key, _ in headers):  # a HEAD may state it
            headers = [*headers, (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else self.body})


@dataclass(slots=True)
class StreamingResponse:
    chunks: AsyncIterator[bytes]
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def send(self, send: Send, *, head: bool = False, receive: Receive | None = None) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        if head:
            await send({"type": "http.response.body", "body": b""})
            return
        async with anyio.create_task_group() as group:
            if receive is not None:
                # A feed that waits must stop when its client leaves, not at its timeout.
                group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
            try:
                async for chunk in self.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                group.cancel_scope.cancel()


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


def json_response(
    data: Any, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> Response:
    return Response(status, orjson.dumps(data) + b"\n", [*JSON_HEADERS, *(headers or [])])


def error_response(error: CouchError) -> Response:
    headers: list[tuple[bytes, bytes]] = []
    if error.status == 401:
        headers.append((b"www-authenticate", b'Basic realm="fieldhall"'))
    return json_response(error.to_json(), error.status, headers)
