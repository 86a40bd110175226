"""A revision the target refuses (``forbidden``, ``unauthorized``) is counted in
``doc_write_failures`` and skipped for good, as CouchDB does — whether it went in
``_bulk_docs`` or alone as ``multipart/related`` — and the replication goes on."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from fieldhall.sync.errors import Forbidden, Unauthorized
from fieldhall.sync.policy import Principal, WriteContext
from fieldhall.sync.replicator import Replication, State, replicate
from tests.servers import CouchServer

from .conftest import FAST_RETRY, custom_couch
from .dataset import leaves


class RefuseSecrets:
    def check_write(
        self,
        principal: Principal,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None,
        context: WriteContext,
    ) -> None:
        if new_doc["_id"].startswith("secret"):
            raise Forbidden("not_owner: secrets stay home")
        if new_doc["_id"].startswith("private"):
            raise Unauthorized("private documents need another role")

    def after_write(
        self, principal: Principal, new_doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        pass


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchServer]:
    with custom_couch(tmp_path_factory.mktemp("guarded"), write_policy=RefuseSecrets()) as couch:
        yield couch


def test_refused_documents_are_counted_and_skipped(
    couch: CouchServer, guarded: CouchServer
) -> None:
    big = base64.b64encode(b"\x01" * 400_000).decode()  # goes alone, as multipart/related
    docs = [
        *({"_id": f"ok{i}", "i": i} for i in range(20)),
        *({"_id": f"secret{i}", "i": i} for i in range(3)),
        {"_id": "private0", "i": 0},
        {"_id": "secret-big", "_attachments": {"b": {"content_type": "x/y", "data": big}}},
        {"_id": "ok-big", "_attachments": {"b": {"content_type": "x/y", "data": big}}},
    ]
    with couch.client() as source, guarded.client() as target:
        source.put("/mixed")
        source.post("/mixed/_bulk_docs", json={"docs": docs})
        target.put("/mixed")
        rep = Replication.between(
            f"{couch.auth_url}/mixed", f"{guarded.auth_url}/mixed", retry=FAST_RETRY
        )
        progress = asyncio.run(replicate(rep))
        assert progress.state is State.COMPLETED
        assert progress.stats.doc_write_failures == 5
        assert progress.stats.docs_written == 21
        assert progress.stats.docs_read == 26
        assert sorted(leaves(target, "mixed")) == sorted([f"ok{i}" for i in range(20)] + ["ok-big"])
        # Skipped for good: the checkpoint moved past them, they are not sent again.
        again = asyncio.run(replicate(rep))
        assert again.stats.missing_checked == 0 and again.stats.doc_write_failures == 0
