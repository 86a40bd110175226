"""The notifier the server settings ask for: the webhook when ``FIELDHALL_WEBHOOK_URL`` is
set (with ``FIELDHALL_WEBHOOK_SECRET``, at least 16 characters, and
``FIELDHALL_WEBHOOK_TIMEOUT`` seconds per attempt), else the log."""

from __future__ import annotations

from typing import Protocol

from .notifiers import LogNotifier, Notifier
from .webhook import WebhookNotifier

__all__ = ["NotifierSettings", "build_notifier"]


class NotifierSettings(Protocol):
    @property
    def webhook_url(self) -> str | None: ...

    @property
    def webhook_secret(self) -> str | None: ...

    @property
    def webhook_timeout(self) -> float: ...


def build_notifier(settings: NotifierSettings) -> Notifier:
    """Raises ``ValueError`` for a webhook configured without a usable secret or URL: a hall
    that silently signs with nothing, or never delivers, is worse than one that will not start."""
    if not settings.webhook_url:
        return LogNotifier()
    if not settings.webhook_secret:
        raise ValueError("FIELDHALL_WEBHOOK_URL is set but FIELDHALL_WEBHOOK_SECRET is not")
    return WebhookNotifier(
        settings.webhook_url, settings.webhook_secret, timeout=settings.webhook_timeout
    )
