"""The composition root: ``create_app()`` for the hall server, ``create_couch_app()`` for the
sync engine alone (``fieldhall couch serve``)."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig

from fieldhall.field_app_api.http import field_api_router, field_error_handlers
from fieldhall.sync.http import AdminAuthenticator, CouchApp, ServerSettings, couch_router
from fieldhall.sync.http.context import DEFAULT_MAX_BODY
from fieldhall.sync.store import Store

from .composition import assemble
from .settings import Settings
from .stores import open_store

__all__ = ["create_app", "create_couch_app"]


def _couch(
    store: Store, admin: tuple[str, str], prefix: str, max_body: int = DEFAULT_MAX_BODY
) -> CouchApp:
    settings = ServerSettings(uuid=store.server_uuid(), max_body=max_body)
    return CouchApp(store, AdminAuthenticator(*admin), settings, prefix=prefix)


def create_couch_app(
    settings: Settings, admin: tuple[str, str], *, max_body: int = DEFAULT_MAX_BODY
) -> Litestar:
    """A CouchDB-compatible server at ``/``: admin required for every request.

    ``max_body`` is the largest request body accepted (413 above it).
    """
    store = open_store(settings)
    couch = _couch(store, admin, "", max_body)
    return Litestar(route_handlers=[couch_router("/", couch)], debug=False)


def create_app(settings: Settings, public_url: str | None = None) -> Litestar:
    """The hall server: ``/api/v1`` (OpenAPI at ``/schema``), ``/sync/field``,
    ``/sync/catalog``, ``/health``."""
    parts = assemble(settings)

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar(
        route_handlers=[health, field_api_router(), couch_router("/sync", parts.sync)],
        exception_handlers=field_error_handlers,
        openapi_config=OpenAPIConfig(title="fieldhall", version="0.1.0", path="/schema"),
        debug=False,
    )
    app.state.field = parts.field
    app.state.public_url = public_url
    return app
