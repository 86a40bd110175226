"""Staff passwords are checked without holding the database's write lock (argon2 takes
~0.2 s by design), failures are counted and lock the account, and a password verified once
is not re-hashed on every HTTP Basic request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from fieldhall.field_app_api import staff as staff_module
from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.staff import LOCKOUT_AFTER, add_staff, verify_staff
from fieldhall.field_app_api.tables import StaffAccount
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_store


@pytest.fixture
def service(tmp_path: Path) -> Iterator[FieldService]:
    store = open_store(Settings.from_env(data_dir=tmp_path / "hall"))
    field = FieldService(store.db.engine, store)
    with field.session() as session:
        add_staff(session, "carol", "carol-password", "clerk")
    yield field
    store.db.engine.dispose()


@pytest.fixture
def slow_hasher(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """A hasher whose verify takes a second more, to see what it blocks; counts its calls."""
    real = staff_module._hasher

    class Slow(PasswordHasher):
        calls = 0

        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            Slow.calls += 1
            time.sleep(1.0)
            return real.verify(hash, password)

    slow = Slow()
    monkeypatch.setattr(staff_module, "_hasher", slow)
    monkeypatch.setattr(staff_module, "_verified", staff_module._RecentlyVerified())
    return slow


def test_a_right_password_gives_the_account_and_a_wrong_one_none(service: FieldService) -> None:
    account = verify_staff(service, "carol", "carol-password")
    assert account is not None and account.role == "clerk"
    assert verify_staff(service, "carol", "wrong-password") is None
    assert verify_staff(service, "nobody", "carol-password") is None


def test_writers_are_not_blocked_while_a_password_is_checked(
    service: FieldService, slow_hasher: PasswordHasher
) -> None:
    checker = threading.Thread(target=verify_staff, args=(service, "carol", "carol-password"))
    checker.start()
    time.sleep(0.1)  # the check is under way
    started = time.monotonic()
    with service.session() as session:  # takes the write lock
        account = session.get(StaffAccount, "carol")
        assert account is not None
        account.display_name = "窗口 carol"
        session.add(account)
    waited = time.monotonic() - started
    checker.join()
    assert waited < 0.6, f"a writer waited {waited:.2f} s for a password check"


def test_failures_lock_the_account_and_a_locked_account_is_refused(
    service: FieldService,
) -> None:
    for _ in range(LOCKOUT_AFTER):
        assert verify_staff(service, "carol", "wrong-password") is None
    with service.read_session() as session:
        account = session.get(StaffAccount, "carol")
        assert account is not None and account.locked_until is not None
    assert verify_staff(service, "carol", "carol-password") is None  # locked, even if right
    with service.session() as session:
        account = session.get(StaffAccount, "carol")
        assert account is not None
        account.locked_until = datetime.now(UTC) - timedelta(seconds=1)
        session.add(account)
    assert verify_staff(service, "carol", "carol-password") is not None
    with service.read_session() as session:
        account = session.get(StaffAccount, "carol")
        assert account is not None and account.locked_until is None
        assert account.failed_logins == 0


def test_a_verified_password_is_not_hashed_again_but_a_changed_one_is(
    service: FieldService, slow_hasher: PasswordHasher
) -> None:
    assert verify_staff(service, "carol", "carol-password") is not None
    assert verify_staff(service, "carol", "carol-password") is not None
    assert type(slow_hasher).calls == 1  # verified once, then remembered
    with service.session() as session:
        account = session.get(StaffAccount, "carol")
        assert account is not None
        account.password_hash = staff_module.PasswordHasher().hash("new-password-1")
        session.add(account)
    assert verify_staff(service, "carol", "carol-password") is None
    assert verify_staff(service, "carol", "new-password-1") is not None
    assert type(slow_hasher).calls == 3


def test_a_deactivated_account_is_refused_even_if_recently_verified(
    service: FieldService,
) -> None:
    assert verify_staff(service, "carol", "carol-password") is not None
    with service.session() as session:
        account = session.get(StaffAccount, "carol")
        assert account is not None
        account.active = False
        session.add(account)
    assert verify_staff(service, "carol", "carol-password") is None
