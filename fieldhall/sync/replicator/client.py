"""One peer database over HTTP: requests, and the translation of every failure into
:mod:`.errors`.

This is the only module that sees httpx. Network errors, timeouts, 5xx and 429 become
:class:`TransientError` (the job retries them); any other status a caller did not ``expect``
becomes the matching :class:`ReplicationError`. Callers that give meaning to a 4xx (a refused
document, a missing checkpoint) list it in ``expect`` and read the reply themselves.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from .endpoint import Endpoint
from .errors import (
    DatabaseNotFound,
    PeerProtocolError,
    PeerUnauthorized,
    ReplicationError,
    TransientError,
)

__all__ = ["PeerClient", "Reply", "doc_path"]

Params = Mapping[str, str]


def doc_path(doc_id: str) -> str:
    """A document's path below the database: ``a/b`` as ``a%2Fb``; ``_design/x`` keeps its
    slash, as CouchDB expects."""
    if doc_id.startswith("_design/"):
        return "_design/" + quote(doc_id[len("_design/") :], safe="")
    if doc_id.startswith("_local/"):
        return "_local/" + quote(doc_id[len("_local/") :], safe="")
    return quote(doc_id, safe="")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # lowercase names
    body: bytes
    url: str  # without credentials or query

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise PeerProtocolError(
                f"{self.url} answered {self.status} with a body that is not JSON", url=self.url
            ) from None

    def error(self) -> tuple[str, str]:
        """CouchDB's ``(error, reason)`` of an error reply (empty strings when absent)."""
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return "", ""
        if not isinstance(data, dict):
            return "", ""
        return str(data.get("error") or ""), str(data.get("reason") or "")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class PeerClient:
    """Requests to one database of one peer, sharing an :class:`httpx.AsyncClient`."""

    def __init__(self, endpoint: Endpoint, http: httpx.AsyncClient) -> None:
        self.endpoint = endpoint
        self._http = http
        self._auth = httpx.BasicAuth(*endpoint.auth) if endpoint.auth else None
        self._headers = dict(endpoint.headers)

    @property
    def url(self) -> str:
        return self.endpoint.url

    async def request(
        self,
        method: str,
        path: str = "",
        *,
        params: Params | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: Sequence[int] = (200,),
        root: bool = False,
    ) -> Reply:
        """Send a request to the database (``path`` below it) or, with ``root``, to the
        server; return the reply if its status is in ``expect``, raise otherwise."""
        if root:
            url = self.endpoint.server_url + path
        else:
            url = self.endpoint.url + ("/" + path if path else "")
        all_headers = {"accept": "application/json", **self._headers, **(headers or {})}
        if json is not None:
            content = orjson.dumps(json)
            all_headers["content-type"] = "application/json"
        try:
            response = await self._http.request(
                method,
                url,
                params=dict(params) if params else None,
                content=content,
                headers=all_headers,
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.ConnectError as exc:
            raise TransientError(
                f"cannot connect to {self.url}: {_describe(exc)}", url=self.url, connect=True
            ) from exc
        except httpx.ConnectTimeout as exc:
            raise TransientError(
                f"cannot connect to {self.url}: connection timed out", url=self.url, connect=True
            ) from exc
        except httpx.TimeoutException as exc:
            raise TransientError(f"{method} {self.url}/{path} timed out", url=self.url) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise TransientError(
                f"{method} {self.url}/{path} failed: {_describe(exc)}", url=self.url
            ) from exc
        reply = Reply(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
            url.split("?", 1)[0],
        )
        if reply.status in expect:
            return reply
        raise self.failure(reply, method)

    def failure(self, reply: Reply, method: str) -> ReplicationError:
        """The error a reply stands for when nobody expected its status."""
        error, reason = reply.error()
        detail = f"{error}: {reason}" if error or reason else f"status {reply.status}"
        where = f"{method} {reply.url}"
        if reply.status >= 500 or reply.status == 429 or reply.status == 408:
            return TransientError(
                f"{where} answered {reply.status} ({detail})",
                url=self.url,
                retry_after=_retry_after(reply.headers.get("retry-after")),
            )
        if reply.status == 401:
            return PeerUnauthorized(f"{self.url} refused the credentials ({detail})", url=self.url)
        if reply.status == 403:
            return PeerUnauthorized(f"{self.url} refused access ({detail})", url=self.url)
        if reply.status == 404 and _database_missing(reason):
            return DatabaseNotFound(f"database {self.url} does not exist", url=self.url)
        return PeerProtocolError(f"{where} answered {reply.status} ({detail})", url=self.url)


def _database_missing(reason: str) -> bool:
    # CouchDB: "Database does not exist." (3.x) or "no_db_file" (1.x); PouchDB: "missing".
    lowered = reason.lower()
    return "database does not exist" in lowered or "no_db_file" in lowered


def _describe(exc: BaseException) -> str:
    """The root cause in a few words ("connection refused", "unknown host"…)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        cause = cause.__cause__ or cause.__context__
    return " ".join(str(exc).split()) or type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
