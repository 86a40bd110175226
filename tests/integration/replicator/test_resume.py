"""An interrupted replication resumes from its last checkpoint and reads only the rest —
whether it was cancelled through the API or its process was killed (SIGKILL)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from click.testing import CliRunner

from fieldhall.server.replicate_cmd import replicate as replicate_command
from fieldhall.sync.replicator import (
    Progress,
    Replication,
    ReplicationJob,
    State,
    replicate,
)
from fieldhall.sync.replicator.checkpoint import ReplicationLog, compare_logs
from fieldhall.sync.replicator.ids import checkpoint_doc_id, replication_id
from tests.servers import REPO, CouchServer

from .dataset import assert_same, leaves, load, make_dataset, snapshot


def _changes_after(client: Any, db: str, since: object) -> int:
    """Revisions the source's feed lists after ``since`` (what a resumed run must check)."""
    rows = client.get(f"/{db}/_changes", params={"style": "all_docs", "since": since}).json()
    return sum(len(row["changes"]) for row in rows["results"])


def test_cancelled_replication_resumes_with_the_rest(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    dataset = make_dataset(1_000, 10, seed=41)
    with a.client() as source, b.client() as target:
        load(source, "resume", dataset)
        total = sum(len(revs) for revs in leaves(source, "resume").values())
        rep = Replication.between(
            f"{a.auth_url}/resume", f"{b.auth_url}/resume", create_target=True, batch_size=100
        )
        seen: list[object] = [None]

        async def first_run() -> Progress:
            job: ReplicationJob

            def halfway(progress: Progress) -> None:
                # Stop right after a checkpoint once about half is written.
                if progress.checkpoint is not seen[0]:
                    seen[0] = progress.checkpoint
                    if progress.stats.docs_written >= total // 2:
                        job.cancel()

            job = ReplicationJob(rep, on_progress=halfway).start()
            return await job.wait()

        first = asyncio.run(first_run())
        assert first.state is State.CANCELLED
        assert total // 2 <= first.stats.docs_written < total
        assert target.get("/resume").json()["doc_count"] < len(dataset.doc_ids)

        second = asyncio.run(replicate(rep))
        assert second.state is State.COMPLETED
        assert second.start_last_seq == first.end_last_seq != 0
        # Every change was checked exactly once across the two runs: the second read the rest.
        assert first.stats.missing_checked + second.stats.missing_checked == total
        assert second.stats.missing_checked == _changes_after(source, "resume", first.end_last_seq)
        assert first.stats.docs_written + second.stats.docs_written == total
        assert second.stats.docs_read == total - first.stats.docs_written
        assert_same(snapshot(source, "resume"), snapshot(target, "resume"))


def test_killed_command_resumes_from_its_checkpoint(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    dataset = make_dataset(2_000, 0, seed=42)
    source_url, target_url = f"{a.auth_url}/killed", f"{b.auth_url}/killed"
    with a.client() as source, b.client() as target:
        load(source, "killed", dataset)
        total = sum(len(revs) for revs in leaves(source, "killed").values())
        command = [sys.executable, "-m", "fieldhall.server.replicate_cmd"]
        child = subprocess.Popen(
            [*command, source_url, target_url, "--create-target", "--batch-size", "20"],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and child.poll() is None:
                info = target.get("/killed")
                if (
                    info.status_code == 200
                    and info.json()["doc_count"] >= len(dataset.doc_ids) // 2
                ):
                    break
                time.sleep(0.01)
            assert child.poll() is None, "the replication finished before it could be killed"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        rep = Replication.between(source_url, target_url)
        rep_id = replication_id(rep.source, rep.target, replicator=rep.replicator)

        # Killed between its two checkpoint writes, the source's may be a batch ahead of the
        # target's: the resumed run must start where the two logs agree (CouchDB's rule).
        # A request the child sent in full just before it died may still be committing:
        # read the logs until they hold still.
        def read_logs() -> list[ReplicationLog]:
            return [
                ReplicationLog("_", "0-1", peer.get("/killed/" + checkpoint_doc_id(rep_id)).json())
                for peer in (source, target)
            ]

        logs, settled = read_logs(), False
        while not settled:
            time.sleep(0.3)
            latest = read_logs()
            logs, settled = latest, latest == logs
        resumed_from = compare_logs(*logs).seq
        assert resumed_from not in (0, "0")

        result = CliRunner().invoke(replicate_command, [source_url, target_url, "--json"])
        assert result.exit_code == 0, result.output
        stats = json.loads(result.stdout)
        assert stats["start_last_seq"] == resumed_from
        assert stats["missing_checked"] == _changes_after(source, "killed", resumed_from) < total
        assert_same(snapshot(source, "killed"), snapshot(target, "killed"))
