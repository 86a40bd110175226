"""How fetched revisions are grouped into ``_bulk_docs`` requests or sent alone."""

from __future__ import annotations

import base64

from fieldhall.sync.replicator.write import LARGE_ATTACHMENTS_BYTES, plan_writes


def doc(i: int, size: int = 0) -> dict[str, object]:
    d: dict[str, object] = {"_id": f"d{i}", "_rev": "1-a", "pad": "x" * 100}
    if size:
        data = base64.b64encode(b"\x00" * size).decode()
        d["_attachments"] = {"a": {"content_type": "x/y", "revpos": 1, "data": data}}
    return d


def test_batches_are_bounded_and_large_documents_go_alone() -> None:
    docs = [doc(i) for i in range(10)] + [doc(10, LARGE_ATTACHMENTS_BYTES + 1), doc(11, 1000)]
    batches, alone = plan_writes(docs, max_batch_bytes=600)
    assert [d["_id"] for d in alone] == ["d10"]
    assert sum(len(b) for b in batches) == 11
    assert all(sum(len(e) for _, e in b) <= 600 or len(b) == 1 for b in batches)
    assert [d["_id"] for b in batches for d, _ in b] == [f"d{i}" for i in (*range(10), 11)]
    one_batch, _ = plan_writes([doc(i) for i in range(10)])
    assert len(one_batch) == 1
