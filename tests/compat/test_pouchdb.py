"""Stock PouchDB 9 (Node, from package-lock.json) replicates with ``fieldhall couch serve``.

Each test runs one scenario script from ``tests/compat/pouchdb/`` against the real CLI
server (a child process); the script checks the replicas in detail and prints a summary,
on which these tests assert the headline numbers. Scenarios that expose a known server bug
are wrapped in ``test_pending.py.txt`` instead (not collected).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat.node_scenarios import run_interactive_scenario, run_scenario
from tests.servers import CouchProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CouchProcess]:
    """One ``fieldhall couch serve`` process for the module; each scenario uses new databases."""
    process = CouchProcess(tmp_path_factory.mktemp("pouchdb") / "data").start()
    try:
        yield process
    finally:
        process.stop()


def test_push_a_few_hundred_docs(server: CouchProcess) -> None:
    summary = run_scenario("push.js", server.server.auth_url)
    assert summary["docs_written"] == 306
    assert summary["server_doc_count"] == 296
    assert summary["server_doc_del_count"] == 10
    assert summary["second_docs_read"] == 0


def test_pull_into_a_fresh_local_db(server: CouchProcess) -> None:
    summary = run_scenario("pull.js", server.server.auth_url)
    assert summary["docs_written"] == 305
    assert summary["local_doc_count"] == 290
    assert summary["second_docs_read"] == 0


def test_bidirectional_sync(server: CouchProcess) -> None:
    summary = run_scenario("sync.js", server.server.auth_url)
    assert (summary["first_push"], summary["first_pull"]) == (100, 100)
    assert (summary["second_push"], summary["second_pull"]) == (35, 35)
    assert summary["doc_count"] == 230


def test_live_replication_picks_up_changes_then_cancels(server: CouchProcess) -> None:
    summary = run_scenario("live.js", server.server.auth_url)
    limit = summary["propagation_limit_ms"]
    assert summary["server_to_local_ms"] < limit
    assert summary["local_to_server_ms"] < limit
    assert summary["deletion_ms"] < limit
    assert summary["filtered_ms"] < limit
    assert summary["sync_cancel_ms"] < 5000 and summary["pull_cancel_ms"] < 5000


def test_resume_from_checkpoints(server: CouchProcess) -> None:
    summary = run_scenario("checkpoints.js", server.server.auth_url)
    assert summary["first_push_docs_read"] == summary["first_pull_docs_read"] == 200
    assert summary["second_push_docs_read"] == summary["second_pull_docs_read"] == 25
    assert summary["push_checkpoint_rev"].startswith("0-")
    assert summary["pull_checkpoint_rev"].startswith("0-")
    assert summary["interrupted_docs_read"] + summary["resumed_docs_read"] <= 225 + 20


def test_resume_from_checkpoints_after_server_restart(tmp_path: Path) -> None:
    """The server is SIGKILLed and started again on the same data dir and port. (A graceful
    SIGTERM restart with a live sync attached is in test_pending.py.txt.)"""
    process = CouchProcess(tmp_path / "data").start()

    def restart(message: dict[str, object]) -> str:
        assert message == {"request": "restart"}
        process.kill()
        process.start()
        return "restarted"

    try:
        summary = run_interactive_scenario("restart.js", process.server.auth_url, restart)
    finally:
        process.stop()
    assert summary["first_push_docs_read"] == summary["first_pull_docs_read"] == 150
    assert summary["second_push_docs_read"] == 30
    assert summary["second_pull_docs_read"] == 10


def test_conflicts_reach_a_third_replica_with_the_same_winner(server: CouchProcess) -> None:
    summary = run_scenario("conflicts.js", server.server.auth_url)
    docs = summary["docs"]
    assert docs["same-gen"]["leaves"] == 2 and docs["same-gen"]["conflicts"] == 1
    assert docs["a-longer"]["winner"].startswith("3-")
    assert docs["long-del-vs-edit"]["winner"].startswith("2-")
    assert docs["both-del"]["deleted"] is True
    assert docs["identical"]["leaves"] == 1


def test_deletions_replicate_both_ways(server: CouchProcess) -> None:
    summary = run_scenario("deletions.js", server.server.auth_url)
    assert summary["pushed_tombstones"] == summary["pulled_tombstones"] == 10
    assert summary["doc_count"] == 42


def test_attachments_round_trip_byte_identical(server: CouchProcess) -> None:
    summary = run_scenario("attachments.js", server.server.auth_url)
    assert summary["attachments"] == 9
    assert summary["big_length"] == 1024 * 1024


def test_attachment_revpos_survives_replication(server: CouchProcess) -> None:
    summary = run_scenario("attachment_revpos.js", server.server.auth_url)
    assert summary["sent"] == {"first.bin": 1, "second.bin": 2}
    assert summary["server"] == summary["origin"]


def test_filtered_replication_by_doc_ids_and_selector(server: CouchProcess) -> None:
    summary = run_scenario("filtered.js", server.server.auth_url)
    assert summary["doc_ids_docs_read"] == 4
    assert summary["doc_ids_second_docs_read"] == 2
    assert len(summary["selector_matches"]) == 4
    assert summary["selector_resume_docs_read"] == 1
