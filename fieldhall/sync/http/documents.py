"""``/{db}/{docid}``: GET (with ``rev``, ``revs``, ``open_revs``, ``latest``, …), PUT, DELETE,
``POST /{db}``, and ``multipart/related`` uploads as CouchDB's replicator sends them."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import orjson

from .. import revtree
from ..documents import IncomingDoc, parse_incoming
from ..errors import BadContentType, BadRequest, Conflict, NotFound
from ..store import DocState, RevisionRecord
from .asgi import Request, Response, json_response
from .context import Context
from .multipart import attachment_bytes, build_multipart, new_boundary, parse_multipart
from .render import RenderOptions, render_doc

__all__ = [
    "delete_document",
    "get_document",
    "latest_leaves",
    "post_document",
    "put_document",
    "read_incoming",
    "render_options",
    "requested_rev",
    "write_one",
]


def render_options(request: Request) -> RenderOptions:
    meta = request.flag("meta")
    atts_since = request.json_param("atts_since", [])
    if not isinstance(atts_since, list) or not all(isinstance(r, str) for r in atts_since):
        raise BadRequest("atts_since must be a JSON array of revs")
    return RenderOptions(
        revs=request.flag("revs"),
        revs_info=request.flag("revs_info") or meta,
        conflicts=request.flag("conflicts") or meta,
        deleted_conflicts=request.flag("deleted_conflicts") or meta,
        attachments=request.flag("attachments") or bool(atts_since),
        atts_since=atts_since,
    )


def requested_rev(request: Request) -> str | None:
    rev = request.query.get("rev")
    if rev is None:
        match = request.headers.get("if-match")
        rev = match.strip('"') if match else None
    if rev is not None:
        try:
            revtree.parse_rev(rev)
        except revtree.InvalidRev as exc:
            raise BadRequest(str(exc)) from exc
    return rev


def latest_leaves(state: DocState, rev: str) -> list[str]:
    """The leaves that ``rev`` led to (itself when it is a leaf)."""
    if revtree.is_leaf(state.tree, rev):
        return [rev]
    return [leaf for leaf in state.leaves() if rev in revtree.ancestry(state.tree, leaf)]


async def get_document(ctx: Context, request: Request, db: str, doc_id: str) -> Response:
    if "open_revs" in request.query:
        return await _get_open_revs(ctx, request, db, doc_id)
    rev = requested_rev(request)  # a malformed rev is a 400 even for a missing document
    state = await ctx.run(ctx.store.document, db, doc_id, ctx.principal)
    if rev is None:
        if state.deleted:
            raise NotFound("deleted")
        rev = state.winner
    elif rev not in state.tree:
        raise NotFound("missing")
    elif request.flag("latest"):
        rev = max(latest_leaves(state, rev), key=lambda r: (revtree.generation(r), r))
    records = await ctx.run(ctx.store.revisions, db, [(doc_id, rev)])
    record = records.get((doc_id, rev))
    if record is None:
        raise NotFound("missing")
    options = render_options(request)
    etag = [(b"etag", f'"{rev}"'.encode())]
    if options.attachments and "multipart/related" in request.headers.get("accept", ""):
        return await _multipart_related(ctx, state, record, options, etag)
    doc = await ctx.run(render_doc, state, record, options, ctx.store.blobs.read)
    return json_response(doc, headers=etag)


async def _multipart_related(
    ctx: Context,
    state: DocState,
    record: RevisionRecord,
    options: RenderOptions,
    extra: list[tuple[bytes, bytes]],
) -> Response:
    follows = RenderOptions(
        options.revs, options.revs_info, options.conflicts, options.deleted_conflicts,
        True, options.atts_since, follows=True,
    )  # fmt: skip
    doc = render_doc(state, record, follows, ctx.store.blobs.read)
    parts: list[tuple[list[tuple[str, str]], bytes]] = [
        ([("Content-Type", "application/json")], orjson.dumps(doc))
    ]
    for name, entry in doc.get("_attachments", {}).items():
        if entry.get("follows"):
            att = record.attachments[name]
            data = await ctx.run(ctx.store.blobs.read, att.sha256)
            parts.append(
                (
                    [
                        ("Content-Disposition", f'attachment; filename="{quote(name)}"'),
                        ("Content-Type", att.content_type),
                        ("Content-Length", str(len(data))),
                    ],
                    data,
                )
            )
    boundary = new_boundary()
    content_type = f'multipart/related; boundary="{boundary}"'.encode()
    return Response(
        200, build_multipart(parts, boundary), [(b"content-type", content_type), *extra]
    )


async def _get_open_revs(ctx: Context, request: Request, db: str, doc_id: str) -> Response:
    raw = request.query["open_revs"]
    state: DocState | None
    try:
        state = await ctx.run(ctx.store.document, db, doc_id, ctx.principal)
    except NotFound:
        state = None
    if raw == "all":
        wanted = state.leaves() if state else []
    else:
        try:
            wanted = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("open_revs must be 'all' or a JSON array of revs") from None
        if not isinstance(wanted, list) or not all(isinstance(r, str) for r in wanted):
            raise BadRequest("open_revs must be 'all' or a JSON array of revs")
        for rev in wanted:
            try:
                revtree.parse_rev(rev)
            except revtree.InvalidRev as exc:
                raise BadRequest(str(exc)) from exc
    if state is None and raw == "all":
        raise NotFound("missing")
    resolved: list[tuple[str, str | None]] = []  # (asked, found)
    for rev in wanted:
        if state is None or rev not in state.tree:
            resolved.append((rev, None))
        elif request.flag("latest"):
            resolved.extend((rev, leaf) for leaf in latest_leaves(state, rev))
        else:
            resolved.append((rev, rev))
    found_revs = list(dict.fromkeys(f for _, f in resolved if f is not None))
    records = await ctx.run(ctx.store.revisions, db, [(doc_id, r) for r in found_revs])
    options = render_options(request)
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for asked, found in resolved:
        record = records.get((doc_id, found)) if found else None
        if record is None or state is None:
            entries.append({"missing": asked})
        elif found not in seen:
            seen.add(found)  # type: ignore[arg-type]
            doc = await ctx.run(render_doc, state, record, options, ctx.store.blobs.read)
            entries.append({"ok": doc})
    if "multipart/mixed" in request.headers.get("accept", ""):
        boundary = new_boundary()
        parts: list[tuple[list[tuple[str, str]], bytes]] = []
        for entry in entries:
            if "ok" in entry:
                parts.append(([("Content-Type", "application/json")], orjson.dumps(entry["ok"])))
            else:
                payload = orjson.dumps({"missing": entry["missing"]})
                parts.append(([("Content-Type", 'application/json; error="true"')], payload))
        content_type = f'multipart/mixed; boundary="{boundary}"'.encode()
        return Response(200, build_multipart(parts, boundary), [(b"content-type", content_type)])
    return json_response(entries)


def _with_rev(raw: object, rev: str | None) -> object:
    """The body with the rev of ``?rev=`` / ``If-Match``, which must agree with ``_rev``."""
    if rev is None or not isinstance(raw, dict):
        return raw
    if "_rev" not in raw:
        return {**raw, "_rev": rev}
    if raw["_rev"] != rev:
        raise BadRequest("Document rev from request body and query string have different values")
    return raw


async def read_incoming(
    request: Request, *, new_edits: bool, doc_id: str | None = None, rev: str | None = None
) -> IncomingDoc:
    """A document from a JSON or ``multipart/related`` body."""
    content_type = request.content_type
    if content_type == "multipart/related":
        return await _read_multipart(request, new_edits=new_edits, doc_id=doc_id, rev=rev)
    if content_type and not content_type.endswith("json") and content_type != "text/plain":
        raise BadContentType()
    raw = _with_rev(await request.json(), rev)
    return parse_incoming(raw, new_edits=new_edits, doc_id=doc_id)


async def _read_multipart(
    request: Request, *, new_edits: bool, doc_id: str | None, rev: str | None
) -> IncomingDoc:
    body = await request.body()
    request.discard_body()
    parts = parse_multipart(body, request.header_param("content-type", "boundary"))
    if not parts or parts[0].content_type not in ("", "application/json"):
        raise BadRequest("multipart/related must start with a JSON document part")
    raw = _with_rev(request.parse_json(parts[0].body), rev)
    doc = parse_incoming(raw, new_edits=new_edits, doc_id=doc_id)
    following = [a for a in (doc.attachments or {}).values() if a.follows]
    if len(following) != len(parts) - 1:
        raise BadRequest("multipart/related: attachment parts do not match 'follows' entries")
    for att, part in zip(following, parts[1:], strict=True):
        att.data, att.follows = attachment_bytes(att, part, request.max_body), False
    return doc


async def write_one(ctx: Context, db: str, doc: IncomingDoc, *, new_edits: bool) -> Response:
    results = await ctx.run(
        ctx.store.bulk_docs, db, [doc], new_edits=new_edits, principal=ctx.principal
    )
    result = results[0]
    if result.error is not None:
        raise result.error
    body = {"ok": True, "id": result.doc_id, "rev": result.rev}
    headers = [(b"etag", f'"{result.rev}"'.encode())]
    return json_response(body, 201, headers)


async def put_document(ctx: Context, request: Request, db: str, doc_id: str) -> Response:
    new_edits = request.flag("new_edits", True)
    rev = requested_rev(request)
    doc = await read_incoming(request, new_edits=new_edits, doc_id=doc_id, rev=rev)
    response = await write_one(ctx, db, doc, new_edits=new_edits)
    if request.query.get("batch") == "ok":
        response.status = 202
    return response


async def post_document(ctx: Context, request: Request, db: str) -> Response:
    if not request.content_type.endswith("json"):
        raise BadContentType()
    raw = await request.json()
    doc = parse_incoming(raw, new_edits=True, generate_id=lambda: uuid.uuid4().hex)
    return await write_one(ctx, db, doc, new_edits=True)


async def delete_document(ctx: Context, request: Request, db: str, doc_id: str) -> Response:
    rev = requested_rev(request)
    # As CouchDB: a missing document is 404 "missing", a deleted one 404 "deleted".
    state = await ctx.run(ctx.store.document, db, doc_id, ctx.principal)
    if state.deleted:
        raise NotFound("deleted")
    if rev is None:
        raise Conflict()
    doc = IncomingDoc(doc_id, rev, None, True, {}, None)
    response = await write_one(ctx, db, doc, new_edits=True)
    response.status = 200
    return response
