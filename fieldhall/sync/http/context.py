"""What every endpoint gets: the store, the caller, the server's settings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread

from ..policy import Principal
from ..store import Store

__all__ = ["Context", "ServerSettings"]

T = TypeVar("T")

DEFAULT_MAX_BODY = 512 * 1024 * 1024  # a PouchDB batch of 100 docs with 3 MB photos fits


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
