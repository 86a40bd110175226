"""Assembling the hall server's parts on one database: the sync store with the field
channels, policy and receipts, the field service, and the ``/sync`` CouchDB surface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldhall.field_app_api.catalog_sync import publish_catalog
from fieldhall.field_app_api.channels import channels_of
from fieldhall.field_app_api.policy import FieldPolicy
from fieldhall.field_app_api.receipts import ReceiptWriter
from fieldhall.field_app_api.service import CATALOG_DB, FIELD_DB, FieldService
from fieldhall.field_app_api.sync_auth import FieldSyncAuthenticator
from fieldhall.schemas import parse_ijson, validate_document
from fieldhall.schemas.errors import IJsonError
from fieldhall.sync.errors import BadRequest
from fieldhall.sync.http import CouchApp, ServerSettings

from .settings import Settings
from .stores import open_store

__all__ = ["HallParts", "assemble"]


@dataclass
class HallParts:
    field: FieldService
    sync: CouchApp
    receipts: ReceiptWriter


def ijson_loads(data: bytes) -> Any:
    """Request bodies on ``/sync`` must be I-JSON (RFC 7493): signatures are over exact
    values, so duplicate keys, lone surrogates and unsafe integers are refused with a 400."""
    try:
        return parse_ijson(data)
    except IJsonError as exc:
        raise BadRequest(f"not I-JSON: {exc.detail}") from exc


def assemble(settings: Settings) -> HallParts:
    store = open_store(settings)
    store.channel_function = channels_of
    store.write_policy = FieldPolicy(validate_document)
    field = FieldService(store.db.engine, store)
    field.ensure_databases()
    publish_catalog(store)
    receipts = ReceiptWriter(field)
    store.commit_listeners.append(receipts)
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
    return HallParts(field, sync, receipts)
