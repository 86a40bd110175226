"""Step 6: write the fetched revisions to the target, as they are (``new_edits=false``).

Revisions go in ``_bulk_docs`` batches of at most :data:`WRITE_BATCH_BYTES`; a revision
carrying more than :data:`LARGE_ATTACHMENTS_BYTES` of attachment bytes goes alone as
``PUT /db/doc?new_edits=false`` in ``multipart/related``, raw bytes instead of base64.

A revision the target refuses (``forbidden``, ``unauthorized``, invalid, too large) is
counted in ``doc_write_failures`` and skipped, as CouchDB does: the checkpoint moves past it
and it is not sent again. A ``missing_stub`` refusal (the target lacks an attachment we
thought it had) is handed back so the job can fetch the revision with all its bytes.
Whole-request failures follow :mod:`.client`: 5xx and network errors are retried by the job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .attachments import for_bulk_docs, inline_size, to_multipart
from .client import PeerClient, doc_path
from .progress import Stats

__all__ = [
    "LARGE_ATTACHMENTS_BYTES",
    "WRITE_BATCH_BYTES",
    "DocFailure",
    "Written",
    "plan_writes",
    "write_docs",
]

log = logging.getLogger("fieldhall.sync.replicator")

Doc = dict[str, Any]

WRITE_BATCH_BYTES = 4 * 1024 * 1024
"""Largest ``_bulk_docs`` body we send (CouchDB's replicator flushes at 4 MB too): both
ends hold a whole batch in memory, and one lost connection costs one batch to resend."""

LARGE_ATTACHMENTS_BYTES = 256 * 1024
"""Attachment bytes above which a revision is written alone in ``multipart/related``: base64
inside JSON costs a third more bytes and a JSON parse of the whole batch, while one more
request per large document costs little next to its transfer."""

_PER_DOC_REFUSALS = (400, 401, 403, 409, 413, 415)


@dataclass(frozen=True, slots=True)
class DocFailure:
    doc_id: str
    rev: str | None
    error: str
    reason: str


@dataclass(frozen=True, slots=True)
class Written:
    written: int = 0
    failures: tuple[DocFailure, ...] = ()
    missing_stubs: tuple[Doc, ...] = ()  # revisions to fetch again with every attachment

    def __add__(self, other: Written) -> Written:
        return Written(
            self.written + other.written,
            self.failures + other.failures,
            self.missing_stubs + other.missing_stubs,
        )

    @property
    def stats(self) -> Stats:
        return Stats(docs_written=self.written, doc_write_failures=len(self.failures))


def plan_writes(
    docs: Sequence[Doc], *, max_batch_bytes: int = WRITE_BATCH_BYTES
) -> tuple[list[list[tuple[Doc, bytes]]], list[Doc]]:
    """``(batches for _bulk_docs, documents to write alone)``; each batch holds documents
    with their JSON encoding, at most ``max_batch_bytes`` of it (or one document)."""
    batches: list[list[tuple[Doc, bytes]]] = []
    alone: list[Doc] = []
    current: list[tuple[Doc, bytes]] = []
    size = 0
    for doc in docs:
        if inline_size(doc) > LARGE_ATTACHMENTS_BYTES:
            alone.append(doc)
            continue
        encoded = orjson.dumps(for_bulk_docs(doc))
        if current and size + len(encoded) > max_batch_bytes:
            batches.append(current)
            current, size = [], 0
        current.append((doc, encoded))
        size += len(encoded) + 1
    if current:
        batches.append(current)
    return batches, alone


def _failure(doc: Mapping[str, Any], error: str, reason: str) -> DocFailure:
    rev = doc.get("_rev")
    log.warning("target refused %s %s: %s: %s", doc.get("_id"), rev, error or "error", reason)
    return DocFailure(str(doc.get("_id")), rev if isinstance(rev, str) else None, error, reason)


async def _bulk_docs(client: PeerClient, batch: Sequence[tuple[Doc, bytes]]) -> Written:
    body = b'{"new_edits":false,"docs":[' + b",".join(e for _, e in batch) + b"]}"
    reply = await client.request(
        "POST",
        "_bulk_docs",
        content=body,
        headers={"content-type": "application/json"},
        expect=(200, 201, 202, 400, 413),
    )
    if reply.status in (400, 413):
        # Too large, or one bad document spoiling the request: halve until it is isolated.
        if len(batch) == 1:
            error, reason = reply.error()
            return Written(failures=(_failure(batch[0][0], error or str(reply.status), reason),))
        middle = len(batch) // 2
        return await _bulk_docs(client, batch[:middle]) + await _bulk_docs(client, batch[middle:])
    data = reply.json()
    entries = data if isinstance(data, list) else []
    errors = [e for e in entries if isinstance(e, Mapping) and e.get("error")]
    failures: list[DocFailure] = []
    stubs: list[Doc] = []
    by_id: dict[str, list[Doc]] = {}
    for doc, _ in batch:
        by_id.setdefault(str(doc.get("_id")), []).append(doc)
    for entry in errors:
        doc_id, rev = str(entry.get("id")), entry.get("rev")
        candidates = [d for d in by_id.get(doc_id, []) if rev is None or d.get("_rev") == rev]
        if entry.get("error") == "missing_stub" and candidates:
            stubs.extend(candidates)  # without a rev in the reply, refetch each of them
            continue
        doc = candidates[0] if candidates else {"_id": doc_id, "_rev": rev}
        failures.append(_failure(doc, str(entry.get("error")), str(entry.get("reason", ""))))
    written = len(batch) - len(failures) - len(stubs)
    return Written(max(written, 0), tuple(failures), tuple(stubs))


async def _put_multipart(client: PeerClient, doc: Doc) -> Written:
    content_type, body = to_multipart(doc)
    reply = await client.request(
        "PUT",
        doc_path(str(doc["_id"])),
        params={"new_edits": "false"},
        content=body,
        headers={"content-type": content_type},
        expect=(200, 201, 202, 412, *_PER_DOC_REFUSALS),
    )
    if reply.status in (200, 201, 202):
        return Written(1)
    error, reason = reply.error()
    if reply.status == 412 and error == "missing_stub":
        return Written(missing_stubs=(doc,))
    return Written(failures=(_failure(doc, error or str(reply.status), reason),))


async def write_docs(client: PeerClient, docs: Sequence[Doc], *, concurrency: int = 4) -> Written:
    batches, alone = plan_writes(docs)
    total = Written()
    for batch in batches:
        total = total + await _bulk_docs(client, batch)
    semaphore = asyncio.Semaphore(concurrency)

    async def put(doc: Doc) -> Written:
        async with semaphore:
            return await _put_multipart(client, doc)

    for result in await asyncio.gather(*(put(doc) for doc in alone)):
        total = total + result
    return total
