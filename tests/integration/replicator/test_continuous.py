"""A continuous replication keeps copying new changes — through faults too — until it is
cancelled; the Python API reports its progress."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from fieldhall.sync.replicator import Progress, Replication, ReplicationJob, State
from tests.faultproxy import FaultProxy
from tests.servers import ADMIN, CouchServer

from .conftest import FAST_RETRY
from .dataset import assert_same, snapshot


def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _run_in_background(job: ReplicationJob) -> tuple[threading.Thread, list[Progress]]:
    result: list[Progress] = []
    loop = asyncio.new_event_loop()

    def run() -> None:
        async def main() -> None:
            result.append(await job.start().wait())

        loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _eventually(lambda: job.progress.state is not State.STARTING)
    job.loop = loop  # type: ignore[attr-defined]
    return thread, result


def test_continuous_follows_changes_until_cancelled(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    states: list[State] = []
    with a.client() as source, b.client() as target:
        source.put("/live")
        source.put("/live/first", json={"n": 1})
        rep = Replication.between(
            f"{a.auth_url}/live", f"{b.auth_url}/live", continuous=True, create_target=True
        )
        job = ReplicationJob(rep, on_progress=lambda p: states.append(p.state))
        thread, result = _run_in_background(job)
        _eventually(lambda: target.get("/live/first").status_code == 200)
        _eventually(lambda: job.progress.state is State.IDLE)
        for i in range(20):
            source.put(f"/live/later{i}", json={"n": i})
        _eventually(lambda: target.get("/live").json()["doc_count"] == 21)
        assert job.progress.stats.docs_written == 21
        job.loop.call_soon_threadsafe(job.cancel)  # type: ignore[attr-defined]
        thread.join(timeout=10)
        assert result and result[0].state is State.CANCELLED
        assert State.IDLE in states and State.RUNNING in states


def test_continuous_through_faults(couch_pair: tuple[CouchServer, CouchServer]) -> None:
    a, b = couch_pair
    with a.client() as source, b.client() as target:
        source.put("/flaky")
        port = int(a.url.rsplit(":", 1)[1])
        with FaultProxy(port, seed=3, cut_rate=0.5, max_cut_bytes=8 * 1024) as proxy:
            via = proxy.url.replace("http://", "http://{}:{}@".format(*ADMIN))
            rep = Replication.between(
                f"{via}/flaky", f"{b.auth_url}/flaky", continuous=True, create_target=True,
                batch_size=5, retry=FAST_RETRY, heartbeat_ms=200,
            )  # fmt: skip
            job = ReplicationJob(rep)
            thread, result = _run_in_background(job)
            for i in range(40):
                source.put(f"/flaky/d{i}", json={"n": i, "pad": "x" * 500})
                if i % 10 == 0:
                    time.sleep(0.2)
            _eventually(lambda: target.get("/flaky").json().get("doc_count") == 40, timeout=30)
            job.loop.call_soon_threadsafe(job.cancel)  # type: ignore[attr-defined]
            thread.join(timeout=10)
        assert result[0].state is State.CANCELLED
        assert proxy.stats.cuts > 0
        assert_same(snapshot(source, "flaky"), snapshot(target, "flaky"))
