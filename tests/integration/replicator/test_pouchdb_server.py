"""fieldhall ↔ pouchdb-server (PouchDB's own CouchDB-compatible server): the replicator
copies every leaf and attachment both ways."""

from __future__ import annotations

import asyncio

from fieldhall.sync.replicator import Replication, State, replicate
from tests.servers import CouchServer

from .conftest import FAST_RETRY, SOAK, PouchServer
from .dataset import assert_same, interesting, load, make_dataset, snapshot

N_DOCS, N_ATTACHMENTS = (10_000, 100) if SOAK else (2_000, 20)


def _replicate(source: str, target: str, **options: object) -> dict[str, object]:
    rep = Replication.between(source, target, retry=FAST_RETRY, **options)  # type: ignore[arg-type]
    progress = asyncio.run(replicate(rep))
    assert progress.state is State.COMPLETED
    return progress.to_json()


def test_fieldhall_to_pouchdb_server(couch: CouchServer, pouchdb_server: PouchServer) -> None:
    dataset = make_dataset(N_DOCS, N_ATTACHMENTS, seed=21)
    with couch.client() as fieldhall, pouchdb_server.client() as pouch:
        load(fieldhall, "push", dataset)
        stats = _replicate(
            f"{couch.auth_url}/push", f"{pouchdb_server.url}/push", create_target=True
        )
        assert stats["doc_write_failures"] == 0 and stats["docs_written"] == stats["missing_found"]
        ids = interesting(dataset)
        assert_same(
            snapshot(fieldhall, "push", open_revs_ids=ids, revpos=False),
            snapshot(pouch, "push", open_revs_ids=ids, revpos=False),
        )
        again = _replicate(f"{couch.auth_url}/push", f"{pouchdb_server.url}/push")
        assert again["docs_read"] == 0


def test_pouchdb_server_to_fieldhall(couch: CouchServer, pouchdb_server: PouchServer) -> None:
    dataset = make_dataset(N_DOCS, N_ATTACHMENTS, seed=22)
    with couch.client() as fieldhall, pouchdb_server.client() as pouch:
        load(pouch, "pull", dataset)
        stats = _replicate(
            f"{pouchdb_server.url}/pull", f"{couch.auth_url}/pull", create_target=True
        )
        assert stats["doc_write_failures"] == 0 and stats["docs_written"] == stats["missing_found"]
        ids = interesting(dataset)
        assert_same(
            snapshot(pouch, "pull", open_revs_ids=ids, revpos=False),
            snapshot(fieldhall, "pull", open_revs_ids=ids, revpos=False),
        )
        # ...and back to a fresh pouchdb-server database: a round trip changes nothing.
        _replicate(f"{couch.auth_url}/pull", f"{pouchdb_server.url}/back", create_target=True)
        assert_same(snapshot(pouch, "pull", revpos=False), snapshot(pouch, "back", revpos=False))
