"""Public endpoints (no auth): the server's keys, the catalog, the published schemas."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from fieldhall.schemas import DOCUMENT_TYPES, document_schema, load_catalog
from fieldhall.schemas.errors import UnknownCatalogVersion

from ..errors import FieldError
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

    @get("/catalog", sync_to_thread=False)
    def catalog(self, version: str | None = None) -> dict[str, Any]:
        """The service catalog: the latest version, or ``?version=V``."""
        try:
            return load_catalog(version).as_json()
        except UnknownCatalogVersion:
            raise FieldError(
                "catalog.not_found", f"no catalog of version {version!r}", status=404
            ) from None

    @get("/schemas/{doc_type:str}", sync_to_thread=False)
    def schema(self, doc_type: str) -> dict[str, Any]:
        """The JSON Schema (2020-12, self-contained) of a document type of the contract."""
        if doc_type not in DOCUMENT_TYPES:
            raise FieldError("schema.not_found", f"no document type {doc_type!r}", status=404)
        return document_schema(doc_type)
