"""Replication test data, and the comparison of two databases after a replication.

:func:`make_dataset` builds documents with real revision histories, written with
``new_edits=false`` in two phases (first revisions, then their descendants): some documents
several generations deep, ~5% with conflicting branches (some of them deleted), ~5% deleted,
and attachments — added at generation 1 and carried as stubs by later revisions (so
``atts_since`` matters), some new on a later generation, a few large enough to travel as
``multipart/related``. The same data feeds fieldhall, pouchdb-server and PouchDB in Node.

:func:`snapshot` reads every document with ``open_revs=all&revs=true&attachments=true``:
two databases hold the same data iff their snapshots are equal — same leaves, same paths to
them (no lost or duplicated revision), same bodies, same attachment bytes.
"""

from __future__ import annotations

import base64
import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import orjson

LARGE_ATTACHMENT = 300 * 1024  # above the replicator's multipart threshold (256 KiB)


@dataclass
class Dataset:
    phases: list[list[dict[str, Any]]]
    doc_ids: list[str]
    conflicted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    with_attachments: list[str] = field(default_factory=list)
    large: list[str] = field(default_factory=list)


def _hash(*parts: object) -> str:
    return hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()


def _digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def _inline(data: bytes, content_type: str) -> dict[str, Any]:
    return {"content_type": content_type, "data": base64.b64encode(data).decode()}


def _stub(data: bytes, content_type: str, revpos: int) -> dict[str, Any]:
    return {
        "content_type": content_type,
        "digest": _digest(data),
        "length": len(data),
        "revpos": revpos,
        "stub": True,
    }


def _path(seed: int, i: int, depth: int, branch: str) -> dict[str, Any]:
    ids = [_hash(seed, i, k, branch if k > 1 else "a") for k in range(depth, 0, -1)]
    return {"start": depth, "ids": ids}


def make_dataset(
    n_docs: int,
    n_attachments: int,
    *,
    seed: int = 1,
    prefix: str = "doc",
    conflict_rate: float = 0.05,
    delete_rate: float = 0.05,
    large_every: int = 10,
    large_size: int = LARGE_ATTACHMENT,
) -> Dataset:
    first: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    data = Dataset([first, later], [])
    rng = random.Random(seed)
    attachment_docs = set(rng.sample(range(n_docs), min(n_attachments, n_docs)))
    for i in range(n_docs):
        doc_id = f"{prefix}{i:06d}" if i % 50 else f"{prefix}/{i:06d} ü"  # ids needing escapes
        data.doc_ids.append(doc_id)
        r = random.Random(f"{seed}:{i}")
        depth = r.choice([1, 1, 2, 3])
        body = {"type": "item", "n": i, "text": "x" * r.randint(10, 200)}
        photo: bytes | None = None
        if i in attachment_docs:
            data.with_attachments.append(doc_id)
            large = large_every and len(data.with_attachments) % large_every == 0
            size = large_size if large else r.randint(1, 20_000)
            if large:
                data.large.append(doc_id)
            photo = r.randbytes(size)
        root = {"_id": doc_id, **body, "gen": 1, **{"_rev": f"1-{_hash(seed, i, 1, 'a')}"}}
        if photo is not None:
            root["_attachments"] = {"photo.bin": _inline(photo, "application/octet-stream")}
        first.append(root)
        branches = [("a", depth)]
        if r.random() < conflict_rate:
            branches.append(("b", r.choice([2, 3])))
            data.conflicted.append(doc_id)
        deleted_leaf = r.random() < delete_rate
        if deleted_leaf:
            data.deleted.append(doc_id)
        for branch, gen in branches:
            if gen == 1:
                continue
            leaf: dict[str, Any] = {
                "_id": doc_id,
                "_rev": f"{gen}-{_hash(seed, i, gen, branch)}",
                "_revisions": _path(seed, i, gen, branch),
                **body,
                "gen": gen,
                "branch": branch,
            }
            if photo is not None:
                leaf["_attachments"] = {"photo.bin": _stub(photo, "application/octet-stream", 1)}
                if branch == "a":
                    note = f"note {i} at {gen}".encode()
                    leaf["_attachments"]["note.txt"] = _inline(note, "text/plain")
            if branch == "b" and r.random() < 0.3:
                leaf = {"_id": doc_id, "_rev": leaf["_rev"], "_revisions": leaf["_revisions"]}
                leaf["_deleted"] = True
            later.append(leaf)
        if deleted_leaf:
            gen = depth + 1
            later.append(
                {
                    "_id": doc_id,
                    "_rev": f"{gen}-{_hash(seed, i, gen, 'a')}",
                    "_revisions": _path(seed, i, gen, "a"),
                    "_deleted": True,
                }
            )
    return data


def load(client: httpx.Client, db: str, dataset: Dataset, *, chunk: int = 500) -> None:
    """Write the dataset into ``db`` (created if needed) with ``new_edits=false``."""
    client.put(f"/{db}")
    for phase in dataset.phases:
        for start in range(0, len(phase), chunk):
            docs = phase[start : start + chunk]
            reply = client.post(f"/{db}/_bulk_docs", json={"docs": docs, "new_edits": False})
            assert reply.status_code in (200, 201), reply.text
            errors = [r for r in reply.json() if "error" in r]
            assert not errors, errors[:5]


def doc_url(db: str, doc_id: str) -> str:
    if doc_id.startswith("_design/"):
        return f"/{db}/_design/{quote(doc_id[8:], safe='')}"
    return f"/{db}/{quote(doc_id, safe='')}"


def leaves(client: httpx.Client, db: str) -> dict[str, list[str]]:
    """Every document's leaves, from ``_changes?style=all_docs``."""
    reply = client.get(f"/{db}/_changes", params={"style": "all_docs"}, timeout=120)
    reply.raise_for_status()
    rows = reply.json()["results"]
    found: dict[str, list[str]] = {}
    for row in rows:
        assert row["id"] not in found, f"{row['id']} listed twice in _changes"
        found[row["id"]] = sorted(c["rev"] for c in row["changes"])
    return found


def _normal(doc: dict[str, Any], revpos: bool) -> bytes:
    # PouchDB sets an attachment's revpos to the generation that brought its bytes, even when
    # replicating, so revpos is compared only between peers that keep it (fieldhall).
    doc = dict(doc)
    atts = doc.pop("_attachments", None) or {}
    doc["_attachments"] = {
        name: [
            att.get("content_type"),
            att.get("data"),
            att.get("digest"),
            att.get("revpos") if revpos else None,
        ]
        for name, att in sorted(atts.items())
    }
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def open_revs_all(
    client: httpx.Client, db: str, doc_id: str, *, revpos: bool = True
) -> list[bytes]:
    reply = client.get(
        doc_url(db, doc_id),
        params={"open_revs": "all", "revs": "true", "attachments": "true"},
        headers={"accept": "application/json"},
    )
    assert reply.status_code == 200, (doc_id, reply.status_code, reply.text[:300])
    entries = reply.json()
    assert all("ok" in e for e in entries), (doc_id, entries)
    return sorted(_normal(e["ok"], revpos) for e in entries)


def snapshot(
    client: httpx.Client,
    db: str,
    *,
    open_revs_ids: list[str] | None = None,
    revpos: bool = True,
) -> dict[str, list[bytes]]:
    """``{doc id: sorted normalized leaves}``: the leaves ``_changes?style=all_docs`` lists,
    read with ``_bulk_get?revs=true&attachments=true``; the documents in ``open_revs_ids``
    are read again with ``open_revs=all``, which must agree."""
    found = leaves(client, db)
    pairs = [{"id": doc_id, "rev": rev} for doc_id, revs in found.items() for rev in revs]
    docs: dict[str, list[bytes]] = {doc_id: [] for doc_id in found}
    for start in range(0, len(pairs), 500):
        reply = client.post(
            f"/{db}/_bulk_get",
            params={"revs": "true", "attachments": "true"},
            json={"docs": pairs[start : start + 500]},
            timeout=120,
        )
        assert reply.status_code == 200, reply.text[:300]
        for result in reply.json()["results"]:
            for entry in result["docs"]:
                assert "ok" in entry, (result["id"], entry)
                docs[result["id"]].append(_normal(entry["ok"], revpos))
    snap = {doc_id: sorted(leaf_docs) for doc_id, leaf_docs in docs.items()}
    if open_revs_ids:
        with ThreadPoolExecutor(8) as pool:
            checked = list(
                pool.map(lambda i: open_revs_all(client, db, i, revpos=revpos), open_revs_ids)
            )
        for doc_id, leaf_docs in zip(open_revs_ids, checked, strict=True):
            assert snap.get(doc_id) == leaf_docs, f"open_revs=all of {doc_id!r} disagrees"
    return snap


def interesting(dataset: Dataset, sample: int = 100) -> list[str]:
    """Documents worth an ``open_revs=all`` check: conflicted, deleted, with attachments, and
    a sample of the rest."""
    chosen = {*dataset.conflicted, *dataset.deleted, *dataset.with_attachments}
    rest = [d for d in dataset.doc_ids if d not in chosen]
    return sorted(chosen | set(random.Random(0).sample(rest, min(sample, len(rest)))))


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys(), (
        f"documents differ: only left {sorted(a.keys() - b.keys())[:5]},"
        f" only right {sorted(b.keys() - a.keys())[:5]}"
    )
    different = [k for k in a if a[k] != b[k]]
    assert not different, (
        f"{len(different)} documents differ, e.g. {different[:3]}: "
        + repr((a[different[0]], b[different[0]]))[:2000]
    )
