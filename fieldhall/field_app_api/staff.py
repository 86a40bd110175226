"""Hall staff accounts: argon2id password hashes, roles, a lockout after repeated failures.

The hall issue extends the roles; here they authenticate the admin API (HTTP Basic) and the
sync admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session

from .errors import FieldError
from .tables import StaffAccount

__all__ = ["ROLES", "add_staff", "authenticate_staff"]

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


def authenticate_staff(session: Session, username: str, password: str) -> StaffAccount | None:
    """The account for a correct name and password; ``None`` otherwise (and counts failures)."""
    account = session.get(StaffAccount, username)
    if account is None or not account.active:
        _hasher.hash(password)  # same cost either way: no user enumeration by timing
        return None
    now = _now()
    if account.locked_until is not None and account.locked_until > now:
        return None
    try:
        _hasher.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        account.failed_logins += 1
        if account.failed_logins >= LOCKOUT_AFTER:
            account.locked_until = now + LOCKOUT_FOR
            account.failed_logins = 0
        session.add(account)
        session.commit()
        return None
    if account.failed_logins or account.locked_until:
        account.failed_logins = 0
        account.locked_until = None
        session.add(account)
        session.commit()
    return account
