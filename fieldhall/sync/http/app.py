"""The CouchDB HTTP surface as one ASGI app: served bare by ``fieldhall couch serve`` (no
framework between the server and the router: replication sends hundreds of small requests),
mounted into Litestar at ``/sync`` by the hall server.

The path grammar is CouchDB's: segments are split on raw ``/`` and percent-decoded one by one,
so ``a%2Fb`` is the document ``a/b`` while ``doc/a/b`` is the attachment ``a/b`` of ``doc``;
``_design/name`` keeps its slash. Every error on every path is CouchDB's JSON.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from litestar import Router, asgi
from sqlalchemy.exc import OperationalError

from ..errors import (
    BadRequest,
    CouchError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from ..policy import Principal
from ..store import Store, check_db_name
from . import all_docs, attachments, bulk, changes, databases, documents, local
from .asgi import (
    Receive,
    Request,
    Response,
    Scope,
    Send,
    StreamingResponse,
    error_response,
    json_response,
)
from .auth import Authenticator, basic_credentials
from .context import Context, ServerSettings
from .replicate import replicate_endpoint

__all__ = ["CouchApp", "couch_router"]

log = logging.getLogger("fieldhall.sync.http")

Handler = Callable[..., Awaitable[Response | StreamingResponse]]

_DB_ENDPOINTS: dict[str, dict[str, Handler]] = {
    "_all_docs": {"GET": all_docs.all_docs, "POST": all_docs.all_docs},
    "_changes": {"GET": changes.changes, "POST": changes.changes},
    "_revs_diff": {"POST": bulk.revs_diff},
    "_bulk_docs": {"POST": bulk.bulk_docs},
    "_bulk_get": {"POST": bulk.bulk_get},
    "_ensure_full_commit": {"POST": databases.ensure_full_commit},
    "_revs_limit": {"GET": databases.revs_limit, "PUT": databases.revs_limit},
    "_compact": {"POST": databases.compact},
}
_ADMIN_ONLY = {("_revs_limit", "PUT"), ("_compact", "POST")}


class CouchApp:
    def __init__(
        self,
        store: Store,
        authenticator: Authenticator,
        settings: ServerSettings,
        *,
        prefix: str = "",
    ) -> None:
        self.store = store
        self.authenticator = authenticator
        self.settings = settings
        self.prefix = prefix.rstrip("/").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # served bare (`fieldhall couch serve`): nothing to run
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request.from_scope(scope, receive, self.prefix, self.settings.max_body)
        request.json_loader = self.settings.json_loads
        head = request.method == "HEAD"
        try:
            response = await self._dispatch(request)
        except CouchError as exc:
            response = error_response(exc)
        except OperationalError as exc:
            log.warning("database unavailable: %s", exc)
            response = error_response(ServiceUnavailable())
        except Exception:
            log.exception("unexpected error on %s %s", request.method, scope.get("path"))
            response = json_response({"error": "unknown_error", "reason": "internal error"}, 500)
        if isinstance(response, StreamingResponse):
            await response.send(send, head=head, receive=receive)
        else:
            await response.send(send, head=head)

    async def _dispatch(self, request: Request) -> Response | StreamingResponse:
        segments = request.segments
        method = "GET" if request.method == "HEAD" else request.method
        if not segments:
            return self._welcome()
        if not all(_is_utf8(segment) for segment in segments):
            raise BadRequest("The URL path is not valid UTF-8")
        first = segments[0]
        if first == "_up":
            return json_response({"status": "ok", "seeds": {}})
        if first == "_session":
            return await self._session(request, method)
        ctx = Context(self.store, self.authenticator.authenticate(request), self.settings)
        if first == "_replicate" and len(segments) == 1:
            if method != "POST":
                raise MethodNotAllowed("Only POST allowed")
            return await replicate_endpoint(ctx, request)
        if first == "_uuids":
            count = request.integer("count", 1, minimum=1) or 1
            if count > 1000:
                raise BadRequest("count parameter too large")
            return json_response({"uuids": [uuid.uuid4().hex for _ in range(count)]})
        if first == "_all_dbs":
            self._require_admin(ctx.principal)
            return json_response(await ctx.run(self.store.database_names))
        if first.startswith("_"):
            check_db_name(first)  # as CouchDB: an unknown `_name` is an illegal database name
        public = self.settings.public_databases
        if public is not None and not ctx.principal.is_admin and first not in public:
            raise NotFound("Database does not exist.")
        return await self._database(ctx, request, method, first, segments[1:])

    async def _database(
        self, ctx: Context, request: Request, method: str, db: str, rest: list[str]
    ) -> Response | StreamingResponse:
        if not rest:
            if method == "GET":
                return await databases.database_info(ctx, request, db)
            if method == "PUT":
                self._require_admin(ctx.principal)
                return await databases.create_database(ctx, request, db)
            if method == "DELETE":
                self._require_admin(ctx.principal)
                return await databases.delete_database(ctx, request, db)
            if method == "POST":
                return await documents.post_document(ctx, request, db)
            raise MethodNotAllowed("Only DELETE,GET,HEAD,POST,PUT allowed")
        head, tail = rest[0], rest[1:]
        if head in _DB_ENDPOINTS and not tail:
            handlers = _DB_ENDPOINTS[head]
            handler = handlers.get(method)
            if handler is None:
                raise MethodNotAllowed(f"Only {','.join(sorted(handlers))} allowed")
            if (head, method) in _ADMIN_ONLY:
                self._require_admin(ctx.principal)
            return await handler(ctx, request, db)
        if head == "_local" and tail:
            return await self._local(ctx, request, method, db, "_local/" + "/".join(tail))
        if head.startswith("_local/"):
            return await self._local(ctx, request, method, db, head)
        if head == "_design" and tail:
            doc_id, att = "_design/" + tail[0], tail[1:]
        elif head.startswith("_") and not head.startswith("_design/"):
            raise BadRequest(
                "Only reserved document ids may start with underscore.", error="illegal_docid"
            )
        else:
            doc_id, att = head, tail
        if att:
            return await self._attachment(ctx, request, method, db, doc_id, "/".join(att))
        if method == "GET":
            return await documents.get_document(ctx, request, db, doc_id)
        if method == "PUT":
            return await documents.put_document(ctx, request, db, doc_id)
        if method == "DELETE":
            return await documents.delete_document(ctx, request, db, doc_id)
        raise MethodNotAllowed("Only DELETE,GET,HEAD,PUT allowed")

    async def _local(
        self, ctx: Context, request: Request, method: str, db: str, doc_id: str
    ) -> Response:
        if method == "GET":
            return await local.get_local(ctx, request, db, doc_id)
        if method == "PUT":
            return await local.put_local(ctx, request, db, doc_id)
        if method == "DELETE":
            return await local.delete_local(ctx, request, db, doc_id)
        raise MethodNotAllowed("Only DELETE,GET,HEAD,PUT allowed")

    async def _attachment(
        self, ctx: Context, request: Request, method: str, db: str, doc_id: str, name: str
    ) -> Response | StreamingResponse:
        if method == "GET":
            return await attachments.get_attachment(ctx, request, db, doc_id, name)
        if method == "PUT":
            return await attachments.put_attachment(ctx, request, db, doc_id, name)
        if method == "DELETE":
            return await attachments.delete_attachment(ctx, request, db, doc_id, name)
        raise MethodNotAllowed("Only DELETE,GET,HEAD,PUT allowed")

    def _require_admin(self, principal: Principal) -> None:
        if not principal.is_admin:
            raise Forbidden("You are not a server admin.", error="forbidden")

    def _welcome(self) -> Response:
        return json_response(
            {
                "couchdb": "Welcome",
                "version": self.settings.version,
                "git_sha": "fieldhall",
                "uuid": self.settings.uuid,
                "features": [],
                "vendor": {"name": self.settings.vendor, "version": self.settings.vendor_version},
            }
        )

    async def _session(self, request: Request, method: str) -> Response:
        if method == "GET":
            try:
                principal: Principal | None = self.authenticator.authenticate(request)
            except Unauthorized:
                principal = None
            # CouchDB names the handler that recognised the caller: Basic is "default".
            handler = "default" if request.headers.get("authorization") else "cookie"
            return json_response(_session_info(principal, handler))
        if method == "POST":
            name, password = await _login_form(request)
            principal = self.authenticator.login(name, password)
            if principal is None:
                raise Unauthorized("Name or password is incorrect.")
            headers = []
            value = self.authenticator.session_cookie(principal)
            if value:
                cookie = f"AuthSession={value}; Version=1; Path=/; HttpOnly; SameSite=Lax"
                headers.append((b"set-cookie", cookie.encode()))
            body = {"ok": True, "name": principal.name, "roles": _roles(principal)}
            return json_response(body, 200, headers)
        if method == "DELETE":
            expired = b"AuthSession=; Version=1; Path=/; HttpOnly; Max-Age=0"
            return json_response({"ok": True}, 200, [(b"set-cookie", expired)])
        raise MethodNotAllowed("Only DELETE,GET,HEAD,POST allowed")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _is_utf8(segment: str) -> bool:
    """Segments are decoded with ``surrogateescape``: invalid UTF-8 shows as lone surrogates."""
    try:
        segment.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _roles(principal: Principal | None) -> list[str]:
    if principal is None:
        return []
    return ["_admin"] if principal.is_admin else []


def _session_info(principal: Principal | None, handler: str) -> dict[str, Any]:
    return {
        "ok": True,
        "userCtx": {"name": principal.name if principal else None, "roles": _roles(principal)},
        "info": {
            "authentication_handlers": ["cookie", "default"],
            **({"authenticated": handler} if principal else {}),
        },
    }


async def _login_form(request: Request) -> tuple[str, str]:
    name: object
    password: object
    if request.content_type == "application/x-www-form-urlencoded":
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        name, password = form.get("name", [""])[0], form.get("password", [""])[0]
    elif request.content_type.endswith("json"):
        body = await request.json_object()
        name, password = body.get("name"), body.get("password")
    else:
        credentials = basic_credentials(request)
        if credentials is None:
            raise BadRequest("Login requires a name and password")
        name, password = credentials
    if not isinstance(name, str) or not isinstance(password, str):
        raise BadRequest("name and password must be strings")
    return name, password


def couch_router(path: str, app: CouchApp) -> Router:
    """A Litestar router that hands everything under ``path`` to ``app``."""

    @asgi("/", is_mount=True, copy_scope=False)
    async def couchdb(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)

    return Router(path=path, route_handlers=[couchdb])


def new_server_uuid() -> str:
    return os.urandom(16).hex()
