"""``_bulk_docs``, ``_bulk_get`` and ``_revs_diff``: the replication write and read paths.

One bad document in ``_bulk_docs`` gets its own error entry; the rest of the batch is stored.
``_bulk_get`` answers in request order, an unknown revision as an error entry.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from .. import revtree
from ..documents import IncomingDoc, parse_incoming
from ..errors import BadRequest, CouchError
from ..store import WriteResult
from .asgi import Request, Response, json_response
from .context import INLINE_BATCH, Context
from .documents import latest_leaves, render_options
from .render import RenderOptions, render_doc

__all__ = ["bulk_docs", "bulk_get", "revs_diff"]


class _DocError(BadRequest):
    def __init__(self, doc_id: str, error: CouchError) -> None:
        super().__init__(error.reason, error=error.error_name)
        self.doc_id = doc_id


async def bulk_docs(ctx: Context, request: Request, db: str) -> Response:
    body = await request.json_object(require_content_type=True)
    request.discard_body()
    raw_docs = body.get("docs")
    if not isinstance(raw_docs, list):
        raise BadRequest("POST body must include `docs` parameter.")
    new_edits = body.get("new_edits", True)
    if not isinstance(new_edits, bool):
        raise BadRequest("`new_edits` parameter must be a boolean.")
    docs: list[IncomingDoc | CouchError] = []
    for index, raw in enumerate(raw_docs):
        raw_docs[index] = None  # its base64 strings can go once their bytes are decoded
        try:
            docs.append(parse_incoming(raw, new_edits=new_edits, generate_id=_new_id))
        except CouchError as exc:
            doc_id = raw.get("_id") if isinstance(raw, dict) else None
            docs.append(_DocError(doc_id if isinstance(doc_id, str) else "", exc))
    del body, raw_docs
    results = await ctx.run(
        ctx.store.bulk_docs, db, docs, new_edits=new_edits, principal=ctx.principal
    )
    if new_edits:
        return json_response([r.to_json() for r in results], 201)
    # As CouchDB: with new_edits=false only failures are reported, each with its rev.
    return json_response(
        [_replicated_error(d, r) for d, r in zip(docs, results, strict=True) if r.error], 201
    )


def _replicated_error(doc: IncomingDoc | CouchError, result: WriteResult) -> dict[str, Any]:
    entry = result.to_json()
    if isinstance(doc, IncomingDoc) and doc.rev is not None:
        entry = {
            "id": entry["id"],
            "rev": doc.rev,
            "error": entry["error"],
            "reason": entry["reason"],
        }
    return entry


def _new_id() -> str:
    return uuid.uuid4().hex


async def revs_diff(ctx: Context, request: Request, db: str) -> Response:
    body = await request.json_object()
    for doc_id, revs in body.items():
        if not isinstance(revs, list) or not all(isinstance(r, str) for r in revs):
            raise BadRequest(f"revs_diff: revisions of {doc_id!r} must be a list of strings")
    clean: dict[str, list[str]] = {}
    malformed: dict[str, list[str]] = {}
    for doc_id, revs in body.items():
        for rev in revs:
            (clean if _is_rev(rev) else malformed).setdefault(doc_id, []).append(rev)
        clean.setdefault(doc_id, [])
    answer = await ctx.read(ctx.store.revs_diff, db, clean, ctx.principal)
    for doc_id, bad in malformed.items():  # malformed revs are simply missing
        answer.setdefault(doc_id, {"missing": []})["missing"].extend(bad)
    return json_response(answer)


def _is_rev(value: str) -> bool:
    try:
        revtree.parse_rev(value)
    except revtree.InvalidRev:
        return False
    return True


async def bulk_get(ctx: Context, request: Request, db: str) -> Response:
    body = await request.json_object()
    wanted = body.get("docs")
    if not isinstance(wanted, list):
        raise BadRequest("Missing JSON list of 'docs'.")
    options = render_options(request)
    latest = request.flag("latest")
    # One worker-thread hop for the whole batch (none without attachment bytes to read):
    # loading and rendering 100 documents one hop each costs more than the work itself.
    reads_blobs = options.attachments or any(
        isinstance(item, dict) and item.get("atts_since") for item in wanted
    )
    if reads_blobs or len(wanted) > INLINE_BATCH:
        results = await ctx.run(_bulk_get, ctx, db, wanted, options, latest)
    else:
        results = await ctx.read(_bulk_get, ctx, db, wanted, options, latest)
    return json_response({"results": results})


def _bulk_get(
    ctx: Context, db: str, wanted: list[Any], options: RenderOptions, latest: bool
) -> list[dict[str, Any]]:
    store = ctx.store
    ids = [w["id"] for w in wanted if isinstance(w, dict) and isinstance(w.get("id"), str)]
    states = store.documents(db, ids, ctx.principal)
    plan: list[tuple[str, list[tuple[str | None, str | None]], Any]] = []
    pairs: list[tuple[str, str]] = []
    for item in wanted:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            plan.append(("", [], None))
            continue
        doc_id = item["id"]
        rev = item.get("rev")
        state = states.get(doc_id)
        targets: list[tuple[str | None, str | None]] = []
        if state is None:
            targets.append((rev, None))
        elif rev is None:
            targets.append((None, state.winner))
        elif rev not in state.tree:
            targets.append((rev, None))
        elif latest:
            targets.extend((rev, leaf) for leaf in latest_leaves(state, rev))
        else:
            targets.append((rev, rev))
        pairs.extend((doc_id, found) for _, found in targets if found)
        plan.append((doc_id, targets, item.get("atts_since")))
    records = store.revisions(db, pairs)
    results: list[dict[str, Any]] = []
    for doc_id, targets, atts_since in plan:
        if not targets:
            results.append(
                {"id": doc_id, "docs": [{"error": _error(doc_id, None, "bad_request", "")}]}
            )
            continue
        docs: list[dict[str, Any]] = []
        for asked, found in targets:
            record = records.get((doc_id, found)) if found else None
            state = states.get(doc_id)
            if record is None or state is None:
                docs.append({"error": _error(doc_id, asked, "not_found", "missing")})
                continue
            item_options = options
            if isinstance(atts_since, list) and atts_since:
                item_options = replace(options, attachments=True, atts_since=atts_since)
            docs.append({"ok": render_doc(state, record, item_options, store.blobs.read)})
        results.append({"id": doc_id, "docs": docs})
    return results


def _error(doc_id: str, rev: str | None, error: str, reason: str) -> dict[str, Any]:
    return {
        "id": doc_id,
        "rev": rev if rev is not None else "undefined",
        "error": error,
        "reason": reason,
    }
