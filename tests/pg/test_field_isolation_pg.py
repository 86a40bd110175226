"""Zero cross-agent reads or writes under the seeded random workload, on PostgreSQL (the body
is :func:`tests.field.isolation.run_isolation`, as on SQLite in tests/field)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.field.isolation import SEED, run_isolation
from tests.field.support import field_hall

pytestmark = pytest.mark.pg


def test_no_device_reads_or_writes_another_agents_documents(pg_schema: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("FIELDHALL_ISOLATION_SEED", SEED))
    with field_hall(tmp_path / "hall", database_url=pg_schema) as hall:
        counts = run_isolation(hall, seed, operations=1000)
    assert sum(counts.values()) >= 1000
