"""A serving process (``fieldhall serve``, ``couch serve``) keeps its start-up heap out of the
cyclic garbage collector's sight and collects its youngest generation less often
(serving.tune_garbage_collector). Run in a process of its own: what it freezes stays frozen."""

from __future__ import annotations

import json
import subprocess
import sys

from fieldhall.server.serving import GC_YOUNG_THRESHOLD

PROBE = """
import gc, json
from fieldhall.server.serving import tune_garbage_collector
before = (gc.get_freeze_count(), gc.get_threshold())
tune_garbage_collector()
print(json.dumps({"before": before, "after": (gc.get_freeze_count(), gc.get_threshold())}))
"""


def test_the_start_up_heap_is_frozen_and_young_garbage_waits_for_more() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(result.stdout)
    (frozen_before, threshold_before), (frozen_after, threshold_after) = (
        seen["before"],
        seen["after"],
    )
    assert frozen_before == 0 and frozen_after > 1_000  # the modules imported by then, at least
    assert threshold_after == [GC_YOUNG_THRESHOLD, *threshold_before[1:]]
    assert threshold_before[0] < GC_YOUNG_THRESHOLD
