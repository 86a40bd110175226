"""The composition root: ``create_app()`` for the hall server, ``create_couch_app()`` for the
sync engine alone (``fieldhall couch serve``)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.openapi import OpenAPIConfig

from fieldhall.field_app_api.http import field_api_router, field_error_handlers
from fieldhall.field_app_api.uploads import UploadsController, upload_janitor
from fieldhall.sync.http import AdminAuthenticator, CouchApp, ServerSettings, couch_router
from fieldhall.sync.http.context import DEFAULT_MAX_BODY
from fieldhall.sync.store import Store

from .composition import assemble
from .hall.http import hall_api_router, hall_error_handlers
from .hall.metrics import HallMetrics
from .hall.notifications import undelivered_notifications
from .hall.projector import unpublished_events
from .hall.stations import unpublished_station_events
from .hall.visits.figures import visit_operations
from .receipt_pages import ReceiptPagesController
from .settings import Settings
from .stores import open_store
from .web import hall_web_router, web_parts

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
    store = open_store(settings, migrate=False)
    return _couch(store, admin, "", max_body)


def create_app(
    settings: Settings, public_url: str | None = None, *, projector: bool = True
) -> Litestar:
    """The hall server: ``/api/v1`` (OpenAPI at ``/schema``), ``/sync/field``,
    ``/sync/catalog``, ``/health``, ``/metrics``, and the staff's web UI at ``/hall/``.

    The projector, the photo worker, the visit requests' escalation sweep and the
    notification dispatcher (which also publishes station events and sweeps the clocks'
    warnings) run in the background from startup to shutdown; ``projector=False`` leaves them
    to the caller (``app.state.hall.projector.project_pending()``, then
    ``app.state.hall.photos.run_pending()``, ``app.state.hall.visits.sweep(now)``,
    ``app.state.hall.notifications.deliver_pending()``).
    """
    parts = assemble(settings)
    hall_metrics = HallMetrics(parts.projector, parts.visit_sweeper)
    parts.field.store.commit_listeners.append(hall_metrics.on_commit)

    @get("/health", sync_to_thread=True)
    def health() -> dict[str, Any]:
        at = parts.visits.clock()
        with parts.field.read_session() as session:
            visits = visit_operations(session, at).to_json()
        visits["sweeper"] = parts.visit_sweeper.health()
        return {
            "status": "ok",
            "projector": parts.projector.lag().to_json(),
            "unpublished_events": unpublished_events(parts.field),
            "photos": parts.photos.backlog().to_json(),
            "unpublished_station_events": unpublished_station_events(parts.field),
            "notifications": undelivered_notifications(parts.field),
            "visits": visits,
            "door_workers": parts.door_workers.health(),
        }

    @get("/metrics", sync_to_thread=True)
    def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        body, content_type = hall_metrics.render(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    def start_projector() -> None:
        if projector:
            parts.projector.start()
            parts.visit_sweeper.start()
            parts.photos.start()
            parts.notifications.start()

    def stop_projector() -> None:
        parts.door_workers.close()
        parts.notifications.stop()
        parts.photos.stop()
        parts.visit_sweeper.stop()
        parts.projector.stop()

    app = Litestar(
        route_handlers=[
            health,
            metrics,
            field_api_router(),
            UploadsController,
            ReceiptPagesController,
            hall_api_router(),
            hall_web_router(),
            couch_router("/sync", parts.sync),
        ],
        exception_handlers={**field_error_handlers, **hall_error_handlers},
        openapi_config=OpenAPIConfig(title="fieldhall", version="0.1.0", path="/schema"),
        lifespan=[upload_janitor(parts.uploads)],
        on_startup=[start_projector],
        on_shutdown=[stop_projector],
        middleware=[hall_metrics.middleware],
        debug=False,
    )
    app.state.field = parts.field
    app.state.uploads = parts.uploads
    app.state.hall = parts
    app.state.metrics = hall_metrics
    app.state.hall_web = web_parts(settings, public_url)
    app.state.public_url = public_url
    return app
