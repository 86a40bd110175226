"""What the replicator relies on from a fieldhall peer, beyond plain success."""

from __future__ import annotations

from tests.servers import CouchServer


def test_possible_ancestors_use_the_highest_missing_generation(couch: CouchServer) -> None:
    """As ``couch_db:possible_ancestors/2``: every leaf older than the newest missing revision
    may be an ancestor, so ``atts_since`` can spare the attachments the target has."""
    with couch.client() as client:
        client.put("/pa")
        leaf = client.put("/pa/d", json={"v": 1}).json()["rev"]
        answer = client.post("/pa/_revs_diff", json={"d": ["1-x", "9-y"]}).json()
        assert answer == {"d": {"missing": ["1-x", "9-y"], "possible_ancestors": [leaf]}}


def test_bulk_docs_errors_name_the_revision(couch: CouchServer) -> None:
    """With several revisions of one document in a batch, the rev says which one failed."""
    with couch.client() as client:
        client.put("/errs")
        stub = {"stub": True, "digest": "md5-zz", "revpos": 1}
        doc = {"_id": "s", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]}}
        reply = client.post(
            "/errs/_bulk_docs",
            json={"new_edits": False, "docs": [{**doc, "_attachments": {"x": stub}}]},
        )
        assert reply.json() == [
            {"id": "s", "rev": "2-b", "error": "missing_stub", "reason": reply.json()[0]["reason"]}
        ]
