"""The composition root: ``create_app()`` for the hall server, ``create_couch_app()`` for the
sync engine alone (``fieldhall couch serve``)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get
from litestar.openapi import OpenAPIConfig

from fieldhall.field_app_api.http import field_api_router, field_error_handlers
from fieldhall.field_app_api.uploads import UploadsController, upload_janitor
from fieldhall.sync.http import AdminAuthenticator, CouchApp, ServerSettings, couch_router
from fieldhall.sync.http.context import DEFAULT_MAX_BODY
from fieldhall.sync.store import Store

from .composition import assemble
from .hall.http import hall_api_router, hall_error_handlers
from .hall.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .hall.metrics import render_metrics
from .hall.projector import unpublished_events
from .receipt_pages import ReceiptPagesController
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
) -> CouchApp:
    """A CouchDB-compatible server at ``/``: admin required for every request.

    The CouchApp is the whole ASGI app, with no framework in front: it answers every path
    (CouchDB's JSON errors included) itself, and a replication's hundreds of small requests
    pay for nothing else. ``max_body`` is the largest request body accepted (413 above it).
    """
    store = open_store(settings)
    return _couch(store, admin, "", max_body)


def create_app(
    settings: Settings, public_url: str | None = None, *, projector: bool = True
) -> Litestar:
    """The hall server: ``/api/v1`` (OpenAPI at ``/schema``), ``/sync/field``,
    ``/sync/catalog``, ``/health``, ``/metrics``.

    The projector runs in the background from startup to shutdown; ``projector=False``
    leaves it to the caller (``app.state.hall.projector.project_pending()``).
    """
    parts = assemble(settings)

    @get("/health", sync_to_thread=True)
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "projector": parts.projector.lag().to_json(),
            "unpublished_events": unpublished_events(parts.field),
        }

    @get("/metrics", sync_to_thread=True, media_type=METRICS_CONTENT_TYPE)
    def metrics() -> str:
        return render_metrics(parts.projector)

    def start_projector() -> None:
        if projector:
            parts.projector.start()

    def stop_projector() -> None:
        parts.projector.stop()

    app = Litestar(
        route_handlers=[
            health,
            metrics,
            field_api_router(),
            UploadsController,
            ReceiptPagesController,
            hall_api_router(),
            couch_router("/sync", parts.sync),
        ],
        exception_handlers={**field_error_handlers, **hall_error_handlers},
        openapi_config=OpenAPIConfig(title="fieldhall", version="0.1.0", path="/schema"),
        lifespan=[upload_janitor(parts.uploads)],
        on_startup=[start_projector],
        on_shutdown=[stop_projector],
        debug=False,
    )
    app.state.field = parts.field
    app.state.uploads = parts.uploads
    app.state.hall = parts
    app.state.public_url = public_url
    return app
