"""Step 5: fetch the missing revisions from the source.

First one ``_bulk_get`` (``revs=true&latest=true``, attachments as stubs) for the whole
batch: ``latest`` follows a revision the source has since extended to its new leaf, ``revs``
brings each revision's path so the target can merge it into its tree. A revision with
attachments the target lacks (:func:`.attachments.missing_attachments`) is then fetched alone
with ``open_revs=[rev]&attachments=true&atts_since=[its known ancestors]``, so only new
attachment bytes cross the wire and a batch never holds every photo at once — CouchDB's
replicator, too, fetches documents with attachments one by one.

Peers without ``_bulk_get`` (CouchDB < 2.3, some proxies) get every document that way, with
``GET /db/doc?open_revs=[…]&revs=true&latest=true``; the job remembers not to ask again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from .attachments import ancestors_on_path, missing_attachments
from .client import PeerClient, doc_path
from .errors import DatabaseNotFound, PeerProtocolError
from .progress import Stats
from .revs_diff import Missing

__all__ = ["Fetched", "fetch_missing", "fetch_revision"]

log = logging.getLogger("fieldhall.sync.replicator")

Doc = dict[str, Any]
T = TypeVar("T")

MAX_REVS_PARAM_CHARS = 4000
"""Longest ``open_revs``/``atts_since`` list we put in a URL: servers and proxies commonly
refuse request lines over 8 KB (CouchDB's replicator limits itself to 7,000 characters)."""

_BULK_GET_UNSUPPORTED = (400, 404, 405, 415, 501)


@dataclass(frozen=True, slots=True)
class Fetched:
    docs: tuple[Doc, ...]  # with `_revisions`; attachments inline where the target lacks them
    stats: Stats  # docs_read
    use_bulk_get: bool  # False once the source showed it has no `_bulk_get`


def _ok_docs(client: PeerClient, entries: Sequence[object]) -> list[Doc]:
    """The documents of ``{"ok": doc}`` entries, each with a string ``_id`` and ``_rev``."""
    docs = []
    for entry in entries:
        doc = entry.get("ok") if isinstance(entry, Mapping) else None
        if not isinstance(doc, dict):
            continue
        if not isinstance(doc.get("_id"), str) or not isinstance(doc.get("_rev"), str):
            raise PeerProtocolError(f"{client.url} sent a document without _id or _rev")
        docs.append(doc)
    return docs


def _chunks(revs: Sequence[str]) -> list[list[str]]:
    """Revisions in groups whose JSON list fits in a URL, newest generations first."""
    ordered = sorted(revs, key=lambda r: (int(r.split("-", 1)[0] or 0), r), reverse=True)
    groups: list[list[str]] = [[]]
    size = 2
    for rev in ordered:
        size += len(rev) + 3
        if size > MAX_REVS_PARAM_CHARS and groups[-1]:
            groups.append([])
            size = 2 + len(rev) + 3
        groups[-1].append(rev)
    return groups


async def fetch_revision(
    client: PeerClient,
    doc_id: str,
    revs: Sequence[str],
    *,
    attachments: bool,
    atts_since: Sequence[str] = (),
) -> list[Doc]:
    """``GET /db/doc?open_revs=[…]&revs=true&latest=true``: the revisions (or the leaves
    they led to) that the source has; missing ones are left out. Many revisions take several
    requests; of many ``atts_since`` revisions, the newest that fit are sent (fewer only
    means more bytes)."""
    docs: list[Doc] = []
    if not revs:
        return docs
    since = _chunks(atts_since)[0] if attachments and atts_since else []
    for group in _chunks(revs):
        docs.extend(await _open_revs(client, doc_id, group, attachments, since))
    return docs


async def _open_revs(
    client: PeerClient, doc_id: str, revs: list[str], attachments: bool, atts_since: list[str]
) -> list[Doc]:
    params = {"open_revs": orjson.dumps(revs).decode(), "revs": "true", "latest": "true"}
    if attachments:
        params["attachments"] = "true"
        if atts_since:
            params["atts_since"] = orjson.dumps(atts_since).decode()
    reply = await client.request("GET", doc_path(doc_id), params=params, expect=(200, 404))
    if reply.status == 404:
        _, reason = reply.error()
        if "database does not exist" in reason.lower():
            raise DatabaseNotFound(f"source database {client.url} does not exist")
        return []
    data = reply.json()
    if not isinstance(data, list):
        raise PeerProtocolError(
            f"{client.url}: open_revs for {doc_id!r} did not answer a JSON array", url=client.url
        )
    docs = _ok_docs(client, data)
    for entry in data:
        if isinstance(entry, Mapping) and "missing" in entry:
            log.warning("source %s no longer has %s %s", client.url, doc_id, entry["missing"])
    return docs


async def _bulk_get(
    client: PeerClient, missing: Sequence[Missing]
) -> dict[tuple[str, str], list[Doc] | None] | None:
    """``{(id, rev): docs or None (an error entry)}``, or ``None`` if the source has no
    ``_bulk_get``."""
    items = [(m.doc_id, rev) for m in missing for rev in m.revs]
    body = {
        "docs": [{"id": doc_id, "rev": rev} for doc_id, rev in items],
        "revs": True,
        "latest": True,
        "attachments": False,
    }
    params = {"revs": "true", "latest": "true", "attachments": "false"}
    reply = await client.request(
        "POST", "_bulk_get", params=params, json=body, expect=(200, *_BULK_GET_UNSUPPORTED)
    )
    if reply.status != 200:
        _, reason = reply.error()
        if reply.status == 404 and "database does not exist" in reason.lower():
            raise DatabaseNotFound(f"source database {client.url} does not exist")
        log.info(
            "source %s has no usable _bulk_get (%s); fetching one by one", client.url, reply.status
        )
        return None
    data = reply.json()
    results = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(results, list):
        raise PeerProtocolError(f"{client.url}: _bulk_get answered without results", url=client.url)
    found: dict[tuple[str, str], list[Doc] | None] = {}
    for (doc_id, rev), result in zip(items, results, strict=False):
        entries = result.get("docs") if isinstance(result, Mapping) else None
        if not isinstance(result, Mapping) or result.get("id") != doc_id or not entries:
            found[(doc_id, rev)] = None
            continue
        docs = _ok_docs(client, entries)
        found[(doc_id, rev)] = docs if len(docs) == len(entries) else None
    return found


async def _gather(concurrency: int, jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    semaphore = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await job()

    return list(await asyncio.gather(*(run(job) for job in jobs)))


def _single(
    client: PeerClient, doc_id: str, revs: Sequence[str], pas: Sequence[str]
) -> Callable[[], Awaitable[list[Doc]]]:
    async def job() -> list[Doc]:
        docs = await fetch_revision(client, doc_id, revs, attachments=True, atts_since=pas)
        complete = []
        for doc in docs:
            if missing_attachments(doc, pas):
                # The source left out bytes the target cannot have (an ancestor we named is
                # not on this revision's path): fetch this revision with all its bytes.
                again = await fetch_revision(client, doc_id, [doc["_rev"]], attachments=True)
                complete.extend(again)
            else:
                complete.append(doc)
        return complete

    return job


async def fetch_missing(
    client: PeerClient,
    missing: Sequence[Missing],
    *,
    use_bulk_get: bool = True,
    concurrency: int = 4,
) -> Fetched:
    """Every missing revision (or the leaf it led to), each once, with the attachment bytes
    the target needs."""
    if not missing:
        return Fetched((), Stats(), use_bulk_get)
    bulk = await _bulk_get(client, missing) if use_bulk_get else None
    jobs: list[Callable[[], Awaitable[list[Doc]]]] = []
    ready: list[Doc] = []
    for m in missing:
        if bulk is None:
            jobs.append(_single(client, m.doc_id, m.revs, m.possible_ancestors))
            continue
        for rev in m.revs:
            docs = bulk.get((m.doc_id, rev))
            if docs is None:  # an error entry: ask for this one alone
                jobs.append(_single(client, m.doc_id, [rev], m.possible_ancestors))
                continue
            for doc in docs:
                if missing_attachments(doc, m.possible_ancestors):
                    pas = ancestors_on_path(doc, m.possible_ancestors)
                    jobs.append(_single(client, m.doc_id, [doc["_rev"]], pas))
                else:
                    ready.append(doc)
    for docs in await _gather(concurrency, jobs):
        ready.extend(docs)
    unique: dict[tuple[str, str], Doc] = {}
    for doc in ready:
        unique.setdefault((str(doc.get("_id")), str(doc.get("_rev"))), doc)
    return Fetched(tuple(unique.values()), Stats(docs_read=len(unique)), bulk is not None)
