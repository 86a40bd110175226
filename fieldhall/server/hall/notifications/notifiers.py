"""The notifier interface, one method: :meth:`Notifier.send` delivers one notification or
raises :class:`DeliveryFailed`. Implementations: :class:`LogNotifier` (here, the default) and
:class:`~.webhook.WebhookNotifier`. A test double is a class with ``name`` and ``send``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

__all__ = ["DeliveryFailed", "LogNotifier", "Notifier"]


class DeliveryFailed(Exception):
    """Raised when a notifier could not deliver a notification; ``retryable`` says whether
    trying again later may help (a timeout, a 503) or not (the receiver refused it: 400)."""

    def __init__(self, detail: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.status = status


class Notifier(Protocol):
    name: str

    def send(self, message: Mapping[str, Any], *, attempt: int) -> int | None:
        """Deliver ``message`` (the notification's envelope) or raise :class:`DeliveryFailed`;
        returns the receiver's status code, if it has one. ``attempt`` counts from 1."""
        ...


class LogNotifier:
    """Writes each notification as one structured log record on ``fieldhall.notifications``
    (INFO): the message is the envelope as JSON, and the record carries it as ``notification``
    plus ``notification_id`` and ``notification_kind`` for log shippers that index extras."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("fieldhall.notifications")

    def send(self, message: Mapping[str, Any], *, attempt: int) -> int | None:
        self.log.info(
            "notification %s",
            orjson.dumps(dict(message)).decode(),
            extra={
                "notification": dict(message),
                "notification_id": message.get("id"),
                "notification_kind": message.get("kind"),
            },
        )
        return None
