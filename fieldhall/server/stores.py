"""Opening the sync store on the configured database and blob directory, the database first
brought to the current schema by its migrations."""

from __future__ import annotations

from fieldhall.field_app_api.service import FieldService
from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.changes import ChangeNotifier, PostgresListener
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.store import Store

from .migrations import upgrade_database
from .settings import Settings

__all__ = ["open_field", "open_store"]


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    """The store on the configured database. ``migrate=False`` is for the sync engine alone
    (``fieldhall couch serve``): it creates only its own tables and leaves the hall's
    schema, and its migrations, to the hall server."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    if migrate:
        upgrade_database(engine)
    notifier = ChangeNotifier()
    if engine.dialect.name == "postgresql":
        # Several app workers share the database: wake every worker's feeds on commit.
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        PostgresListener(conninfo, notifier).start()
    store = Store(
        Database(engine, synchronous=settings.sqlite_synchronous),
        BlobStore(settings.blob_dir),
        notifier=notifier,
    )
    store.blob_grace_seconds = settings.blob_grace_seconds
    return store


def open_field(settings: Settings) -> FieldService:
    """The field side on the configured database, created or migrated on first use."""
    store = open_store(settings)
    service = FieldService(store.db.engine, store)
    service.ensure_databases()
    return service
