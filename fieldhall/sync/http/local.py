"""``/{db}/_local/{id}``: replication checkpoints. No revision tree (rev ``0-N``), never in
feeds or ``_all_docs``; for non-admin principals, in a namespace of their own."""

from __future__ import annotations

from .asgi import Request, Response, json_response
from .context import Context

__all__ = ["delete_local", "get_local", "put_local"]


async def get_local(ctx: Context, request: Request, db: str, doc_id: str) -> Response:
    doc = await ctx.read(ctx.store.get_local, db, doc_id, ctx.principal)
    return json_response(doc, headers=[(b"etag", f'"{doc["_rev"]}"'.encode())])


async def put_local(ctx: Context, request: Request, db: str, doc_id: str) -> Response:
    body = await request.json_object()
    rev = body.get("_rev") or request.query.get("rev")
    rev = rev if isinstance(rev, str) else None
    new_rev = await ctx.run(ctx.store.put_local, db, doc_id, body, rev, ctx.principal)
    return json_response({"ok": True, "id": doc_id, "rev": new_rev}, 201)


async def delete_local(ctx: Context, request: Request, db: str, doc_id: str) -> Response:
    rev = request.query.get("rev") or request.headers.get("if-match", "").strip('"') or None
    await ctx.run(ctx.store.put_local, db, doc_id, {}, rev, ctx.principal, delete_it=True)
    return json_response({"ok": True, "id": doc_id, "rev": "0-0"})
