"""``POST /_replicate``: CouchDB's transient replications, run inside the server process.

The body is CouchDB's: ``source`` and ``target`` (a URL, credentials allowed in it; an object
``{"url", "headers", "auth": {"basic": {"username", "password"}}}``; or a bare database name
on this server, reached with the caller's own credentials), ``continuous``, ``create_target``,
``doc_ids``, ``selector``, ``worker_batch_size`` and ``cancel`` (with the same body, or with
``replication_id``).

A one-shot replication answers when it ends, with CouchDB's checkpoint record
(``session_id``, ``source_last_seq``, ``history``). A continuous one answers 202 with its
``_local_id`` once both peers are verified, and runs until cancelled. Jobs belong to this
process: with several workers, a cancel must reach the worker that started the job.

Only admins may replicate: a replication makes the server send requests to any URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..errors import BadRequest, Forbidden
from ..replicator import (
    DatabaseNotFound,
    Endpoint,
    JobRegistry,
    PeerUnauthorized,
    PeerUnreachable,
    Progress,
    Replication,
    ReplicationError,
    ReplicationJob,
    State,
)
from ..replicator.ids import REPLICATION_ID_VERSION, job_id, replication_id
from .asgi import Request, Response, json_response
from .context import Context

__all__ = ["replicate_endpoint", "replication_registry"]

STARTUP_WAIT_SECONDS = 30.0
"""How long a continuous request waits for its job to verify both peers before answering."""

_registries: dict[str, JobRegistry] = {}


def replication_registry(server_uuid: str) -> JobRegistry:
    """The running replications of the server with this uuid, in this process."""
    return _registries.setdefault(server_uuid, JobRegistry())


def _own_url(request: Request, db: str) -> str:
    scheme = request.scope.get("scheme", "http")
    host = request.headers.get("host")
    if not host:
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    raw: bytes = request.scope.get("raw_path") or str(request.scope["path"]).encode()
    prefix = raw.split(b"?", 1)[0].decode("latin-1").rstrip("/").removesuffix("/_replicate")
    return f"{scheme}://{host}{prefix}/{quote(db, safe='')}"


def _endpoint(value: object, request: Request, name: str) -> Endpoint:
    headers: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    if isinstance(value, Mapping):
        url = value.get("url")
        raw_headers = value.get("headers") or {}
        if not isinstance(raw_headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw_headers.items()
        ):
            raise BadRequest(f"`{name}.headers` must be an object of strings")
        headers = dict(raw_headers)
        basic = (
            (value.get("auth") or {}).get("basic")
            if isinstance(value.get("auth"), Mapping)
            else None
        )
        if isinstance(basic, Mapping):
            user, password = basic.get("username"), basic.get("password")
            if not isinstance(user, str) or not isinstance(password, str):
                raise BadRequest(f"`{name}.auth.basic` needs a username and a password")
            auth = (user, password)
    else:
        url = value
    if not isinstance(url, str) or not url:
        raise BadRequest(f"`{name}` must be a URL, a database name or an object with a url")
    if "://" not in url:
        # A database of this server, reached as the caller: same credentials.
        url = _own_url(request, url)
        for header in ("authorization", "cookie"):
            if header in request.headers and header not in {h.lower() for h in headers}:
                headers[header] = request.headers[header]
    try:
        return Endpoint.parse(url, auth, headers)
    except ValueError as exc:
        raise BadRequest(f"`{name}`: {exc}") from None


def _replication(body: Mapping[str, Any], request: Request, server_uuid: str) -> Replication:
    if "filter" in body:
        raise BadRequest("filter functions are not supported; use doc_ids or selector")
    doc_ids = body.get("doc_ids")
    if doc_ids is not None and (
        not isinstance(doc_ids, list) or not all(isinstance(i, str) and i for i in doc_ids)
    ):
        raise BadRequest("`doc_ids` must be a list of document ids")
    selector = body.get("selector")
    if selector is not None and not isinstance(selector, Mapping):
        raise BadRequest("`selector` must be a JSON object")
    batch_size = body.get("worker_batch_size", 500)
    flags = {k: body.get(k, False) for k in ("continuous", "create_target")}
    if any(not isinstance(v, bool) for v in flags.values()):
        raise BadRequest("`continuous` and `create_target` must be booleans")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BadRequest("`worker_batch_size` must be a positive integer")
    try:
        return Replication(
            _endpoint(body.get("source"), request, "source"),
            _endpoint(body.get("target"), request, "target"),
            doc_ids=tuple(doc_ids) if doc_ids is not None else None,
            selector=selector,
            batch_size=batch_size,
            replicator=server_uuid,
            **flags,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _job_id(rep: Replication) -> str:
    rep_id = replication_id(
        rep.source,
        rep.target,
        replicator=rep.replicator,
        doc_ids=rep.doc_ids,
        selector=rep.selector,
    )
    return job_id(rep_id, continuous=rep.continuous, create_target=rep.create_target)


def _error(exc: ReplicationError) -> Response:
    url = exc.url or "the peer"
    if isinstance(exc, PeerUnauthorized):
        reason = f"unauthorized to access or create database {url}: {exc}"
        return json_response({"error": "unauthorized", "reason": reason}, 401)
    if isinstance(exc, DatabaseNotFound | PeerUnreachable):
        return json_response(
            {"error": "db_not_found", "reason": f"could not open {url}: {exc}"}, 404
        )
    return json_response({"error": "replication_failed", "reason": str(exc)}, 500)


def _completed(progress: Progress) -> Response:
    checkpoint = progress.checkpoint or {}
    body: dict[str, Any] = {
        "ok": True,
        "session_id": progress.session_id,
        "source_last_seq": progress.end_last_seq,
        "replication_id_version": REPLICATION_ID_VERSION,
        "history": checkpoint.get("history", []),
    }
    if progress.checkpoint is None:
        body["no_changes"] = True
    return json_response(body)


def _cancel(
    registry: JobRegistry, body: Mapping[str, Any], request: Request, uuid: str
) -> Response:
    wanted = body.get("replication_id")
    if wanted is None:
        wanted = _job_id(_replication(body, request, uuid))
    if not isinstance(wanted, str):
        raise BadRequest("`replication_id` must be a string")
    if registry.cancel(wanted):
        return json_response({"ok": True, "_local_id": wanted})
    base = wanted.split("+", 1)[0]
    for running in registry.jobs():  # the same replication started with other options
        if running.split("+", 1)[0] == base and registry.cancel(running):
            return json_response({"ok": True, "_local_id": running})
    return json_response(
        {"error": "not_found", "reason": f"no replication {wanted} is running"}, 404
    )


async def _started(job: ReplicationJob) -> Response | None:
    """Wait until a continuous job has verified its peers; an error response if it failed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_WAIT_SECONDS
    while job.progress.state is State.STARTING and not job.done and loop.time() < deadline:
        await asyncio.sleep(0.02)
    if job.done:
        try:
            await job.wait()
        except ReplicationError as exc:
            return _error(exc)
    return None


async def replicate_endpoint(ctx: Context, request: Request) -> Response:
    if not ctx.principal.is_admin:
        raise Forbidden("Only server admins may start or cancel replications.")
    body = await request.json_object()
    registry = replication_registry(ctx.settings.uuid)
    cancel = body.get("cancel", False)
    if not isinstance(cancel, bool):
        raise BadRequest("`cancel` must be a boolean")
    if cancel:
        return _cancel(registry, body, request, ctx.settings.uuid)
    rep = _replication(body, request, ctx.settings.uuid)
    local_id = _job_id(rep)
    job, _ = registry.start(local_id, rep)
    if rep.continuous:
        failed = await _started(job)
        return failed or json_response({"ok": True, "_local_id": local_id}, 202)
    try:
        progress = await job.wait()
    except ReplicationError as exc:
        return _error(exc)
    if progress.state is State.CANCELLED:
        reason = f"replication {local_id} was cancelled"
        return json_response({"error": "cancelled", "reason": reason}, 409)
    return _completed(progress)
