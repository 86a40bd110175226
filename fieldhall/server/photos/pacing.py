"""When the photo worker may work: not while devices are writing to the door, but not for long.

Deriving and recording photos compete with device ingest on ``/sync/field`` for the cores and
for the GIL, and a push of a thousand cases brings a thousand consent images at once. So the
background worker yields, in a bounded way:

* a pass, and each batch of jobs within it, starts once no device has written for
  ``quiet`` seconds — or once it has waited ``max_defer`` seconds, whatever the devices do:
  under a sustained burst thumbnails come a batch every few seconds, never starve;
* while devices are writing, at most one job runs at a time instead of one per core.

Only device writes count (a principal with a device, as the field policy makes them): the
hall's own documents (receipts, case events) are not a door being held up.
``MaterialPhotos.run_pending`` (what tests and the CLI call) is never paced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["MAX_DEFER_SECONDS", "QUIET_SECONDS", "IngestPacer", "Waiter"]

# PouchDB sends a push's batches back to back (milliseconds apart), and a phone syncing a
# case makes a handful of requests within a second or so: half a second without a device
# write means the burst is over.
QUIET_SECONDS = 0.5
# The longest a batch waits for that quiet: a few seconds of delay on a thumbnail is nothing to
# a reviewer, and a batch (64 originals) then runs before the door gets the cores back.
MAX_DEFER_SECONDS = 3.0


class Waiter(Protocol):
    """What the pacer sleeps on: ``threading.Event`` (set: stop waiting at once)."""

    def wait(self, timeout: float | None = None) -> bool: ...

    def is_set(self) -> bool: ...


class IngestPacer:
    def __init__(
        self,
        *,
        quiet: float = QUIET_SECONDS,
        max_defer: float = MAX_DEFER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.max_defer = max_defer
        self.clock = clock
        self._last_write = -math.inf  # a float store: atomic, so no lock

    def device_wrote(self) -> None:
        """A device's write committed (the store's commit listener calls this)."""
        self._last_write = self.clock()

    def ingesting(self) -> bool:
        """Whether a device wrote within the last ``quiet`` seconds."""
        return self.clock() - self._last_write < self.quiet

    def delay(self, waiting_since: float) -> float:
        """Seconds still to wait for work that has waited since ``waiting_since`` (a clock
        reading): until the quiet period is over, and at most until ``max_defer`` after it
        started waiting; 0 when it may start."""
        start = min(self._last_write + self.quiet, waiting_since + self.max_defer)
        return max(0.0, start - self.clock())

    def wait_turn(self, stop: Waiter) -> float:
        """Block until work may start (or ``stop`` is set); returns the seconds waited."""
        since = self.clock()
        while not stop.is_set():
            delay = self.delay(since)
            if delay <= 0:
                break
            stop.wait(delay)
        return self.clock() - since
