"""Public endpoints (no auth): the server's keys, the catalog, the published schemas."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from ..keys import list_signing_keys
from .auth import service_of

__all__ = ["PublicController"]


class PublicController(Controller):
    path = "/api/v1"
    tags = ["public"]

    @get("/keys", sync_to_thread=True)
    def keys(self, request: Request) -> dict[str, Any]:  # type: ignore[type-arg]
        """Server signing keys, current and retired, to verify server-signed documents."""
        with service_of(request).session() as session:
            return {"keys": [k.to_json() for k in list_signing_keys(session)]}
