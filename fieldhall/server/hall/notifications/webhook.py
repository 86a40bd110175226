"""The webhook notifier: each notification is an HTTP POST of its JSON envelope, signed.

The request::

    POST <FIELDHALL_WEBHOOK_URL>
    Content-Type: application/json
    X-Fieldhall-Delivery: <notification id>      (the same on every retry: deduplicate on it)
    X-Fieldhall-Kind: decision
    X-Fieldhall-Attempt: 1
    X-Fieldhall-Timestamp: 1764216000            (Unix seconds, when this attempt was signed)
    X-Fieldhall-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The timestamp is signed with the body so a captured request cannot be replayed later:
receivers check the signature with :func:`verify_signature` (constant-time) and refuse a
timestamp older than a few minutes. Any 2xx is delivered; a timeout, a connection error, 408,
429 and 5xx are retried by the dispatcher with backoff; any other status is a refusal, not
retried. Redirects are not followed (a webhook URL is configured, not discovered).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from .notifiers import DeliveryFailed

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookNotifier", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Fieldhall-Signature"
TIMESTAMP_HEADER = "X-Fieldhall-Timestamp"
RETRYABLE_STATUSES = frozenset({408, 425, 429})
MIN_SECRET = 16  # characters: an HMAC key worth the name


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` is ours over ``body`` at ``timestamp``, signed within
    ``tolerance`` seconds of ``now`` (a receiver's check)."""
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookNotifier:
    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must be http:// or https://")
        if len(secret) < MIN_SECRET:
            raise ValueError(f"the webhook secret must be at least {MIN_SECRET} characters")
        self.url = url
        self.secret = secret
        self.clock = clock
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout), follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        self.client.close()

    def send(self, message: Mapping[str, Any], *, attempt: int) -> int | None:
        body = orjson.dumps(dict(message))
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "fieldhall-notifier/1",
            "X-Fieldhall-Delivery": str(message.get("id")),
            "X-Fieldhall-Kind": str(message.get("kind")),
            "X-Fieldhall-Attempt": str(attempt),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
        }
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"timed out: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return status
        retryable = status >= 500 or status in RETRYABLE_STATUSES
        raise DeliveryFailed(
            f"HTTP {status}: {response.text[:200]}", retryable=retryable, status=status
        )
