"""``/sync/catalog``: every catalog version as a document ``catalog:<version>`` (the same JSON
as ``GET /api/v1/catalog?version=<version>``), so devices replicate the catalog with the rest
of their data and can file cases offline. Versions are immutable: a published one is never
rewritten."""

from __future__ import annotations

from fieldhall.schemas import catalog_versions, load_catalog
from fieldhall.sync.documents import parse_incoming
from fieldhall.sync.policy import ADMIN
from fieldhall.sync.store import Store

from .service import CATALOG_DB

__all__ = ["publish_catalog"]


def publish_catalog(store: Store) -> list[str]:
    """Write the catalog versions not yet published; returns their document ids."""
    wanted = {f"catalog:{version}": version for version in catalog_versions()}
    present = store.documents(CATALOG_DB, wanted)
    missing = [doc_id for doc_id in wanted if doc_id not in present]
    docs = [
        parse_incoming({"_id": doc_id, **load_catalog(wanted[doc_id]).as_json()}, new_edits=True)
        for doc_id in missing
    ]
    if docs:
        results = store.bulk_docs(CATALOG_DB, docs, principal=ADMIN)
        errors = [r.to_json() for r in results if r.error is not None]
        if errors:
            raise RuntimeError(f"publishing the catalog failed: {errors}")
    return missing
