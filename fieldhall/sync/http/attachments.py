"""Standalone attachments: ``GET/HEAD/PUT/DELETE /{db}/{docid}/{name}``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import BinaryIO

from ..documents import IncomingAttachment, IncomingDoc, StoredAttachment
from ..errors import BadRequest, Conflict, NotFound
from .asgi import Request, Response, StreamingResponse
from .context import Context
from .documents import requested_rev, write_one

__all__ = ["delete_attachment", "get_attachment", "put_attachment"]


async def get_attachment(
    ctx: Context, request: Request, db: str, doc_id: str, name: str
) -> StreamingResponse | Response:
    rev = requested_rev(request)
    state = await ctx.run(ctx.store.document, db, doc_id, ctx.principal)
    if rev is None:
        if state.deleted:
            raise NotFound("deleted")
        rev = state.winner
    if rev not in state.tree:
        raise NotFound("missing")
    records = await ctx.run(ctx.store.revisions, db, [(doc_id, rev)])
    record = records.get((doc_id, rev))
    att = record.attachments.get(name) if record else None
    if att is None:
        raise NotFound("Document is missing attachment")
    md5 = att.digest.removeprefix("md5-")
    headers = [
        (b"content-type", att.content_type.encode("latin-1", "replace")),
        (b"content-length", str(att.length).encode()),
        (b"etag", f'"{md5}"'.encode()),
        (b"content-md5", md5.encode()),
        (b"accept-ranges", b"none"),
    ]
    if request.headers.get("if-none-match", "").strip('"') == md5:
        return Response(304, b"", headers[2:3])
    if request.method == "HEAD":
        return Response(200, b"", headers)
    # Opened before the status is sent: missing bytes are a 500, not a cut-off 200.
    handle = await ctx.run(ctx.store.blobs.open, att.sha256)
    return StreamingResponse(_chunks(ctx, handle), 200, headers)


async def _chunks(ctx: Context, handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await ctx.run(handle.read, 1 << 20):
            yield chunk
    finally:
        handle.close()


async def _current(ctx: Context, db: str, doc_id: str, rev: str | None) -> IncomingDoc:
    """The document an attachment edit starts from, every attachment as a stub."""
    try:
        state = await ctx.run(ctx.store.document, db, doc_id, ctx.principal)
    except NotFound as exc:
        if rev is None:
            return IncomingDoc(doc_id, None, None, False, {}, {})
        if exc.reason == "missing":  # as CouchDB: a rev of a missing document is a conflict
            raise Conflict() from exc
        raise
    if rev is None:
        if not state.deleted:
            raise Conflict()
        return IncomingDoc(doc_id, None, None, False, {}, {})
    records = await ctx.run(ctx.store.revisions, db, [(doc_id, rev)])
    record = records.get((doc_id, rev))
    if record is None:
        raise Conflict()
    stubs = {
        n: IncomingAttachment(n, a.content_type, stub=True, digest=a.digest)
        for n, a in record.attachments.items()
    }
    return IncomingDoc(doc_id, rev, None, False, dict(record.body), stubs)


async def put_attachment(
    ctx: Context, request: Request, db: str, doc_id: str, name: str
) -> Response:
    if not name or name.startswith("_"):
        raise BadRequest("Attachment name can't start with '_'")
    rev = requested_rev(request)
    doc = await _current(ctx, db, doc_id, rev)
    content_type = request.headers.get("content-type", "application/octet-stream")
    writer = ctx.store.blobs.writer()
    try:
        async for chunk in request.stream():
            await ctx.run(writer.write, chunk)
        info = await ctx.run(writer.commit)
    finally:
        writer.abort()
    declared_md5 = request.headers.get("content-md5")
    if declared_md5 and "md5-" + declared_md5 != info.md5_digest:
        raise BadRequest("Content-MD5 does not match the attachment", error="content_md5_mismatch")
    attachment = IncomingAttachment(name, content_type)
    attachment.resolved = StoredAttachment(
        content_type, info.length, info.md5_digest, info.sha256, 0
    )
    assert doc.attachments is not None
    doc.attachments[name] = attachment
    return await write_one(ctx, db, doc, new_edits=True)


async def delete_attachment(
    ctx: Context, request: Request, db: str, doc_id: str, name: str
) -> Response:
    rev = requested_rev(request)
    if rev is None:
        raise Conflict()
    doc = await _current(ctx, db, doc_id, rev)
    if not doc.attachments or name not in doc.attachments:
        raise NotFound("Document is missing attachment")
    del doc.attachments[name]
    response = await write_one(ctx, db, doc, new_edits=True)
    response.status = 200
    return response
