"""The composition root: ``create_app()`` for the hall server, ``create_couch_app()`` for the
sync engine alone (``fieldhall couch serve``)."""

from __future__ import annotations

from litestar import Litestar, get

from fieldhall.sync.http import AdminAuthenticator, CouchApp, ServerSettings, couch_router
from fieldhall.sync.store import Store

from .settings import Settings
from .stores import open_store

__all__ = ["create_app", "create_couch_app"]


def _couch(store: Store, admin: tuple[str, str], prefix: str) -> CouchApp:
    settings = ServerSettings(uuid=store.server_uuid())
    return CouchApp(store, AdminAuthenticator(*admin), settings, prefix=prefix)


def create_couch_app(settings: Settings, admin: tuple[str, str]) -> Litestar:
    """A CouchDB-compatible server at ``/``: admin required for every request."""
    store = open_store(settings)
    return Litestar(route_handlers=[couch_router("/", _couch(store, admin, ""))], debug=False)


def create_app(settings: Settings, admin: tuple[str, str]) -> Litestar:
    store = open_store(settings)

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar(
        route_handlers=[health, couch_router("/sync", _couch(store, admin, "/sync"))],
        debug=False,
    )
