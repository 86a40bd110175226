"""kill -9 during eight concurrent writers: every acknowledged write survives, nothing is partial.

The writers mix new documents, updates with ``_rev``, ``_bulk_docs`` batches of 20, documents
with inline attachments (1–200 KB of random bytes), standalone attachment PUTs and ``_local``
documents; the rounds are in ``kill9.py``, the checks in ``checks.py``.

``FIELDHALL_SOAK=1`` (``make soak``) runs 100 rounds instead of 20; ``FIELDHALL_SEED`` sets the
seed of the kill moments and of the writers' choices (printed in the summary).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .kill9 import run_kill9

SOAK = os.environ.get("FIELDHALL_SOAK") == "1"
ROUNDS = 100 if SOAK else 20
SEED = int(os.environ.get("FIELDHALL_SEED", "20240917"))


# Generous: a loaded CI machine is several times slower than a quiet one.
@pytest.mark.timeout(ROUNDS * 30 + 300)
def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    run = run_kill9(tmp_path, rounds=ROUNDS, seed=SEED)

    by_kind = run.acked_by_kind()
    assert run.tally.acked_verified == run.acked(), "every acknowledged write is accounted for"
    assert all(by_kind.values()), f"every kind of write was acknowledged: {by_kind}"
    assert run.unknown() > 0, "the kills landed while requests were in flight"
    print("\n" + run.summary())
