"""The periodic escalation sweep in a background thread (started with the projector), and
what it tells operations: when it last ran and succeeded, how long it took, how many runs
failed — ``/health`` says whether it is alive, ``/metrics`` exports the figures."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from fieldhall.field_app_api.clock import now as wall_clock
from fieldhall.field_app_api.clock import rfc3339

from .service import VisitEscalation, VisitService

__all__ = ["DEFAULT_INTERVAL", "STALE_AFTER_INTERVALS", "SweepStats", "VisitSweeper"]

log = logging.getLogger("fieldhall.hall.visits")

# The shortest timer is the simple ticket's 5-minute dispatch; a sweep every 30 s escalates
# it within a tenth of its span.
DEFAULT_INTERVAL = 30.0
# A sweeper that has not succeeded for this many intervals is not alive: one failed round
# (a locked database) is retried; three in a row mean escalations are not being made.
STALE_AFTER_INTERVALS = 3


@dataclass(slots=True)
class SweepStats:
    """Counts of this process's sweeps (wall-clock instants, whatever ``now`` they swept at)."""

    runs: int = 0
    failures: int = 0
    escalations: int = 0
    last_started_at: datetime | None = None
    last_success_at: datetime | None = None
    last_seconds: float | None = None
    last_error: str | None = None


class VisitSweeper:
    def __init__(self, visits: VisitService, *, interval: float = DEFAULT_INTERVAL) -> None:
        self.visits = visits
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = SweepStats()
        self._stats_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self, now: datetime | None = None) -> list[VisitEscalation]:
        """One round: escalate what is due at ``now`` (default: the service's clock) and
        publish what a crash left unpublished; counted in :attr:`stats`, errors re-raised."""
        started = time.perf_counter()
        with self._stats_lock:
            self.stats.last_started_at = wall_clock()
        try:
            made = self.visits.sweep(now)
            self.visits.publish()
        except Exception as exc:
            with self._stats_lock:
                self.stats.runs += 1
                self.stats.failures += 1
                self.stats.last_seconds = time.perf_counter() - started
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:500]
            raise
        with self._stats_lock:
            self.stats.runs += 1
            self.stats.escalations += len(made)
            self.stats.last_seconds = time.perf_counter() - started
            self.stats.last_success_at = wall_clock()
            self.stats.last_error = None
        return made

    def health(self, at: datetime | None = None) -> dict[str, Any]:
        """Whether the sweeper is alive: running, and succeeded within a few intervals
        (``lag_seconds``: since its last success)."""
        at = at or wall_clock()
        with self._stats_lock:
            stats = replace(self.stats)
        lag = (at - stats.last_success_at).total_seconds() if stats.last_success_at else None
        limit = timedelta(seconds=self.interval * STALE_AFTER_INTERVALS).total_seconds()
        running = self.running
        # Just started: the first round may not have finished yet.
        started = stats.last_started_at
        fresh = (
            stats.last_success_at is None
            and stats.failures == 0
            and (started is None or (at - started).total_seconds() <= limit)
        )
        return {
            "running": running,
            "alive": running and (fresh or (lag is not None and lag <= limit)),
            "interval_seconds": self.interval,
            "runs": stats.runs,
            "failures": stats.failures,
            "last_started_at": rfc3339(stats.last_started_at),
            "last_success_at": rfc3339(stats.last_success_at),
            "lag_seconds": None if lag is None else round(lag, 3),
            "last_seconds": None if stats.last_seconds is None else round(stats.last_seconds, 6),
            "last_error": stats.last_error,
        }

    def start(self) -> VisitSweeper:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="hall-visits", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("visit sweep failed; retrying in %.0f s", self.interval)
            self._stop.wait(self.interval)
