"""``_changes`` with ``limit``: ``pending`` counts the changes left after the page, as
CouchDB 2+ does; PouchDB's ``change`` events (``info.pending``) and CouchDB's
``_scheduler/jobs`` ``changes_pending`` show replication progress with it."""

from __future__ import annotations

from tests.servers import CouchServer


def test_changes_pending_counts_what_is_left(couch: CouchServer) -> None:
    with couch.client() as client:
        client.put("/pending")
        for i in range(3):
            client.put(f"/pending/d{i}", json={"i": i})
        page = client.get("/pending/_changes", params={"limit": 1}).json()
        assert len(page["results"]) == 1 and page["pending"] == 2
        rest = client.get("/pending/_changes", params={"limit": 5, "since": page["last_seq"]})
        assert rest.json()["pending"] == 0
