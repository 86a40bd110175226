"""Notifications: warnings and decisions as records, delivered by a notifier.

Modules, one concept each: ``records`` (raising one with :func:`notify` in the caller's
transaction; the decision of a transition; listing), ``notifiers`` (the one-method
:class:`Notifier` interface and the log notifier), ``webhook`` (HMAC-signed HTTP POST),
``dispatcher`` (the background outbox delivery with retries and backoff, and the hall's
periodic chores), ``warnings`` (the clocks' warnings and overdue steps), ``escalations``
(the home-visit ladder's steps), ``config`` (the notifier the settings ask for).
"""

from __future__ import annotations

from .config import build_notifier
from .dispatcher import Backoff, Chore, NotificationDispatcher, undelivered_notifications
from .escalations import notify_visit_escalation
from .notifiers import DeliveryFailed, LogNotifier, Notifier
from .records import DECISION_EVENTS, list_notifications, notification_json, notify, raise_decision
from .warnings import sweep_clock_warnings
from .webhook import WebhookNotifier, sign, verify_signature

__all__ = [
    "DECISION_EVENTS",
    "Backoff",
    "Chore",
    "DeliveryFailed",
    "LogNotifier",
    "NotificationDispatcher",
    "Notifier",
    "WebhookNotifier",
    "build_notifier",
    "list_notifications",
    "notification_json",
    "notify",
    "notify_visit_escalation",
    "raise_decision",
    "sign",
    "sweep_clock_warnings",
    "undelivered_notifications",
    "verify_signature",
]
