"""When background work may run: not while devices are writing to the door, but not for long.

The hall's background workers — the projector and the photo worker — compete with device
ingest on ``/sync/field`` for the cores and for the GIL (a push of a thousand cases brings a
thousand cases to project and a thousand consent images to derive). So they yield, in a
bounded way: their work starts once no device has written for ``quiet`` seconds — or once it
has waited ``max_defer`` seconds, whatever the devices do: under a sustained burst it runs
every few seconds, in bigger batches, and never starves. (The photo worker also runs one job
at a time while devices are writing, instead of one per core.)

Only device writes count (a principal with a device, as the field policy makes them): the
hall's own documents (receipts, case events) are not a door being held up. What tests and the
CLI call directly (``Projector.project_pending``, ``MaterialPhotos.run_pending``) is never
paced.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from fieldhall.field_app_api.service import FIELD_DB
from fieldhall.sync.policy import Principal

__all__ = [
    "MAX_DEFER_SECONDS",
    "PROJECTOR_MAX_DEFER_SECONDS",
    "PROJECTOR_QUIET_SECONDS",
    "QUIET_SECONDS",
    "IngestPacer",
    "Waiter",
]

# PouchDB sends a push's batches back to back (milliseconds apart), and a phone syncing a
# case makes a handful of requests within a second or so: half a second without a device
# write means the burst is over.
QUIET_SECONDS = 0.5
# The longest a batch waits for that quiet: a few seconds of delay on a thumbnail is nothing to
# a reviewer, and a batch (64 originals) then runs before the door gets the cores back.
MAX_DEFER_SECONDS = 3.0
# The projector's: a clerk's inbox may lag a burst by a second, no more.
PROJECTOR_QUIET_SECONDS = 0.25
PROJECTOR_MAX_DEFER_SECONDS = 1.0


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

    def on_commit(
        self, database: str, principal: Principal, docs: Sequence[Mapping[str, Any]]
    ) -> None:
        """A store commit listener: counts the writes of a device (the field policy's
        principals carry it in their context)."""
        if database == FIELD_DB and principal.context.get("device") is not None:
            self.device_wrote()

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
