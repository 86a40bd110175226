"""What can stop a replication, as one hierarchy.

Hierarchy::

    ReplicationError            raised when a replication cannot go on
    ├── PeerUnreachable         a peer cannot be connected to when the replication starts
    ├── PeerUnauthorized        a peer refuses our credentials (401) or access to the database (403)
    ├── DatabaseNotFound        the source, or a target without ``create_target``, does not exist
    ├── PeerProtocolError       a peer answered something the protocol does not allow
    └── TransientError          a network error, timeout, 5xx or 429: retried with backoff, and
                                raised only once the retry policy gives up

Every message is one line and names the database by its URL without credentials. httpx
exceptions are translated where they are caught (:mod:`.client`); nothing above sees them.
"""

from __future__ import annotations

__all__ = [
    "DatabaseNotFound",
    "PeerProtocolError",
    "PeerUnauthorized",
    "PeerUnreachable",
    "ReplicationError",
    "TransientError",
]


class ReplicationError(Exception):
    """Raised when a replication cannot go on; ``str()`` is a one-line message."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever a peer sent
        self.url = url


class PeerUnreachable(ReplicationError):
    """Raised when a peer refuses the connection, its host is unknown or it does not answer
    while the replication starts (later, the same failures are transient and retried)."""


class PeerUnauthorized(ReplicationError):
    """Raised when a peer answers 401 (wrong or missing credentials) or 403 to a database
    request; per-document refusals are counted in ``doc_write_failures`` instead."""


class DatabaseNotFound(ReplicationError):
    """Raised when the source database, or the target without ``create_target``, is missing."""


class PeerProtocolError(ReplicationError):
    """Raised when a peer answers with a status or a body the replication protocol does not
    allow (an unexpected 4xx, malformed JSON, a filter it does not support)."""


class TransientError(ReplicationError):
    """Raised when a request fails in a way worth retrying: a network error, a timeout, a 5xx
    or a 429. ``retry_after`` is the peer's ``Retry-After`` in seconds, when it sent one;
    ``connect`` tells that the connection itself could not be made."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        retry_after: float | None = None,
        connect: bool = False,
    ) -> None:
        super().__init__(message, url=url)
        self.retry_after = retry_after
        self.connect = connect
