"""The periodic escalation sweep in a background thread (started with the projector)."""

from __future__ import annotations

import logging
import threading

from .service import VisitService

__all__ = ["DEFAULT_INTERVAL", "VisitSweeper"]

log = logging.getLogger("fieldhall.hall.visits")

# The shortest timer is the simple ticket's 5-minute dispatch; a sweep every 30 s escalates
# it within a tenth of its span.
DEFAULT_INTERVAL = 30.0


class VisitSweeper:
    def __init__(self, visits: VisitService, *, interval: float = DEFAULT_INTERVAL) -> None:
        self.visits = visits
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
                self.visits.sweep()
                self.visits.publish()  # documents a crash left unpublished
            except Exception:
                log.exception("visit sweep failed; retrying in %.0f s", self.interval)
            self._stop.wait(self.interval)
