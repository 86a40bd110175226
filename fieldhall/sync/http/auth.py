"""Who is calling: the authenticator hook, and the plain-mode admin authenticator.

Plain mode (``fieldhall couch serve``) follows CouchDB 3's ``admin_only`` default: every
request needs the admin's credentials, by HTTP Basic or by the ``AuthSession`` cookie that
``POST /_session`` issues. Wrong passwords count toward a short lockout, as in CouchDB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from typing import Protocol

from ..errors import Unauthorized
from ..policy import ADMIN, Principal
from .asgi import Request

__all__ = ["AdminAuthenticator", "Authenticator", "basic_credentials"]

SESSION_TIMEOUT_S = 600
LOCKOUT_FAILURES = 5
LOCKOUT_SECONDS = 300


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> Principal:
        """The caller, or raise :class:`Unauthorized`."""

    def login(self, name: str, password: str) -> Principal | None:
        """Check a name and password for ``POST /_session``."""

    def session_cookie(self, principal: Principal) -> str | None:
        """An ``AuthSession`` cookie value for a logged-in principal (None: no cookies)."""


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, sep, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("Malformed Basic credentials") from None
    if not sep:
        raise Unauthorized("Malformed Basic credentials")
    return name, password


def cookie(request: Request, name: str) -> str | None:
    for item in request.headers.get("cookie", "").split(";"):
        key, _, value = item.strip().partition("=")
        if key == name:
            return value
    return None


class AdminAuthenticator:
    def __init__(self, username: str, password: str, secret: bytes | None = None) -> None:
        self.username = username
        self._password_hash = hashlib.sha256(password.encode()).digest()
        self._secret = secret or os.urandom(32)
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _recent_failures(self, name: str, now: float) -> tuple[int, float]:
        """Failures of ``name`` in the current window (count, window start); call locked."""
        count, since = self._failures.get(name, (0, now))
        if now - since >= LOCKOUT_SECONDS:  # the window has passed: start counting afresh
            return 0, now
        return count, since

    def _check(self, name: str, password: str) -> bool:
        with self._lock:
            count, _ = self._recent_failures(name, time.monotonic())
            if count >= LOCKOUT_FAILURES:
                raise Unauthorized(
                    "Account is temporarily locked due to multiple failed login attempts"
                )
        digest = hashlib.sha256(password.encode()).digest()
        ok = hmac.compare_digest(name.encode(), self.username.encode()) & hmac.compare_digest(
            digest, self._password_hash
        )
        with self._lock:
            if ok:
                self._failures.pop(name, None)
            else:
                now = time.monotonic()
                count, since = self._recent_failures(name, now)
                self._failures[name] = (count + 1, since)
        return bool(ok)

    def login(self, name: str, password: str) -> Principal | None:
        return ADMIN if self._check(name, password) else None

    def session_cookie(self, principal: Principal) -> str:
        payload = f"{self.username}:{int(time.time()):X}"
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        return base64.urlsafe_b64encode(f"{payload}:{mac}".encode()).decode().rstrip("=")

    def _from_cookie(self, value: str) -> Principal | None:
        try:
            padded = value + "=" * (-len(value) % 4)
            name, stamp, mac = base64.urlsafe_b64decode(padded).decode().rsplit(":", 2)
            issued = int(stamp, 16)
        except (ValueError, UnicodeDecodeError):
            return None
        expected = hmac.new(self._secret, f"{name}:{stamp}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, expected) or time.time() - issued > SESSION_TIMEOUT_S:
            return None
        return ADMIN if name == self.username else None

    def authenticate(self, request: Request) -> Principal:
        credentials = basic_credentials(request)
        if credentials is not None:
            if self._check(*credentials):
                return ADMIN
            raise Unauthorized("Name or password is incorrect.")
        session = cookie(request, "AuthSession")
        if session:
            principal = self._from_cookie(session)
            if principal is not None:
                return principal
        raise Unauthorized("You are not authorized to access this db.")
