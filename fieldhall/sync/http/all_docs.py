"""``/{db}/_all_docs``: live documents in id order, or the rows of given ``keys``."""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest
from ..store import DocState
from .asgi import Request, Response, json_response
from .context import Context
from .render import RenderOptions, render_doc

__all__ = ["all_docs"]


def _key(request: Request, body: dict[str, Any], *names: str) -> str | None:
    for name in names:
        if name in body:
            value = body[name]
        elif name in request.query:
            value = request.json_param(name)
        else:
            continue
        if value is None:
            return None
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a JSON string (document ids are strings)")
        return value
    return None


async def all_docs(ctx: Context, request: Request, db: str) -> Response:
    body: dict[str, Any] = {}
    if request.method == "POST":
        body = await request.json_object()
    keys = body.get("keys", request.json_param("keys"))
    include_docs = bool(body.get("include_docs", request.flag("include_docs")))
    descending = bool(body.get("descending", request.flag("descending")))
    options = RenderOptions(
        conflicts=bool(body.get("conflicts", request.flag("conflicts"))),
        attachments=bool(body.get("attachments", request.flag("attachments"))),
    )
    limit = body.get("limit", request.integer("limit"))
    skip = body.get("skip", request.integer("skip", 0)) or 0
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise BadRequest("limit must be a non-negative integer")
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise BadRequest("skip must be a non-negative integer")
    if keys is not None:
        if not isinstance(keys, list):
            raise BadRequest("`keys` must be an array of strings")
        return await _by_keys(ctx, db, keys, include_docs, options, skip, limit)
    start = _key(request, body, "startkey", "start_key")
    end = _key(request, body, "endkey", "end_key")
    inclusive_end = bool(body.get("inclusive_end", request.flag("inclusive_end", True)))
    states, total = await ctx.run(
        ctx.store.all_docs, db, principal=ctx.principal, start=start, end=end,
        inclusive_end=inclusive_end, descending=descending, limit=limit, skip=skip,
    )  # fmt: skip
    rows = await _render_rows(ctx, db, states, include_docs, options)
    info: dict[str, Any] = {"total_rows": total, "offset": skip, "rows": rows}
    if request.flag("update_seq"):
        db_info = await ctx.run(ctx.store.info, db, ctx.principal)
        info["update_seq"] = str(db_info.update_seq)
    return json_response(info)


async def _render_rows(
    ctx: Context, db: str, states: list[DocState], include_docs: bool, options: RenderOptions
) -> list[dict[str, Any]]:
    records = {}
    if include_docs and states:
        records = await ctx.run(ctx.store.revisions, db, [(s.doc_id, s.winner) for s in states])
    rows: list[dict[str, Any]] = []
    for state in states:
        row: dict[str, Any] = {
            "id": state.doc_id,
            "key": state.doc_id,
            "value": {"rev": state.winner},
        }
        if state.deleted:
            row["value"]["deleted"] = True
        if include_docs:
            record = records.get((state.doc_id, state.winner))
            row["doc"] = (
                None
                if record is None or state.deleted
                else render_doc(state, record, options, ctx.store.blobs.read)
            )
        rows.append(row)
    return rows


async def _by_keys(
    ctx: Context, db: str, keys: list[Any], include_docs: bool, options: RenderOptions,
    skip: int, limit: int | None,
) -> Response:  # fmt: skip
    ids = [k for k in keys if isinstance(k, str)]
    states = await ctx.run(ctx.store.documents, db, ids, ctx.principal)
    found = [states[k] for k in ids if k in states]
    rendered = {r["id"]: r for r in await _render_rows(ctx, db, found, include_docs, options)}
    rows: list[dict[str, Any]] = []
    for key in keys:
        if isinstance(key, str) and key in rendered:
            rows.append(rendered[key])
        else:
            rows.append({"key": key, "error": "not_found"})
    rows = rows[skip:]
    if limit is not None:
        rows = rows[:limit]
    info = await ctx.run(ctx.store.info, db, ctx.principal)
    return json_response({"total_rows": info.doc_count, "offset": skip, "rows": rows})
