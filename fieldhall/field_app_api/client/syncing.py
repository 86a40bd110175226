"""One device sync: three one-shot replications with fieldhall's replicator.

1. push  ``outbox`` → ``/sync/field`` — the server's policy checks every document at the door
   and writes a signed receipt for each one it accepts;
2. pull  ``/sync/field`` → ``inbox``, filtered by the selector :data:`NOT_MINE` — the device's
   channels minus what it wrote itself (it has those already; pulling them back would move
   every photo twice over a phone's connection), so receipts, case events and visit requests;
3. pull  ``/sync/catalog`` → ``catalog`` — so cases can be checked offline.

Push goes first so that the receipts it causes come back in the same sync. Each replication
resumes from its checkpoints (on both peers; the server keeps the device's in a ``_local``
namespace of its own), so a sync that has nothing to do sends a handful of requests and
writes nothing. The server is reached with ``Authorization: Bearer <token>`` as an endpoint
header; the local store through :class:`~.transport.DeviceTransport`, in process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fieldhall.sync.replicator import (
    Endpoint,
    PeerUnauthorized,
    PeerUnreachable,
    Progress,
    Replication,
    ReplicationError,
    replicate,
)

from .errors import ServerUnreachable, SyncFailed, TokenRefused
from .local_store import CATALOG, INBOX, OUTBOX, LocalStore
from .transport import LOCAL_HOST, DeviceTransport

__all__ = ["SyncCounts", "catalog_url", "not_mine", "run_sync"]


def not_mine(device_id: str) -> dict[str, Any]:
    """The pull selector: every document of the device's channels not signed by itself."""
    return {"signature.kid": {"$ne": device_id}}


def catalog_url(sync_url: str) -> str:
    """``…/sync/field`` → ``…/sync/catalog`` (both databases live under one ``/sync``)."""
    return sync_url.rstrip("/").rsplit("/", 1)[0] + "/catalog"


@dataclass(frozen=True, slots=True)
class SyncCounts:
    """What the three replications did."""

    pushed: int  # outbox revisions the server stored
    refused: dict[str, str]  # doc id -> the server's reason, for documents refused now
    pulled: int  # revisions written to the inbox
    catalog_pulled: int
    inbox_before: int  # the inbox's update_seq before the pull: what came after is new


async def _one(replication: Replication, transport: DeviceTransport) -> Progress:
    # The replicator closes its transport when it is done: one transport per replication.
    return await replicate(replication, transport=transport)


async def _run(
    local: LocalStore, device_id: str, sync_url: str, token: str
) -> tuple[Progress, dict[str, str], Progress, Progress]:
    app, credentials = local.app()

    def mine(name: str) -> Endpoint:
        return Endpoint.parse(f"http://{LOCAL_HOST}/{name}", credentials)

    bearer = {"Authorization": f"Bearer {token}"}
    field = Endpoint.parse(sync_url, headers=bearer)
    catalog = Endpoint.parse(catalog_url(sync_url), headers=bearer)
    push_transport = DeviceTransport(app)
    push = await _one(Replication(mine(OUTBOX), field), push_transport)
    # Kept at once: the server will not be asked again (a refusal is for good), even if
    # the pulls below fail.
    local.record_refusals(push_transport.refusals)
    pull = await _one(
        Replication(field, mine(INBOX), selector=not_mine(device_id)), DeviceTransport(app)
    )
    catalog_pull = await _one(Replication(catalog, mine(CATALOG)), DeviceTransport(app))
    return push, push_transport.refusals, pull, catalog_pull


def run_sync(local: LocalStore, device_id: str, sync_url: str, token: str) -> SyncCounts:
    """Push the outbox, pull the inbox and the catalog; raises a :class:`DeviceError`."""
    inbox_before = local.update_seq(INBOX)
    try:
        push, refusals, pull, catalog = asyncio.run(_run(local, device_id, sync_url, token))
    except PeerUnauthorized as exc:
        raise TokenRefused(
            "the server refused this device's token: the device is unknown or has been "
            f"revoked; nothing more was sent and the outbox is kept ({exc})"
        ) from exc
    except PeerUnreachable as exc:
        raise ServerUnreachable(
            f"cannot reach the server; the outbox is kept for the next sync ({exc})"
        ) from exc
    except ReplicationError as exc:
        raise SyncFailed(f"sync with {sync_url} failed: {exc}") from exc
    return SyncCounts(
        pushed=push.stats.docs_written,
        refused=refusals,
        pulled=pull.stats.docs_written,
        catalog_pulled=catalog.stats.docs_written,
        inbox_before=inbox_before,
    )
