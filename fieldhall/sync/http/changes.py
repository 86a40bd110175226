"""``/{db}/_changes``: ``normal``, ``longpoll`` and ``continuous`` feeds with CouchDB's
parameters and the ``_doc_ids`` and ``_selector`` filters.

Feeds that wait stream their response: headers first, then heartbeat newlines, then rows —
continuous rows line by line as they happen, never buffered or compressed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import OperationalError

from ..errors import BadRequest, CouchError, ServiceUnavailable
from ..mango import InvalidSelector, compile_selector
from ..store import DocState, RevisionRecord
from .asgi import JSON_HEADERS, Request, Response, StreamingResponse, json_response
from .context import INLINE_BATCH, Context
from .render import RenderOptions, render_doc

__all__ = ["changes", "parse_since"]


def parse_since(value: Any) -> int | None:
    """CouchDB seqs are opaque strings; ours are ``"N"`` (older clients send integers).
    ``None`` means ``now``."""
    if value is None or value == "" or value == 0:
        return 0
    if value == "now":
        return None
    if isinstance(value, bool):
        raise BadRequest("since must be a sequence")
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str):
        head = value.split("-", 1)[0]
        if head.isdigit():
            return int(head)
        if value.startswith("[") or value.startswith('"'):
            try:
                return parse_since(orjson.loads(value))
            except orjson.JSONDecodeError:
                pass
    if isinstance(value, list) and value:
        return parse_since(value[0])
    raise BadRequest(f"Malformed sequence supplied in 'since' parameter: {value!r}")


def format_seq(seq: int) -> str:
    return str(seq)


@dataclass(frozen=True, slots=True)
class _Feed:
    db: str
    style_all: bool
    include_docs: bool
    options: RenderOptions
    doc_ids: list[str] | None
    matcher: Callable[[DocState, RevisionRecord | None], bool] | None
    descending: bool
    limit: int | None


async def _params(ctx: Context, request: Request, db: str) -> _Feed:
    body: dict[str, Any] = {}
    if request.method == "POST":
        raw = await request.body()
        if raw.strip():
            body = await request.json_object()
    flt = request.query.get("filter") or body.get("filter")
    doc_ids: list[str] | None = None
    matcher = None
    if flt == "_doc_ids":
        ids = body.get("doc_ids", request.json_param("doc_ids"))
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise BadRequest("filter=_doc_ids requires a `doc_ids` JSON array")
        doc_ids = ids
    elif flt == "_selector":
        selector = body.get("selector", request.json_param("selector"))
        if not isinstance(selector, dict):
            raise BadRequest("filter=_selector requires a `selector` JSON object")
        try:
            match = compile_selector(selector)
        except InvalidSelector as exc:
            raise BadRequest(f"Invalid selector: {exc}", error="bad_request") from exc

        def matcher_fn(state: DocState, record: RevisionRecord | None) -> bool:
            if record is None:
                return False
            doc = {"_id": state.doc_id, "_rev": record.rev, **record.body}
            if record.deleted:
                doc["_deleted"] = True
            return match(doc)

        matcher = matcher_fn
    elif flt == "_design":
        raise BadRequest("filter=_design is not supported: design documents have no views here")
    elif flt == "_view" or (flt and "/" in flt):
        raise BadRequest(f"filter {flt} is not supported: design document functions are not run")
    elif flt:
        raise BadRequest(f"`{flt}` is not a supported filter")
    include_docs = request.flag("include_docs")
    return _Feed(
        db=db,
        style_all=request.query.get("style") == "all_docs",
        include_docs=include_docs,
        options=RenderOptions(
            conflicts=request.flag("conflicts"),
            attachments=request.flag("attachments"),
        ),
        doc_ids=doc_ids,
        matcher=matcher,
        descending=request.flag("descending"),
        limit=_limit(request),
    )


def _limit(request: Request) -> int | None:
    limit = request.integer("limit")
    # CouchDB: "using 0 here has the same effect as 1" (a 0 would also end the feed at once
    # with the current last_seq, and a client would skip every change).
    return 1 if limit == 0 else limit


async def _rows(
    ctx: Context, feed: _Feed, since: int, limit: int | None
) -> tuple[list[dict[str, Any]], int]:
    # One worker-thread hop for the page: the query, the bodies and the rendering.
    return await ctx.run(_rows_now, ctx, feed, since, limit)


def _rows_now(
    ctx: Context, feed: _Feed, since: int, limit: int | None
) -> tuple[list[dict[str, Any]], int]:
    states, last = ctx.store.changes(
        feed.db,
        since=since,
        limit=limit,
        descending=feed.descending,
        principal=ctx.principal,
        doc_ids=feed.doc_ids,
        match=feed.matcher,
    )
    return _render_rows(ctx, feed, states), last


def _render_rows(ctx: Context, feed: _Feed, states: list[DocState]) -> list[dict[str, Any]]:
    records: dict[tuple[str, str], RevisionRecord] = {}
    if feed.include_docs and states:
        records = ctx.store.revisions(feed.db, [(s.doc_id, s.winner) for s in states])
    rows = []
    for state in states:
        revs = state.leaves() if feed.style_all else [state.winner]
        row: dict[str, Any] = {
            "seq": format_seq(state.seq),
            "id": state.doc_id,
            "changes": [{"rev": r} for r in revs],
        }
        if state.deleted:
            row["deleted"] = True
        if feed.include_docs:
            record = records.get((state.doc_id, state.winner))
            row["doc"] = (
                render_doc(state, record, feed.options, ctx.store.blobs.read) if record else None
            )
        rows.append(row)
    return rows


async def _now(ctx: Context, db: str) -> int:
    info = await ctx.run(ctx.store.info, db, ctx.principal)
    return info.update_seq


def _normal_now(ctx: Context, feed: _Feed, since: int | None) -> dict[str, Any]:
    """A ``normal`` feed's whole answer in one worker-thread hop (a replication asks for
    hundreds of pages): the database checked, the page and what is left after it (only a full
    page can leave any; selector feeds scan to the end and report 0), in one transaction."""
    if since is None:  # only "now" needs the database's info: for a device it walks its channels
        since = ctx.store.info(feed.db, ctx.principal).update_seq
    states, last, pending = ctx.store.changes_and_pending(  # a missing database: 404
        feed.db,
        since=since,
        limit=feed.limit,
        descending=feed.descending,
        principal=ctx.principal,
        doc_ids=feed.doc_ids,
        match=feed.matcher,
    )
    rows = _render_rows(ctx, feed, states)
    return {"results": rows, "last_seq": format_seq(last), "pending": pending}


async def changes(ctx: Context, request: Request, db: str) -> Response | StreamingResponse:
    feed_type = request.query.get("feed", "normal")
    if feed_type not in ("normal", "longpoll", "continuous", "eventsource"):
        raise BadRequest("Supported `feed` types: normal, continuous, longpoll, eventsource")
    feed = await _params(ctx, request, db)
    since = parse_since(request.query.get("since"))
    if feed_type == "normal" or (feed_type == "longpoll" and feed.descending):
        bounded = (
            feed.matcher is None
            and feed.limit is not None
            and feed.limit <= INLINE_BATCH
            and not (feed.include_docs and feed.options.attachments)
        )
        answer = await (ctx.read if bounded else ctx.run)(_normal_now, ctx, feed, since)
        _heartbeat(request)  # checked as for any feed, after the database's 404
        request.integer("timeout")
        return json_response(answer)
    # A missing database is a 404 before any feed starts streaming.
    now = await _now(ctx, db)
    if since is None:
        since = now
    heartbeat = _heartbeat(request)
    timeout_ms = request.integer("timeout", ctx.settings.changes_timeout_ms) or 0
    if feed_type == "longpoll":
        return StreamingResponse(
            _ending_with_errors(_longpoll(ctx, request, feed, since, heartbeat, timeout_ms)),
            200,
            list(JSON_HEADERS),
        )
    eventsource = feed_type == "eventsource"
    return StreamingResponse(
        _ending_with_errors(
            _continuous(ctx, request, feed, since, heartbeat, timeout_ms, eventsource)
        ),
        200,
        [
            (
                b"content-type",
                b"text/event-stream" if feed_type == "eventsource" else b"application/json",
            ),
            (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no"),
        ],
    )


async def _ending_with_errors(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Once a feed has started, an error (the database deleted under it) can no longer change
    the status: as CouchDB does, send it as a last JSON line and end the response cleanly."""
    try:
        async for chunk in chunks:
            yield chunk
    except CouchError as exc:
        yield b"\n" + orjson.dumps(exc.to_json()) + b"\n"
    except OperationalError:  # the database is unavailable: temporary, the client retries
        yield b"\n" + orjson.dumps(ServiceUnavailable().to_json()) + b"\n"


def _heartbeat(request: Request) -> float | None:
    value = request.query.get("heartbeat")
    if value is None:
        return None
    if value == "true":
        return 60.0
    try:
        ms = int(value)
    except ValueError:
        raise BadRequest("heartbeat must be an integer (milliseconds) or true") from None
    if ms < 0:
        raise BadRequest("heartbeat must be positive")
    return max(ms, 10) / 1000.0


async def _wait(ctx: Context, feed: _Feed, deadline: float | None, step: float | None) -> None:
    remaining = [x for x in (step, None if deadline is None else deadline - time.monotonic()) if x]
    await ctx.store.notifier.wait(feed.db, max(0.0, min(remaining)) if remaining else 60.0)


async def _longpoll(
    ctx: Context, request: Request, feed: _Feed, since: int,
    heartbeat: float | None, timeout_ms: int,
) -> AsyncIterator[bytes]:  # fmt: skip
    deadline = time.monotonic() + timeout_ms / 1000.0
    next_beat = time.monotonic() + heartbeat if heartbeat else None
    while True:
        rows, last = await _rows(ctx, feed, since, feed.limit)
        if rows or time.monotonic() >= deadline:
            yield orjson.dumps(
                {"results": rows, "last_seq": format_seq(max(last, since)), "pending": 0}
            )
            yield b"\n"
            return
        if next_beat is not None and time.monotonic() >= next_beat:
            yield b"\n"
            next_beat = time.monotonic() + (heartbeat or 0)
        step = (next_beat - time.monotonic()) if next_beat is not None else None
        await _wait(ctx, feed, deadline, step)


async def _continuous(
    ctx: Context, request: Request, feed: _Feed, since: int,
    heartbeat: float | None, timeout_ms: int, eventsource: bool,
) -> AsyncIterator[bytes]:  # fmt: skip
    # With a heartbeat the feed runs until the client leaves; without, until `timeout`.
    deadline = None if heartbeat else time.monotonic() + timeout_ms / 1000.0
    next_beat = time.monotonic() + heartbeat if heartbeat else None
    remaining = feed.limit
    while True:
        batch_limit = min(remaining, 500) if remaining is not None else 500
        rows, last = await _rows(ctx, feed, since, batch_limit)
        for row in rows:
            if eventsource:
                yield b"data: " + orjson.dumps(row) + b"\nid: " + row["seq"].encode() + b"\n\n"
            else:
                yield orjson.dumps(row) + b"\n"
        if rows:
            since = int(rows[-1]["seq"])
            if remaining is not None:
                remaining -= len(rows)
                if remaining <= 0:
                    break
            continue
        if feed.matcher is not None or feed.doc_ids is not None:
            since = max(since, last)  # the filtered scan already covered up to `last`
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        if next_beat is not None and now >= next_beat:
            yield b"\n"
            next_beat = now + (heartbeat or 0)
        step = (next_beat - time.monotonic()) if next_beat is not None else None
        await _wait(ctx, feed, deadline, step)
    if not eventsource:
        yield orjson.dumps({"last_seq": format_seq(since), "pending": 0}) + b"\n"
