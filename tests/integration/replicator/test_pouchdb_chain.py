"""PouchDB (Node) → fieldhall → fieldhall's replicator → fieldhall → PouchDB: documents that
PouchDB wrote (its rev hashes, its attachment digests) survive the whole chain, every leaf
and attachment byte, as ``open_revs=all`` shows on both ends."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from fieldhall.sync.replicator import Replication, State, replicate
from tests.servers import REPO, CouchServer

from .conftest import SOAK
from .dataset import assert_same, interesting, make_dataset, snapshot

N_DOCS, N_ATTACHMENTS = (10_000, 100) if SOAK else (2_000, 20)
SCRIPT = Path(__file__).with_name("pouchdb_chain.js")


def test_pouchdb_to_fieldhall_to_pouchdb(
    couch_pair: tuple[CouchServer, CouchServer], tmp_path: Path
) -> None:
    if shutil.which("node") is None or not (REPO / "node_modules" / "pouchdb").exists():
        pytest.skip("node and pouchdb are needed (npm ci)")
    a, b = couch_pair
    dataset = make_dataset(N_DOCS, N_ATTACHMENTS, seed=31)
    data_file = tmp_path / "dataset.json"
    data_file.write_bytes(orjson.dumps({"phases": dataset.phases}))
    node = subprocess.Popen(
        ["node", str(SCRIPT), str(data_file), f"{a.auth_url}/chain", f"{b.auth_url}/chain"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None and node.stdin is not None
        pushed = node.stdout.readline()
        assert pushed, "PouchDB's push failed: " + (node.stderr.read() if node.stderr else "")
        assert json.loads(pushed)["pushed"] > 0
        rep = Replication.between(f"{a.auth_url}/chain", f"{b.auth_url}/chain", create_target=True)
        progress = asyncio.run(replicate(rep))
        assert progress.state is State.COMPLETED and progress.stats.doc_write_failures == 0
        ids = interesting(dataset)
        with a.client() as left, b.client() as right:
            pushed_snapshot = snapshot(left, "chain", open_revs_ids=ids)
            assert_same(pushed_snapshot, snapshot(right, "chain", open_revs_ids=ids))
        leaves_with_attachments = sum(
            b'"_attachments":{}' not in leaf
            for leaf_docs in pushed_snapshot.values()
            for leaf in leaf_docs
        )
        out, err = node.communicate("go\n", timeout=600)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    assert node.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] and result["docs"] == N_DOCS
    assert result["with_attachments"] == leaves_with_attachments >= N_ATTACHMENTS * 0.9
