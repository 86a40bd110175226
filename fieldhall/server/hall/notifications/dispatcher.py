"""Delivering notifications from their outbox (``hall_notification``), in the background.

:func:`~.records.notify` only writes a row; this dispatcher's thread finds the rows due
(``state = pending``, ``next_attempt_at`` passed), **claims** each for a lease (an UPDATE that
only one worker of several wins), calls the notifier outside any database transaction — a
slow receiver holds no lock and blocks no staff action, no projector batch — and records the
outcome in a short transaction of its own:

* delivered: ``state = delivered``, ``delivered_at``;
* a retryable failure (timeout, connection refused, 5xx, 429): ``attempts + 1`` and
  ``next_attempt_at`` moved by the :class:`Backoff`; after ``max_attempts`` ``failed``;
* a refusal (another 4xx): ``failed`` at once — a receiver that refuses will refuse again.

After a retryable failure the pass ends (the remaining claims are released): a receiver that
is down costs one timeout per poll, not one per waiting notification. A crash between the
send and the record leaves the claim to expire and the notification is sent again: delivery
is at least once, and receivers deduplicate on the notification id.

The same thread runs the hall's other periodic **chores** (the clock-warning sweep, the
station events' publisher), each at its own interval, so the hall runs one background thread
besides the projector.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, func, select

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.service import FieldService

from ..tables import HallNotification
from .notifiers import DeliveryFailed, Notifier
from .records import DELIVERED, FAILED, PENDING, envelope

__all__ = ["Backoff", "Chore", "NotificationDispatcher", "undelivered_notifications"]

log = logging.getLogger("fieldhall.hall.notifications")

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Backoff:
    """The wait after the ``n``-th failed attempt: ``first × factor^(n-1)``, at most ``cap``
    seconds. The defaults spread 8 attempts over about two hours (10 s, 30 s, 1.5 min,
    4.5 min, 13.5 min, 40 min, 1 h): long enough to ride out a receiver's restart or a
    deployment, short enough that an operator sees ``failed`` the same morning."""

    first: float = 10.0
    factor: float = 3.0
    cap: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        return float(min(self.cap, self.first * self.factor ** max(0, attempts - 1)))


@dataclass
class Chore:
    """A periodic task on the dispatcher's thread; errors are logged and retried next time."""

    name: str
    interval: float
    run: Callable[[], object]
    due: float = field(default=0.0)


class NotificationDispatcher:
    def __init__(
        self,
        field: FieldService,
        notifier: Notifier,
        *,
        backoff: Backoff | None = None,
        clock: Clock = now,
        poll_interval: float = 1.0,
        batch: int = 20,
        lease: float | None = None,
        chores: Sequence[Chore] = (),
    ) -> None:
        self.field = field
        self.notifier = notifier
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.poll_interval = poll_interval
        self.batch = batch
        # A claim outlives the slowest pass: every claimed notification timing out.
        self.lease = lease if lease is not None else 60.0 + 30.0 * batch
        self.chores = list(chores)
        self.delivered_total = 0
        self.failed_attempts_total = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ one pass

    def deliver_pending(self) -> int:
        """Deliver what is due; returns how many were delivered."""
        delivered = 0
        while not self._stop.is_set():
            claimed = self._claim()
            if not claimed:
                return delivered
            for index, row in enumerate(claimed):
                ok, go_on = self._deliver(row)
                delivered += ok
                if not go_on:
                    self._release([r.id for r in claimed[index + 1 :] if r.id is not None])
                    return delivered
            if len(claimed) < self.batch:
                return delivered
        return delivered

    def _claim(self) -> list[HallNotification]:
        at = self.clock()
        free = or_(
            col(HallNotification.claimed_until).is_(None),
            col(HallNotification.claimed_until) < at,
        )
        # Looked up in a read transaction first: an idle hall polls without taking SQLite's
        # write lock every second.
        with self.field.read_session() as session:
            due = session.exec(
                select(HallNotification.id)
                .where(
                    HallNotification.state == PENDING,
                    col(HallNotification.next_attempt_at) <= at,
                    free,
                )
                .order_by(col(HallNotification.next_attempt_at), col(HallNotification.id))
                .limit(self.batch)
            ).all()
        if not due:
            return []
        claimed = []
        with self.field.session() as session:
            for notification_id in due:
                won = session.connection().execute(
                    update(HallNotification)
                    .where(
                        col(HallNotification.id) == notification_id,
                        col(HallNotification.state) == PENDING,
                        free,
                    )
                    .values(claimed_until=at + timedelta(seconds=self.lease))
                )
                if won.rowcount == 1:
                    row = session.get(HallNotification, notification_id)
                    if row is not None:
                        claimed.append(row)
        return claimed

    def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        with self.field.session() as session:
            session.connection().execute(
                update(HallNotification)
                .where(col(HallNotification.id).in_(ids), col(HallNotification.state) == PENDING)
                .values(claimed_until=None)
            )

    def _deliver(self, row: HallNotification) -> tuple[bool, bool]:
        """Send one; (delivered, whether to go on with the pass)."""
        attempt = row.attempts + 1
        try:
            status = self.notifier.send(envelope(row), attempt=attempt)
        except DeliveryFailed as exc:
            self.failed_attempts_total += 1
            final = not exc.retryable or attempt >= self.backoff.max_attempts
            log.warning(
                "notification %s (%s) attempt %d via %s failed%s: %s",
                row.id,
                row.kind,
                attempt,
                self.notifier.name,
                "" if not final else " for good",
                exc.detail,
            )
            self._record(
                row,
                attempt,
                state=FAILED if final else PENDING,
                status=exc.status,
                error=exc.detail[:1000],
                retry_in=None if final else self.backoff.delay(attempt),
            )
            return False, not exc.retryable
        except Exception as exc:  # a notifier bug must not kill the thread or lose the row
            log.exception("notifier %s crashed on notification %s", self.notifier.name, row.id)
            self._record(
                row,
                attempt,
                state=PENDING if attempt < self.backoff.max_attempts else FAILED,
                status=None,
                error=f"{type(exc).__name__}: {exc}"[:1000],
                retry_in=self.backoff.delay(attempt),
            )
            return False, False
        self._record(row, attempt, state=DELIVERED, status=status, error=None, retry_in=None)
        self.delivered_total += 1
        return True, True

    def _record(
        self,
        row: HallNotification,
        attempt: int,
        *,
        state: str,
        status: int | None,
        error: str | None,
        retry_in: float | None,
    ) -> None:
        at = self.clock()
        values: dict[str, object] = {
            "state": state,
            "attempts": attempt,
            "notifier": self.notifier.name,
            "last_status": status,
            "last_error": error,
            "claimed_until": None,
        }
        if state == DELIVERED:
            values["delivered_at"] = at
        if retry_in is not None:
            values["next_attempt_at"] = at + timedelta(seconds=retry_in)
        with self.field.session() as session:
            session.connection().execute(
                update(HallNotification).where(col(HallNotification.id) == row.id).values(**values)
            )

    # ------------------------------------------------------------------ chores

    def run_chores(self, *, force: bool = False) -> None:
        moment = time.monotonic()
        for chore in self.chores:
            if not force and moment < chore.due:
                continue
            chore.due = moment + chore.interval
            try:
                chore.run()
            except Exception:
                log.exception(
                    "chore %s failed; it runs again in %.0f s", chore.name, chore.interval
                )

    # ------------------------------------------------------------------ running

    def start(self) -> NotificationDispatcher:
        """Deliver (and run the chores) in a background thread until :meth:`stop`."""
        if self._thread is not None:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hall-notifications", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.run_chores()
            try:
                self.deliver_pending()
            except Exception:
                log.exception("notification delivery pass failed; retrying")
            self._wake.wait(self.poll_interval)


def undelivered_notifications(field: FieldService) -> dict[str, int]:
    """How many notifications wait (``pending``) and how many failed for good."""
    with field.read_session() as session:
        rows = session.exec(
            select(HallNotification.state, func.count())
            .where(col(HallNotification.state).in_([PENDING, FAILED]))
            .group_by(HallNotification.state)
        ).all()
    counts = {PENDING: 0, FAILED: 0}
    counts.update({state: int(n) for state, n in rows})
    return counts
