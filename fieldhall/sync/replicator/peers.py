"""Steps 1–2: verify the peers and get their information.

The source database must exist; the target must exist or, with ``create_target``, is created.
A peer's answers decide the one-line error a user sees: no connection (unreachable), 401
(wrong credentials), 403 (no access), 404 (no such database).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .checkpoint import LOWEST_SEQ, Seq
from .client import PeerClient
from .errors import DatabaseNotFound, PeerProtocolError, TransientError

__all__ = ["PeerInfo", "ensure_full_commit", "verify_source", "verify_target"]


@dataclass(frozen=True, slots=True)
class PeerInfo:
    url: str
    update_seq: Seq
    instance_start_time: str
    doc_count: int | None = None
    doc_del_count: int | None = None
    vendor: str | None = None
    uuid: str | None = None


async def _server(client: PeerClient) -> dict[str, Any]:
    """The server's welcome (vendor, uuid), for information only: some servers protect it,
    and the database request that follows tells the user what is wrong."""
    reply = await client.request("GET", root=True, expect=tuple(range(200, 500)))
    data = reply.json() if reply.status == 200 and reply.body.strip() else None
    return data if isinstance(data, dict) else {}


async def _database(client: PeerClient) -> PeerInfo | None:
    reply = await client.request("GET", expect=(200, 404))
    if reply.status == 404:
        return None
    data = reply.json()
    if not isinstance(data, dict) or "update_seq" not in data:
        raise PeerProtocolError(f"{client.url} is not a CouchDB database", url=client.url)
    return PeerInfo(
        url=client.url,
        update_seq=_seq(data.get("update_seq")),
        instance_start_time=str(data.get("instance_start_time", "0")),
        doc_count=_int(data.get("doc_count")),
        doc_del_count=_int(data.get("doc_del_count")),
    )


async def _describe(client: PeerClient, info: PeerInfo) -> PeerInfo:
    server = await _server(client)
    vendor = server.get("vendor")
    name = vendor.get("name") if isinstance(vendor, dict) else None
    uuid = server.get("uuid")
    return PeerInfo(
        info.url,
        info.update_seq,
        info.instance_start_time,
        info.doc_count,
        info.doc_del_count,
        name if isinstance(name, str) else None,
        uuid if isinstance(uuid, str) else None,
    )


async def verify_source(client: PeerClient) -> PeerInfo:
    info = await _database(client)
    if info is None:
        raise DatabaseNotFound(f"source database {client.url} does not exist", url=client.url)
    return await _describe(client, info)


async def verify_target(client: PeerClient, *, create: bool) -> PeerInfo:
    info = await _database(client)
    if info is None and create:
        # 412: created meanwhile by someone else, which is just as good.
        await client.request("PUT", expect=(201, 202, 412))
        info = await _database(client)
    if info is None:
        hint = "" if create else " (use --create-target to create it)"
        raise DatabaseNotFound(f"target database {client.url} does not exist{hint}", url=client.url)
    return await _describe(client, info)


async def ensure_full_commit(client: PeerClient, expected_start_time: str) -> None:
    """Ask the target to make its writes durable before we checkpoint them, and check that
    it has not restarted meanwhile (``instance_start_time`` changed), which could have lost
    writes a checkpoint would otherwise skip. Peers without the endpoint are trusted."""
    reply = await client.request(
        "POST", "_ensure_full_commit", json={}, expect=(200, 201, 400, 404, 405, 415)
    )
    if reply.status not in (200, 201):
        return
    data = reply.json()
    start = str(data.get("instance_start_time", "0")) if isinstance(data, dict) else "0"
    if "0" not in (start, expected_start_time) and start != expected_start_time:
        raise TransientError(
            f"target {client.url} restarted during the replication; resuming from the last"
            " checkpoint",
            url=client.url,
        )


def _seq(value: object) -> Seq:
    if isinstance(value, str | int | list) and not isinstance(value, bool):
        return value
    return LOWEST_SEQ


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
