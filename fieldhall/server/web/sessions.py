"""Signed-in staff: server-side sessions behind an opaque cookie, and the per-IP lockout.

A session is created only by a successful login, with a fresh random id (never one a browser
offers, so a planted cookie cannot become someone's session), and holds the username, the
CSRF token of its forms and when it began. It ends at logout, after :data:`IDLE` without a
request, or :data:`LIFETIME` after the login, whichever comes first. Sessions live in a
Litestar ``FileStore`` under the data directory, so they survive a restart and are shared by
the workers of one host.

Account lockout is the staff module's (five failures lock the account for fifteen minutes,
whichever door they came through); :class:`AddressThrottle` adds the per-address one, so one
machine cannot try many accounts.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import orjson
from litestar.stores.base import Store
from litestar.stores.file import FileStore

__all__ = [
    "COOKIE",
    "IDLE",
    "LIFETIME",
    "AddressThrottle",
    "WebSession",
    "WebSessions",
]

COOKIE = "hall_session"
IDLE = timedelta(hours=2)  # a window clerk steps away at lunch and must log in again
LIFETIME = timedelta(hours=12)  # one working day, however busy
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class WebSession:
    id: str
    username: str
    csrf: str
    since: datetime


class WebSessions:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def begin(self, username: str) -> WebSession:
        if isinstance(self.store, FileStore):
            await self.store.delete_expired()  # at each login: the files never pile up
        session = WebSession(
            secrets.token_urlsafe(32), username, secrets.token_urlsafe(32), datetime.now(UTC)
        )
        body = {"u": username, "csrf": session.csrf, "since": session.since.isoformat()}
        await self.store.set(session.id, orjson.dumps(body), expires_in=IDLE)
        return session

    async def find(self, session_id: str | None) -> WebSession | None:
        if not session_id or not _SESSION_ID.fullmatch(session_id):
            return None  # only ids this module could have made reach the store
        try:
            raw = await self.store.get(session_id, renew_for=IDLE)
            if raw is None:
                return None
            body = orjson.loads(raw)
            session = WebSession(
                session_id, body["u"], body["csrf"], datetime.fromisoformat(body["since"])
            )
        except (msgspec.MsgspecError, ValueError, KeyError, TypeError):  # a damaged file
            await self.end(session_id)
            return None
        if datetime.now(UTC) - session.since > LIFETIME:
            await self.end(session_id)
            return None
        return session

    async def end(self, session_id: str) -> None:
        await self.store.delete(session_id)


class AddressThrottle:
    """At most ``limit`` failed logins from one address in ``window`` seconds; past that the
    address may not try again until its oldest failure leaves the window.

    Kept in memory: a restart forgets it, the per-account lockout (in the database) does not.
    """

    def __init__(self, limit: int = 20, window: float = 15 * 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked_for(self, address: str) -> float:
        """Seconds until ``address`` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return 0.0
            return failures[0] + self.window - now

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(address, now).append(now)
            if len(self._failures) > 100_000:  # bounded memory under a spray of addresses
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]
