"""Filtered replication copies exactly the documents the filter names — every leaf of each —
and nothing else: by ``doc_ids`` and by Mango ``selector`` (matched on the winning revision,
as CouchDB does)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from fieldhall.sync.replicator import Replication, State, replicate
from tests.servers import CouchServer

from .dataset import assert_same, leaves, load, make_dataset, snapshot


def _copy(a: CouchServer, b: CouchServer, db: str, target_db: str, **options: Any) -> Any:
    rep = Replication.between(
        f"{a.auth_url}/{db}", f"{b.auth_url}/{target_db}", create_target=True, **options
    )
    progress = asyncio.run(replicate(rep))
    assert progress.state is State.COMPLETED
    return progress


def _only(snap: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    return {k: v for k, v in snap.items() if k in ids}


def test_doc_ids(couch_pair: tuple[CouchServer, CouchServer]) -> None:
    a, b = couch_pair
    dataset = make_dataset(300, 10, seed=51)
    wanted = {
        dataset.conflicted[0],
        dataset.deleted[0],
        dataset.with_attachments[0],
        dataset.large[0],
        dataset.doc_ids[50],  # "doc/000050 ü": needs escaping
        dataset.doc_ids[7],
    }
    with a.client() as source, b.client() as target:
        load(source, "byid", dataset)
        progress = _copy(a, b, "byid", "byid", doc_ids=[*sorted(wanted), "no-such-doc"])
        assert set(leaves(target, "byid")) == wanted
        assert_same(_only(snapshot(source, "byid"), wanted), snapshot(target, "byid"))
        assert progress.stats.docs_written == sum(
            len(revs) for doc_id, revs in leaves(source, "byid").items() if doc_id in wanted
        )
        # Another filter is another replication, with checkpoints of its own.
        more = {dataset.doc_ids[8]}
        again = _copy(a, b, "byid", "byid", doc_ids=sorted(more))
        assert again.start_last_seq == 0 and again.replication_id != progress.replication_id
        assert set(leaves(target, "byid")) == wanted | more


def _winners(client: httpx.Client, db: str) -> dict[str, dict[str, Any]]:
    rows = client.get(f"/{db}/_all_docs", params={"include_docs": "true"}).json()["rows"]
    return {row["id"]: row["doc"] for row in rows}


def test_selector(couch_pair: tuple[CouchServer, CouchServer]) -> None:
    a, b = couch_pair
    dataset = make_dataset(300, 10, seed=52, conflict_rate=0.2)
    selector = {"n": {"$gte": 100, "$lt": 200}, "gen": {"$gt": 1}}
    with a.client() as source, b.client() as target:
        load(source, "bysel", dataset)
        expected = {
            doc_id
            for doc_id, doc in _winners(source, "bysel").items()
            if 100 <= doc["n"] < 200 and doc["gen"] > 1
        }
        assert expected and len(expected) < 100
        _copy(a, b, "bysel", "bysel", selector=selector)
        assert set(leaves(target, "bysel")) == expected
        # Every leaf of a matching document came along, conflicts included.
        assert_same(_only(snapshot(source, "bysel"), expected), snapshot(target, "bysel"))
