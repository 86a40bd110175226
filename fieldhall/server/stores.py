"""Opening the sync store on the configured database and blob directory."""

from __future__ import annotations

from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.store import Store

from .settings import Settings

__all__ = ["open_store"]


def open_store(settings: Settings) -> Store:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    return Store(Database(engine), BlobStore(settings.blob_dir))
