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


NOTIFY_CHANNEL = "fieldhall_sync"


class PostgresListener:
    """Bridges PostgreSQL ``LISTEN/NOTIFY`` to a :class:`ChangeNotifier`, so a write on one
    server process wakes the waiting feeds of every process at once.

    Writers send ``pg_notify('fieldhall_sync', <database name>)`` inside their transaction;
    PostgreSQL delivers it only when that transaction commits.
    """

    def __init__(self, conninfo: str, notifier: ChangeNotifier) -> None:
        self.conninfo = conninfo
        self.notifier = notifier
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)
        self._ready = threading.Event()

    def start(self) -> PostgresListener:
        self._thread.start()
        self._ready.wait(timeout=10)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self.notifier.notify(note.payload)
            except psycopg.Error:
                self._ready.set()
                # The database went away; feeds still poll. Try again shortly.
                self._stop.wait(1.0)
