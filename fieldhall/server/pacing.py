"""When background work may run: not while devices are writing to the door, but not never.

The hall's background workers — the projector and the photo worker — compete with device
ingest on ``/sync/field`` for the cores and for the GIL (a push of a thousand cases brings a
thousand cases to project and a thousand consent images to derive). So they yield, in a
bounded way. Work runs in turns (a projector batch, a batch of photos); a turn starts

* at once when no device write is in flight and none has ended for ``quiet`` seconds: the
  door is idle (a write in flight counts however long it takes: a batch slowed down by the
  work it lets in must not look like a pause, or the two feed each other);
* otherwise, while devices keep writing, once the turn has waited ``max_defer`` seconds *and*
  the turns so far have taken at most ``share`` of the time: a turn that ran for *d*
  seconds is followed by a rest of *d* × (1 − share) / share.

So under a sustained burst the work goes on, in bigger batches, at a bounded fraction of the
time (it never starves), and catches up once the burst is over; what it owes shows as lag
(``/health``). (The photo worker also runs one job at a time while devices are writing,
instead of one per core.)

Only device writes count (a principal with a device, as the field policy makes them): the
hall's own documents (receipts, case events) are not a door being held up. What tests and the
CLI call directly (``Projector.project_pending``, ``MaterialPhotos.run_pending``) is never
paced.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from fieldhall.field_app_api.service import FIELD_DB
from fieldhall.sync.policy import Principal

__all__ = [
    "MAX_DEFER_SECONDS",
    "PROJECTOR_MAX_DEFER_SECONDS",
    "PROJECTOR_QUIET_SECONDS",
    "PROJECTOR_SHARE",
    "QUIET_SECONDS",
    "SHARE",
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
# Under a sustained burst, photos take a twentieth of the time: deriving a consent image
# costs more than the door spends on its case, and a reviewer needs the thumbnails minutes
# later, not seconds.
SHARE = 0.05
# The projector's: a clerk's inbox may lag the start of a burst by a second; then the
# projector takes a twentieth of the time — the door and the projector hold the same GIL and
# share the cores with the door's workers and the blob writer, and a case costs the
# projector about what it costs the door, so during a long burst the inbox falls behind, and
# catches up once it is over. (A push of 5,000 signed cases on two cores: the projector's
# turns took 0.33 s of CPU during it at a tenth of the time, 0.18 s at a twentieth.)
PROJECTOR_QUIET_SECONDS = 0.25
PROJECTOR_MAX_DEFER_SECONDS = 1.0
PROJECTOR_SHARE = 0.05


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
        share: float = SHARE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        self.quiet = quiet
        self.max_defer = max_defer
        self.share = share
        self.clock = clock
        # Float stores: atomic, so no lock.
        self._last_write = -math.inf
        self._rest_until = -math.inf  # while devices write, no turn before this
        self._in_flight = 0  # device writes started and not yet ended
        self._lock = threading.Lock()

    def device_wrote(self) -> None:
        """A device's write ended (committed or not)."""
        self._last_write = self.clock()

    def on_write(self, database: str, principal: Principal, writing: bool) -> None:
        """A store write listener: counts the writes of a device (the field policy's
        principals carry it in their context) from their start to their end."""
        if database != FIELD_DB or principal.context.get("device") is None:
            return
        with self._lock:
            self._in_flight = self._in_flight + 1 if writing else max(0, self._in_flight - 1)
        self.device_wrote()

    def _quiet_from(self) -> float:
        """When the door's quiet period ends, as things stand."""
        last = self.clock() if self._in_flight else self._last_write
        return last + self.quiet

    def ingesting(self) -> bool:
        """Whether a device write is in flight or ended within the last ``quiet`` seconds."""
        return self._quiet_from() > self.clock()

    def delay(self, waiting_since: float) -> float:
        """Seconds still to wait for a turn that has waited since ``waiting_since`` (a clock
        reading): until the quiet period is over, or else until it has waited ``max_defer``
        and the last turn's rest is over; 0 when it may start."""
        bound = max(waiting_since + self.max_defer, self._rest_until)
        start = min(self._quiet_from(), bound)
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

    def turn_ended(self, started: float) -> None:
        """A turn that started at ``started`` (a clock reading) is over: the next one, should
        devices be writing, rests long enough to keep the turns to ``share`` of the time."""
        end = self.clock()
        self._rest_until = end + (end - started) * (1 - self.share) / self.share

    @contextmanager
    def turn(self, stop: Waiter) -> Iterator[None]:
        """Wait for a turn (:meth:`wait_turn`), then time the block as that turn."""
        self.wait_turn(stop)
        started = self.clock()
        try:
            yield
        finally:
            self.turn_ended(started)
