"""What to replicate and how: one frozen value, checked when it is made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backoff import RetryPolicy
from .endpoint import Endpoint

__all__ = ["DEFAULT_BATCH_SIZE", "Replication"]

DEFAULT_BATCH_SIZE = 500
"""Changes per batch (CouchDB's ``worker_batch_size``): each batch costs a fixed number of
requests (changes, ``_revs_diff``, ``_bulk_get``, ``_bulk_docs``, two checkpoint writes), so
larger batches mean fewer round trips; a checkpoint follows every batch, so smaller ones mean
less to redo after an interruption."""


@dataclass(frozen=True, slots=True)
class Replication:
    source: Endpoint
    target: Endpoint
    continuous: bool = False
    create_target: bool = False
    doc_ids: tuple[str, ...] | None = None
    selector: Mapping[str, Any] | None = field(default=None, hash=False)
    batch_size: int = DEFAULT_BATCH_SIZE
    retry: RetryPolicy | None = None
    """``None``: 10 consecutive failures for a one-shot replication, forever when continuous."""
    request_timeout: float = 60.0
    """Seconds without a byte from a peer before a request counts as failed."""
    heartbeat_ms: int = 10_000
    """How often a waiting (continuous) changes feed must send a keep-alive newline."""
    concurrency: int = 4
    """Requests in flight per batch for per-document work (attachments, large documents)."""
    replicator: str = "fieldhall"
    """Who replicates, for the replication id: a server passes its uuid."""

    def __post_init__(self) -> None:
        if self.doc_ids is not None and self.selector is not None:
            raise ValueError("give doc_ids or a selector, not both")
        if self.doc_ids is not None:
            if isinstance(self.doc_ids, str) or not all(
                isinstance(i, str) and i for i in self.doc_ids
            ):
                raise ValueError("doc_ids must be non-empty strings")
            object.__setattr__(self, "doc_ids", tuple(self.doc_ids))
        if self.selector is not None and not isinstance(self.selector, Mapping):
            raise ValueError("a selector must be a JSON object")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.request_timeout <= 0 or self.heartbeat_ms < 1 or self.concurrency < 1:
            raise ValueError("timeouts, heartbeat and concurrency must be positive")

    @classmethod
    def between(
        cls,
        source: str | Endpoint,
        target: str | Endpoint,
        *,
        doc_ids: Sequence[str] | None = None,
        **options: Any,
    ) -> Replication:
        """A replication from URLs (credentials may be in them) or endpoints."""
        src = source if isinstance(source, Endpoint) else Endpoint.parse(source)
        tgt = target if isinstance(target, Endpoint) else Endpoint.parse(target)
        ids = tuple(doc_ids) if doc_ids is not None else None
        return cls(src, tgt, doc_ids=ids, **options)

    @property
    def retry_policy(self) -> RetryPolicy:
        if self.retry is not None:
            return self.retry
        return RetryPolicy(max_attempts=None) if self.continuous else RetryPolicy()
