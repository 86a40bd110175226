"""Database-level endpoints: info, create, delete, ``_revs_limit``, ``_compact``,
``_ensure_full_commit``."""

from __future__ import annotations

from ..errors import BadRequest
from .asgi import Request, Response, json_response
from .context import Context

__all__ = [
    "compact",
    "create_database",
    "database_info",
    "delete_database",
    "ensure_full_commit",
    "revs_limit",
]


async def database_info(ctx: Context, request: Request, db: str) -> Response:
    info = await ctx.read(ctx.store.info, db, ctx.principal)
    return json_response(
        {
            "db_name": info.name,
            "update_seq": str(info.update_seq),
            "purge_seq": "0",
            "doc_count": info.doc_count,
            "doc_del_count": info.doc_del_count,
            "sizes": {"file": 0, "external": 0, "active": 0},
            "props": {},
            "compact_running": False,
            "disk_format_version": 8,
            "instance_start_time": "0",
            "cluster": {"q": 1, "n": 1, "w": 1, "r": 1},
        }
    )


async def create_database(ctx: Context, request: Request, db: str) -> Response:
    await ctx.run(ctx.store.create_database, db)
    return json_response({"ok": True}, 201, [(b"location", b"/" + db.encode())])


async def delete_database(ctx: Context, request: Request, db: str) -> Response:
    if "rev" in request.query:
        raise BadRequest(
            "You tried to DELETE a database with a ?rev= parameter. Did you mean to DELETE a"
            " document instead?"
        )
    await ctx.run(ctx.store.delete_database, db)
    return json_response({"ok": True})


async def revs_limit(ctx: Context, request: Request, db: str) -> Response:
    if request.method == "GET":
        return json_response(await ctx.run(ctx.store.get_revs_limit, db))
    value = await request.json()
    await ctx.run(ctx.store.set_revs_limit, db, value)
    return json_response({"ok": True})


async def compact(ctx: Context, request: Request, db: str) -> Response:
    if request.content_type != "application/json":
        from ..errors import BadContentType

        raise BadContentType()
    await ctx.run(ctx.store.compact, db)
    return json_response({"ok": True}, 202)


async def ensure_full_commit(ctx: Context, request: Request, db: str) -> Response:
    await ctx.run(ctx.store.info, db, ctx.principal)  # 404 for a missing database
    # Every write is durable when acknowledged; there is nothing left to flush.
    return json_response({"ok": True, "instance_start_time": "0"}, 201)
