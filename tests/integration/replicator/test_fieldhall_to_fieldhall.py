"""fieldhall → fieldhall: every leaf (conflicts, deleted branches) and every attachment byte
arrives; a second run has nothing to do; later runs send only what changed."""

from __future__ import annotations

import asyncio
import base64

from fieldhall.sync.replicator import Replication, State, replicate
from tests.faultproxy import FaultProxy
from tests.servers import ADMIN, CouchServer

from .conftest import SOAK
from .dataset import assert_same, interesting, leaves, load, make_dataset, snapshot

N_DOCS, N_ATTACHMENTS = (10_000, 100) if SOAK else (2_000, 20)


def _run(source: str, target: str, **options: object) -> dict[str, object]:
    rep = Replication.between(source, target, **options)  # type: ignore[arg-type]
    progress = asyncio.run(replicate(rep))
    assert progress.state is State.COMPLETED
    return progress.to_json()


def test_every_leaf_and_attachment_arrives(couch_pair: tuple[CouchServer, CouchServer]) -> None:
    a, b = couch_pair
    dataset = make_dataset(N_DOCS, N_ATTACHMENTS, seed=11)
    assert len(dataset.conflicted) >= N_DOCS * 0.04 and dataset.deleted and dataset.large
    with a.client() as source, b.client() as target:
        load(source, "full", dataset)
        stats = _run(f"{a.auth_url}/full", f"{b.auth_url}/full", create_target=True)
        leaf_count = sum(len(revs) for revs in leaves(source, "full").values())
        assert stats["missing_checked"] == stats["missing_found"] == leaf_count
        assert stats["docs_read"] == stats["docs_written"] == leaf_count
        assert stats["doc_write_failures"] == 0
        ids = interesting(dataset)
        assert_same(
            snapshot(source, "full", open_revs_ids=ids), snapshot(target, "full", open_revs_ids=ids)
        )
        again = _run(f"{a.auth_url}/full", f"{b.auth_url}/full")
        assert again["docs_read"] == again["missing_checked"] == 0
        assert again["start_last_seq"] == stats["end_last_seq"]


def _put_attachment_doc(client: object, db: str, doc_id: str, data: bytes) -> str:
    import httpx

    assert isinstance(client, httpx.Client)
    doc = {
        "v": 1,
        "_attachments": {
            "big.bin": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(data).decode(),
            }
        },
    }
    reply = client.put(f"/{db}/{doc_id}", json=doc)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["rev"])


def test_later_runs_send_only_new_attachment_bytes(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    big = bytes(range(256)) * 2048  # 512 KiB: written as multipart/related
    with a.client() as source, b.client() as target:
        source.put("/incr")
        rev = _put_attachment_doc(source, "incr", "photo", big)
        _run(f"{a.auth_url}/incr", f"{b.auth_url}/incr", create_target=True)
        assert target.get("/incr/photo/big.bin").content == big
        # Edit the body only: the attachment stays a stub with revpos 1.
        doc = source.get("/incr/photo").json()
        doc["v"] = 2
        assert source.put("/incr/photo", json=doc).status_code == 201
        with FaultProxy(int(a.url.rsplit(":", 1)[1])) as meter:
            user, password = ADMIN
            via = meter.url.replace("http://", f"http://{user}:{password}@")
            stats = _run(f"{via}/incr", f"{b.auth_url}/incr")
        assert stats["docs_written"] == 1
        assert meter.stats.bytes_down < len(big) // 10, "the unchanged attachment was re-sent"
        assert target.get("/incr/photo").json()["v"] == 2
        assert target.get("/incr/photo/big.bin").content == big
        assert rev.startswith("1-")


def test_edits_on_both_sides_become_the_same_conflict(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    with a.client() as left, b.client() as right:
        left.put("/both")
        rev1 = left.put("/both/x", json={"n": 0}).json()["rev"]
        _run(f"{a.auth_url}/both", f"{b.auth_url}/both", create_target=True)
        left.put("/both/x", json={"n": "left", "_rev": rev1})
        right.put("/both/x", json={"n": "right", "_rev": rev1})
        right.delete("/both/x", params={"rev": right.get("/both/x").json()["_rev"]})
        _run(f"{a.auth_url}/both", f"{b.auth_url}/both")
        _run(f"{b.auth_url}/both", f"{a.auth_url}/both")
        assert_same(snapshot(left, "both"), snapshot(right, "both"))
        winner = left.get("/both/x", params={"conflicts": "true", "deleted_conflicts": "true"})
        assert winner.json()["n"] == "left"  # a live leaf beats a deleted one
        assert len(left.get("/both/x", params={"open_revs": "all"}).json()) == 2
