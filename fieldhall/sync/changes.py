"""Wake-ups for ``longpoll`` and ``continuous`` feeds.

A write calls :meth:`ChangeNotifier.notify` (from any thread) after it commits; feeds wait on
:meth:`ChangeNotifier.wait`. Waiters also re-check the database every ``poll_interval``
seconds, so a write committed by another server process is seen without a shared bus; a
PostgreSQL ``LISTEN/NOTIFY`` bridge can call :meth:`notify` to make that immediate.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

__all__ = ["ChangeNotifier"]


class ChangeNotifier:
    def __init__(self, poll_interval: float = 1.0) -> None:
        self.poll_interval = poll_interval
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = (
            defaultdict(set)
        )

    def notify(self, database: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(database, ()))
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the waiter's loop has closed
                pass

    async def wait(self, database: str, timeout: float) -> bool:
        """Wait until a change to ``database`` is notified or ``timeout`` (capped at the poll
        interval) passes; ``True`` when notified."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        key = (loop, event)
        with self._lock:
            self._waiters[database].add(key)
        try:
            await asyncio.wait_for(event.wait(), timeout=min(timeout, self.poll_interval))
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters[database].discard(key)
                if not self._waiters[database]:
                    del self._waiters[database]
