"""The reference device client (``fieldhall device …``): what a field app does.

:class:`DeviceClient` enrolls, keeps its key, token and hash chain in a 0600 state file,
queues sealed, signed cases with their photos in a local outbox (a ``fieldhall.sync`` store
next to the state file, so it works offline), syncs with ``/sync/field`` through fieldhall's
replicator, and verifies what the server signed.
"""

from .device import DeviceClient
from .errors import (
    AlreadyEnrolled,
    DeviceError,
    EnrollmentRefused,
    InvalidDocument,
    NotEnrolled,
    ReceiptMismatch,
    ServerUnreachable,
    SyncFailed,
    TokenRefused,
)
from .local_store import StoredDocument
from .materials import Material
from .report import DocState, DocumentStatus, SyncReport, VerifyReport
from .state import DEFAULT_STATE_FILE, DeviceState

__all__ = [
    "DEFAULT_STATE_FILE",
    "AlreadyEnrolled",
    "DeviceClient",
    "DeviceError",
    "DeviceState",
    "DocState",
    "DocumentStatus",
    "EnrollmentRefused",
    "InvalidDocument",
    "Material",
    "NotEnrolled",
    "ReceiptMismatch",
    "ServerUnreachable",
    "StoredDocument",
    "SyncFailed",
    "SyncReport",
    "TokenRefused",
    "VerifyReport",
]
