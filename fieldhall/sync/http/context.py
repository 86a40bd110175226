"""What every endpoint gets: the store, the caller, the server's settings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread

from ..policy import Principal
from ..store import Store

__all__ = ["INLINE_BATCH", "Context", "ServerSettings"]

T = TypeVar("T")

DEFAULT_MAX_BODY = 512 * 1024 * 1024  # a PouchDB batch of 100 docs with 3 MB photos fits
# The most documents a read on the event loop (Context.read) may load and render: a few ms.
# Replicators ask for 100 at a time (PouchDB's batch_size, CouchDB's worker_batch_size 500).
INLINE_BATCH = 500


@dataclass(frozen=True, slots=True)
class ServerSettings:
    uuid: str
    vendor: str = "fieldhall"
    version: str = "3.3.3"  # the CouchDB API level we follow
    vendor_version: str = "0.1.0"
    max_body: int = DEFAULT_MAX_BODY
    changes_timeout_ms: int = 60_000
    # A stricter JSON parser for request bodies (e.g. I-JSON: no duplicate keys); it raises
    # BadRequest for what it refuses. None: CouchDB's own leniency.
    json_loads: Callable[[bytes], Any] | None = None
    # The databases a non-admin principal may address; the rest answer as missing.
    public_databases: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    principal: Principal
    settings: ServerSettings

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call in a worker thread."""
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store read whose cost the request bounds (a checkpoint, the database's row,
        a page or batch of at most a few hundred documents, no attachment bytes) — on the
        event loop when the store allows it (SQLite, see ``Database.may_read_inline``) and
        the caller sees everything, else in a worker thread. A replication sends hundreds
        of such requests, and each hop to a thread and back cost more CPU than the read.
        A principal restricted to channels stays on threads: its reads walk its channels."""
        if self.principal.channels is None and self.store.db.may_read_inline():
            return fn(*args, **kwargs)
        return await self.run(fn, *args, **kwargs)
