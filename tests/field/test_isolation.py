"""Zero cross-agent reads or writes under a seeded random workload, on SQLite (issue 5,
"Proof", third bullet; the body is :func:`tests.field.isolation.run_isolation`).

``FIELDHALL_ISOLATION_SEED`` replays another seed; a failure names its seed and operation.
"""

from __future__ import annotations

import os
from pathlib import Path

from fieldhall.field_app_api.client import DeviceClient
from tests.field import isolation
from tests.field.support import FieldHall, attach, bulk, field_hall, new_case, sync_client

SEED = int(os.environ.get("FIELDHALL_ISOLATION_SEED", isolation.SEED))


def test_no_device_reads_or_writes_another_agents_documents(tmp_path: Path) -> None:
    with field_hall(tmp_path / "hall") as hall:
        counts = isolation.run_isolation(hall, SEED, operations=1000)
    assert sum(counts.values()) >= 1000


def test_a_selector_feed_shows_no_sequence_of_another_agent(
    hall: FieldHall, bob: DeviceClient, dora: DeviceClient
) -> None:
    """A selector feed ends where the device's own view ends, as every other feed does."""
    assert bulk(bob, [attach(*new_case(bob, 1))])[0]["ok"]
    hall.settle()  # the hall's case event for bob's case is his too
    with sync_client(bob) as client:
        mine = client.get("").json()["update_seq"]  # the last sequence bob may see
        for seed in range(2, 5):  # dora's work moves the database's sequence on
            assert bulk(dora, [attach(*new_case(dora, seed))])[0]["ok"]
        hall.settle()
        plain = client.get("/_changes", params={"since": mine}).json()
        selected = client.post(
            "/_changes",
            params={"filter": "_selector", "since": mine},
            json={"selector": {"type": "case"}},
        ).json()
        assert client.get("").json()["update_seq"] == mine
    assert plain == {"results": [], "last_seq": mine, "pending": 0}
    assert selected["results"] == []
    assert selected["last_seq"] == mine
