"""Assembling the hall server's parts on one database: the sync store with the field
channels, policy and receipts, the field service, the ``/sync`` CouchDB surface, and the
hall: the case workflow, the projector, the photo worker that follows it, the home-visit
requests with their escalation sweep, the station events and the notification dispatcher
(the workers are started by ``create_app``). The tables of every layer come from the
migrations ``open_store`` runs."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from fieldhall.field_app_api.catalog_sync import publish_catalog
from fieldhall.field_app_api.channels import channels_of
from fieldhall.field_app_api.door_workers import DoorWorkers
from fieldhall.field_app_api.file_check import DoorFileCheck
from fieldhall.field_app_api.policy import FieldPolicy
from fieldhall.field_app_api.receipts import ReceiptWriter
from fieldhall.field_app_api.service import CATALOG_DB, FIELD_DB, FieldService
from fieldhall.field_app_api.sync_auth import FieldSyncAuthenticator
from fieldhall.field_app_api.uploads import UploadedStubResolver, Uploads
from fieldhall.schemas import parse_ijson, validate_document
from fieldhall.schemas.errors import IJsonError
from fieldhall.sync.errors import BadRequest
from fieldhall.sync.http import CouchApp, ServerSettings

from .hall.audit import ensure_audit_tables
from .hall.notifications import (
    Backoff,
    Chore,
    NotificationDispatcher,
    build_notifier,
    notify_visit_escalation,
    sweep_clock_warnings,
)
from .hall.projector import Projector
from .hall.search import ensure_search_index
from .hall.stations import StationEvents
from .hall.visits import VisitService, VisitSweeper
from .hall.workflow import Workflow
from .pacing import (
    PROJECTOR_MAX_DEFER_SECONDS,
    PROJECTOR_QUIET_SECONDS,
    PROJECTOR_SHARE,
    IngestPacer,
)
from .photos.material_photos import MaterialPhotos
from .photos.store import DerivativeStore
from .settings import Settings
from .stores import open_store

__all__ = ["HallParts", "assemble"]

# Warnings are about working days; a minute late is on time, and the sweep reads only the
# cases near a deadline.
WARNING_SWEEP_SECONDS = 60.0


@dataclass
class HallParts:
    field: FieldService
    sync: CouchApp
    receipts: ReceiptWriter
    uploads: Uploads
    workflow: Workflow
    projector: Projector
    visits: VisitService
    visit_sweeper: VisitSweeper
    photos: MaterialPhotos
    stations: StationEvents
    notifications: NotificationDispatcher
    door_workers: DoorWorkers


def ijson_loads(data: bytes) -> Any:
    """Request bodies on ``/sync`` must be I-JSON (RFC 7493): signatures are over exact
    values, so duplicate keys, lone surrogates and unsafe integers are refused with a 400."""
    try:
        return parse_ijson(data)
    except IJsonError as exc:
        raise BadRequest(f"not I-JSON: {exc.detail}") from exc


def assemble(settings: Settings) -> HallParts:
    store = open_store(settings)  # migrated to head: every layer's tables are there
    store.channel_function = channels_of
    # The door's workers build their own policy from the same parts (door_workers).
    check_files = DoorFileCheck(store.blobs)
    workers = DoorWorkers(
        functools.partial(FieldPolicy, validate_document, check_files), settings.door_processes
    )
    policy = FieldPolicy(validate_document, check_files, workers)
    store.write_policy = policy
    field = FieldService(store.db.engine, store)
    field.ensure_databases()
    publish_catalog(store)
    uploads = Uploads(field)
    store.stub_resolver = UploadedStubResolver(uploads)
    receipts = ReceiptWriter(field)
    receipts.ensure_signing_key()
    policy.presigner = receipts  # the receipts of a replicated batch, signed ahead
    store.companion_writers.append(receipts)
    receipts.catch_up()
    sync = CouchApp(
        store,
        FieldSyncAuthenticator(field),
        ServerSettings(
            uuid=store.server_uuid(),
            json_loads=ijson_loads,
            public_databases=frozenset({FIELD_DB, CATALOG_DB}),
        ),
        prefix="/sync",
    )
    # The tables come from the migrations; these fill in the rows a new or adopted database
    # lacks: the audit log's head, the search index of cases made before it existed.
    ensure_audit_tables(store.db.engine)
    ensure_search_index(store.db.engine)
    workflow = Workflow(field)
    projector = Projector(
        field,
        workflow,
        pacer=IngestPacer(
            quiet=PROJECTOR_QUIET_SECONDS,
            max_defer=PROJECTOR_MAX_DEFER_SECONDS,
            share=PROJECTOR_SHARE,
        ),
    )
    visits = VisitService(field, calendar=workflow.calendar)
    photos = MaterialPhotos(field, DerivativeStore(settings.data_dir / "derivatives"))
    visits.escalation_listeners.append(notify_visit_escalation)
    stations = StationEvents(field)
    notifications = NotificationDispatcher(
        field,
        build_notifier(settings),
        backoff=Backoff(max_attempts=settings.webhook_max_attempts),
        chores=[
            Chore("station events", 5.0, stations.publish),
            Chore(
                "clock warnings",
                WARNING_SWEEP_SECONDS,
                lambda: sweep_clock_warnings(field, workflow.calendar, workflow.clock()),
            ),
        ],
    )
    return HallParts(
        field,
        sync,
        receipts,
        uploads,
        workflow,
        projector,
        visits,
        VisitSweeper(visits),
        photos,
        stations,
        notifications,
        workers,
    )
