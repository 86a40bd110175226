"""What the reference device client raises, as one hierarchy with stable codes.

Hierarchy::

    DeviceError             raised when the device client cannot do what was asked;
                            ``code`` is stable (``device.token_refused``), ``str()`` one line
    ├── NotEnrolled         no usable state file: missing, unreadable, or readable by others
    ├── AlreadyEnrolled     the state file already holds a device (never overwritten)
    ├── EnrollmentRefused   the server refused the enrollment (``server_code``: its own code,
                            e.g. ``enroll.code_spent``)
    ├── TokenRefused        the server answered 401/403 to the device's token: the device is
                            unknown or revoked (re-enroll with a fresh code)
    ├── ServerUnreachable   no connection to the server (the outbox keeps everything)
    ├── SyncFailed          a replication could not complete for another reason
    ├── InvalidDocument     a document to queue breaks the contract (nothing was queued and
                            the hash chain did not move)
    └── ReceiptMismatch     a receipt does not acknowledge what the device sent (also a
                            ``ValueError``)

Foreign exceptions (the replicator's, httpx's, the contract's) are translated where they are
caught, ``raise DeviceError(...) from exc``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyEnrolled",
    "DeviceError",
    "EnrollmentRefused",
    "InvalidDocument",
    "NotEnrolled",
    "ReceiptMismatch",
    "ServerUnreachable",
    "SyncFailed",
    "TokenRefused",
]


class DeviceError(Exception):
    """Raised when the device client cannot do what was asked."""

    code: ClassVar[str] = "device.error"

    def __init__(self, message: str) -> None:
        self.message = " ".join(message.split())
        super().__init__(self.message)

    def to_json(self) -> dict[str, object]:
        return {"ok": False, "error": self.code, "reason": self.message}


class NotEnrolled(DeviceError):
    """Raised when the state file is missing, unreadable, or readable by other users."""

    code = "device.not_enrolled"


class AlreadyEnrolled(DeviceError):
    """Raised when enrolling into a state file that already holds a device: its key and
    chain head would be lost, and its queued documents orphaned."""

    code = "device.already_enrolled"


class EnrollmentRefused(DeviceError):
    """Raised when the server refuses an enrollment; ``server_code`` is its error code."""

    code = "device.enrollment_refused"

    def __init__(self, message: str, *, server_code: str | None = None) -> None:
        super().__init__(message)
        self.server_code = server_code

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "server_error": self.server_code}


class TokenRefused(DeviceError):
    """Raised when the server refuses the device's bearer token (unknown or revoked)."""

    code = "device.token_refused"


class ServerUnreachable(DeviceError):
    """Raised when the server cannot be connected to."""

    code = "device.server_unreachable"


class SyncFailed(DeviceError):
    """Raised when a replication with the server cannot complete (protocol error, the
    server kept failing)."""

    code = "device.sync_failed"


class InvalidDocument(DeviceError):
    """Raised when a document to queue breaks the contract; ``reason`` is the refusal the
    server would give (``schema_invalid: /form/birth_date: …``)."""

    code = "device.invalid_document"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReceiptMismatch(DeviceError, ValueError):
    """Raised when a receipt is not for what the device sent (other id, bytes, files)."""

    code = "device.receipt_mismatch"
