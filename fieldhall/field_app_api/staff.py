"""Hall staff accounts: argon2id password hashes, roles, a lockout after repeated failures.

The hall issue extends the roles; here they authenticate the admin API (HTTP Basic) and the
sync admin."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session

from .errors import FieldError
from .tables import StaffAccount

if TYPE_CHECKING:
    from .service import FieldService

__all__ = ["ROLES", "add_staff", "verify_staff"]

ROLES = ("admin", "clerk", "approver", "supervisor")
LOCKOUT_AFTER = 5
LOCKOUT_FOR = timedelta(minutes=15)

_hasher = PasswordHasher()


def _now() -> datetime:
    return datetime.now(UTC)


def add_staff(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    department: str | None = None,
    display_name: str = "",
) -> StaffAccount:
    if role not in ROLES:
        raise FieldError("staff.bad_role", f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 100:
        raise FieldError("staff.bad_username", "username must be 1 to 100 characters")
    if len(password) < 8:
        raise FieldError("staff.weak_password", "password must be at least 8 characters")
    if session.get(StaffAccount, username) is not None:
        raise FieldError("staff.exists", f"staff account {username!r} already exists")
    account = StaffAccount(
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        department=department,
        display_name=display_name or username,
        created_at=_now(),
    )
    session.add(account)
    session.commit()
    session.refresh(account)
    return account


class _RecentlyVerified:
    """Passwords verified in the last minutes, so an API client sending HTTP Basic on every
    request pays argon2 (~0.2 s of CPU by design) once, not per request. Keyed by a hash of
    the name, the password and the stored hash: a changed password misses; the account
    itself (active, role, lockout) is read afresh on every request."""

    def __init__(self, ttl: float = 300.0, size: int = 1024) -> None:
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(account: StaffAccount, password: str) -> bytes:
        material = "\0".join((account.username, password, account.password_hash))
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).digest()

    def __contains__(self, key: bytes) -> bool:
        with self._lock:
            expires = self._entries.get(key)
            if expires is None or expires < time.monotonic():
                self._entries.pop(key, None)
                return False
            return True

    def add(self, key: bytes) -> None:
        with self._lock:
            self._entries[key] = time.monotonic() + self.ttl
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_verified = _RecentlyVerified()


def verify_staff(service: FieldService, username: str, password: str) -> StaffAccount | None:
    """The account for a correct name and password, ``None`` otherwise (failures counted;
    :data:`LOCKOUT_AFTER` of them lock the account for :data:`LOCKOUT_FOR`). argon2 runs
    outside any transaction: the account is read, the password checked, and the write lock
    taken only to count a failure or clear a lockout."""
    with service.read_session() as session:
        account = session.get(StaffAccount, username)
    if account is None or not account.active:
        _hasher.hash(password)  # same cost either way: no user enumeration by timing
        return None
    if account.locked_until is not None and _aware(account.locked_until) > _now():
        return None
    key = _RecentlyVerified.key(account, password)
    if key not in _verified:
        try:
            _hasher.verify(account.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            with service.session() as session:
                _count_failure(session, username)
            return None
        _verified.add(key)
    if account.failed_logins or account.locked_until:
        with service.session() as session:
            fresh = session.get(StaffAccount, username)
            if fresh is not None:
                fresh.failed_logins = 0
                fresh.locked_until = None
                session.add(fresh)
                session.commit()
    return account


def _count_failure(session: Session, username: str) -> None:
    account = session.get(StaffAccount, username)  # re-read under the write lock
    if account is None:
        return
    account.failed_logins += 1
    if account.failed_logins >= LOCKOUT_AFTER:
        account.locked_until = _now() + LOCKOUT_FOR
        account.failed_logins = 0
    session.add(account)
    session.commit()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
