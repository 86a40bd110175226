"""Mobile service station events (流动服务站): created, changed and cancelled by staff, each
version server-signed as a ``station_event`` and published into ``station:<station_id>``.

Every change happens in one transaction that locks the event's row, checks the request against
the catalog and the directory, moves ``revision`` on, signs the new document (the outbox row:
``hall_station_event.document``) and appends the audit entry last. Right after the commit
:func:`~.publishing.publish_station_events` writes it into ``/sync/field``; the background
dispatcher retries what a crash left unpublished.

Rules, each with its stable code:

* ``station.not_found`` (404) — events belong to a station of the directory;
* ``station_event.bad_period`` (422) — ``starts_at`` before ``ends_at``, at most
  :data:`MAX_DURATION` apart;
* ``station_event.overlaps`` (409) — one station (one team, one set of devices) holds one
  scheduled event at a time, so every case it files belongs to exactly one event's summary;
* ``station_event.unknown_catalog_version`` / ``unknown_department`` / ``unknown_matter``
  (422) — departments and matters are ids of the named catalog version;
* ``station_event.matter_not_for_stations`` (422) — the matter may be filed through the
  ``mobile_station`` channel (the door would refuse such cases otherwise);
* ``station_event.no_department_for_matter`` (422) — each matter offered has at least one
  of its departments present, someone competent to take the application;
* ``station_event.unknown_agent`` (422) — staff are active agents;
* ``station_event.device_not_at_station`` (422) — a device assigned is enrolled, not
  revoked, and its agent belongs to the station: otherwise it cannot read the station's
  channel and would never see the event;
* ``station_event.cancelled`` (409) — a cancelled event is not changed or cancelled again;
* ``station_event.ended`` (409) — an event that is over cannot be cancelled;
* ``station_event.stale`` (409) — the change names a revision that is no longer current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson
from sqlmodel import Session, col, select
from ulid import ULID

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.tables import Agent, Device, StaffAccount, Station
from fieldhall.schemas import Catalog, load_catalog
from fieldhall.schemas.errors import UnknownCatalogVersion
from fieldhall.schemas.signatures import rfc3339_utc

from ..audit import Actor, Subject
from ..context import Tx
from ..errors import BadRequest, Conflict, NotFound
from ..events import EventSigner
from ..tables import HallStationEvent, utc
from .publishing import publish_station_events
from .requests import Cancel, EventChange, NewEvent, Place, parse

__all__ = ["MAX_DURATION", "StationEvents"]

Clock = Callable[[], datetime]

MAX_DURATION = timedelta(days=31)
STATION_CHANNEL = "mobile_station"
SCHEDULED, CANCELLED = "scheduled", "cancelled"


def _invalid(code: str, message: str) -> BadRequest:
    return BadRequest(f"station_event.{code}", message, status=422)


class StationEvents:
    def __init__(self, field: FieldService, *, clock: Clock = now) -> None:
        self.field = field
        self.clock = clock

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.field.session() as session:
            tx = Tx(session, self.clock(), EventSigner(session))
            yield tx
            tx.finish()

    def publish(self) -> int:
        return publish_station_events(self.field)

    # ------------------------------------------------------------------ staff actions

    def create(
        self, station_id: str, body: Mapping[str, Any] | None, staff: StaffAccount
    ) -> HallStationEvent:
        request = parse(NewEvent, body)
        with self.transaction() as tx:
            _lock_station(tx.session, station_id)
            event = HallStationEvent(
                id=f"station_event:{ULID()}",
                station_id=station_id,
                revision=1,
                status=SCHEDULED,
                created_by=staff.username,
                created_at=tx.at,
                updated_by=staff.username,
                updated_at=tx.at,
                **self._checked(tx.session, station_id, request, None),
            )
            self._sign(tx, event)
            tx.audit(
                Actor.staff(staff.username),
                "station_event.created",
                Subject("station_event", event.id),
                {"station_id": station_id, "revision": 1, "document": orjson.loads(event.document)},
            )
        return self._published(event)

    def change(
        self, event_id: str, body: Mapping[str, Any] | None, staff: StaffAccount
    ) -> HallStationEvent:
        request = parse(EventChange, body)
        with self.transaction() as tx:
            event = self._locked(tx.session, event_id)
            self._check_current(event, request.revision)
            merged = NewEvent(
                title=_pick(request.title, event.title),
                place=_pick(request.place, _place_of(event)),
                starts_at=_pick(request.starts_at, utc(event.starts_at)),
                ends_at=_pick(request.ends_at, utc(event.ends_at)),
                departments=_pick(request.departments, orjson.loads(event.departments)),
                matters=_pick(request.matters, orjson.loads(event.matters)),
                staff=_pick(request.staff, [s["agent_id"] for s in orjson.loads(event.staff)]),
                devices=_pick(request.devices, orjson.loads(event.devices)),
                catalog_version=_pick(request.catalog_version, event.catalog_version),
                note=_pick(request.note, event.note),
            )
            _lock_station(tx.session, event.station_id)
            values = self._checked(tx.session, event.station_id, merged, event.id)
            if all(_same(getattr(event, name), value) for name, value in values.items()):
                return event  # nothing changes: no new revision, nothing to audit
            before = orjson.loads(event.document)
            for name, value in values.items():
                setattr(event, name, value)
            event.revision += 1
            event.updated_by = staff.username
            event.updated_at = tx.at
            self._sign(tx, event)
            tx.audit(
                Actor.staff(staff.username),
                "station_event.changed",
                Subject("station_event", event.id),
                {
                    "revision": event.revision,
                    "changed": _changed(before, orjson.loads(event.document)),
                },
            )
        return self._published(event)

    def cancel(
        self, event_id: str, body: Mapping[str, Any] | None, staff: StaffAccount
    ) -> HallStationEvent:
        request = parse(Cancel, body)
        with self.transaction() as tx:
            event = self._locked(tx.session, event_id)
            self._check_current(event, request.revision)
            ends = utc(event.ends_at)
            if ends is not None and ends <= tx.at:
                raise Conflict("station_event.ended", "the event is over: it cannot be cancelled")
            event.status = CANCELLED
            event.cancel_reason = request.reason
            event.revision += 1
            event.updated_by = staff.username
            event.updated_at = tx.at
            self._sign(tx, event)
            tx.audit(
                Actor.staff(staff.username),
                "station_event.cancelled",
                Subject("station_event", event.id),
                {"revision": event.revision, "reason": request.reason},
            )
        return self._published(event)

    def _published(self, event: HallStationEvent) -> HallStationEvent:
        """Publish right after the commit; the event as it is now (published or not yet: the
        dispatcher retries)."""
        self.publish()
        with self.field.read_session() as session:
            return self.get(session, event.id)

    # ------------------------------------------------------------------ reads

    def get(self, session: Session, event_id: str) -> HallStationEvent:
        event = session.get(HallStationEvent, event_id)
        if event is None:
            raise NotFound("station_event.not_found", f"no station event {event_id!r}")
        return event

    # ------------------------------------------------------------------ checks

    def _locked(self, session: Session, event_id: str) -> HallStationEvent:
        event = session.exec(
            select(HallStationEvent).where(HallStationEvent.id == event_id).with_for_update()
        ).first()
        if event is None:
            raise NotFound("station_event.not_found", f"no station event {event_id!r}")
        return event

    def _check_current(self, event: HallStationEvent, revision: int | None) -> None:
        if event.status == CANCELLED:
            raise Conflict("station_event.cancelled", "the event is cancelled")
        if revision is not None and revision != event.revision:
            raise Conflict(
                "station_event.stale",
                f"the event is at revision {event.revision}, not {revision}",
            )

    def _checked(
        self, session: Session, station_id: str, request: NewEvent, event_id: str | None
    ) -> dict[str, Any]:
        """The event's columns from a valid request (see the module doc for the rules)."""
        # Stored in UTC (SQLite keeps the wall time and drops the offset), to the second.
        starts = request.starts_at.astimezone(UTC).replace(microsecond=0)
        ends = request.ends_at.astimezone(UTC).replace(microsecond=0)
        if not starts < ends:
            raise _invalid("bad_period", "starts_at must be before ends_at")
        if ends - starts > MAX_DURATION:
            raise _invalid("bad_period", f"an event lasts at most {MAX_DURATION.days} days")
        catalog = _catalog(request.catalog_version)
        _check_offer(catalog, request.departments, request.matters)
        overlapping = session.exec(
            select(HallStationEvent.id).where(
                HallStationEvent.station_id == station_id,
                HallStationEvent.status == SCHEDULED,
                col(HallStationEvent.starts_at) < ends,
                col(HallStationEvent.ends_at) > starts,
                HallStationEvent.id != (event_id or ""),
            )
        ).first()
        if overlapping is not None:
            raise Conflict(
                "station_event.overlaps", f"the station holds {overlapping} at that time"
            )
        location = request.place.location
        return {
            "title": request.title,
            "place_name": request.place.name,
            "place_address": request.place.address,
            "location": orjson.dumps(msgspec.to_builtins(location)).decode() if location else None,
            "starts_at": starts,
            "ends_at": ends,
            "catalog_version": catalog.version,
            "departments": orjson.dumps(list(dict.fromkeys(request.departments))).decode(),
            "matters": orjson.dumps(list(dict.fromkeys(request.matters))).decode(),
            "staff": orjson.dumps(_staff(session, request.staff)).decode(),
            "devices": orjson.dumps(_devices(session, station_id, request.devices)).decode(),
            "note": request.note,
        }

    def _sign(self, tx: Tx, event: HallStationEvent) -> None:
        event.document = orjson.dumps(tx.signer.sign(station_document(event), tx.at)).decode()
        tx.session.add(event)


def station_document(event: HallStationEvent) -> dict[str, Any]:
    """The unsigned ``station_event`` of the event's current revision."""
    place: dict[str, Any] = {"name": event.place_name, "address": event.place_address}
    if event.location:
        place["location"] = {k: v for k, v in orjson.loads(event.location).items() if v is not None}
    doc: dict[str, Any] = {
        "_id": event.id,
        "type": "station_event",
        "contract": 1,
        "station_id": event.station_id,
        "channel": f"station:{event.station_id}",
        "revision": event.revision,
        "status": event.status,
        "title": event.title,
        "place": place,
        "starts_at": rfc3339_utc(utc(event.starts_at) or event.starts_at),
        "ends_at": rfc3339_utc(utc(event.ends_at) or event.ends_at),
        "catalog_version": event.catalog_version,
        "departments": orjson.loads(event.departments),
        "matters": orjson.loads(event.matters),
        "staff": orjson.loads(event.staff),
        "devices": orjson.loads(event.devices),
        "note": event.note,
        "created_at": rfc3339_utc(utc(event.created_at) or event.created_at),
        "updated_at": rfc3339_utc(utc(event.updated_at) or event.updated_at),
    }
    if event.cancel_reason is not None:
        doc["cancel_reason"] = event.cancel_reason
    return doc


def _lock_station(session: Session, station_id: str) -> Station:
    """The station's row, locked: its events' overlap check and write happen one at a time."""
    station = session.exec(
        select(Station).where(Station.id == station_id).with_for_update()
    ).first()
    if station is None:
        raise NotFound("station.not_found", f"no station {station_id!r}")
    return station


def _same(stored: Any, value: Any) -> bool:
    if isinstance(stored, datetime) and isinstance(value, datetime):
        return utc(stored) == utc(value)
    return bool(stored == value)


def _pick(value: Any, current: Any) -> Any:
    return current if value is msgspec.UNSET else value


def _place_of(event: HallStationEvent) -> Place:
    location = orjson.loads(event.location) if event.location else None
    return msgspec.convert(
        {"name": event.place_name, "address": event.place_address, "location": location}, Place
    )


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    ignored = {"revision", "updated_at", "signature"}
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in sorted(set(before) | set(after))
        if name not in ignored and before.get(name) != after.get(name)
    }


def _catalog(version: str | None) -> Catalog:
    try:
        return load_catalog(version)
    except UnknownCatalogVersion:
        raise _invalid("unknown_catalog_version", f"no catalog of version {version!r}") from None


def _check_offer(catalog: Catalog, departments: Sequence[str], matters: Sequence[str]) -> None:
    for department in departments:
        if department not in catalog.departments:
            raise _invalid(
                "unknown_department", f"catalog {catalog.version} has no department {department!r}"
            )
    present = set(departments)
    known = {m.id: m for m in catalog.matters}
    for matter_id in matters:
        matter = known.get(matter_id)
        if matter is None:
            raise _invalid(
                "unknown_matter", f"catalog {catalog.version} has no matter {matter_id!r}"
            )
        if STATION_CHANNEL not in matter.channels:
            raise _invalid(
                "matter_not_for_stations",
                f"{matter_id} cannot be filed at a mobile station (channels: "
                f"{', '.join(matter.channels)})",
            )
        if not present & set(matter.departments):
            raise _invalid(
                "no_department_for_matter",
                f"{matter_id} needs one of {', '.join(matter.departments)} present",
            )


def _staff(session: Session, agent_ids: Sequence[str]) -> list[dict[str, str]]:
    wanted = list(dict.fromkeys(agent_ids))
    agents = {a.id: a for a in session.exec(select(Agent).where(col(Agent.id).in_(wanted or [""])))}
    for agent_id in wanted:
        agent = agents.get(agent_id)
        if agent is None or not agent.active:
            raise _invalid("unknown_agent", f"no active agent {agent_id!r}")
    return [{"agent_id": a, "name": agents[a].name} for a in wanted]


def _devices(session: Session, station_id: str, device_ids: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(device_ids))
    rows = session.exec(
        select(Device, Agent)
        .join(Agent, col(Agent.id) == col(Device.agent_id))
        .where(col(Device.id).in_(wanted or [""]))
    ).all()
    found = {device.id: (device, agent) for device, agent in rows}
    for device_id in wanted:
        pair = found.get(device_id)
        if pair is None or pair[0].revoked_at is not None:
            raise _invalid("device_not_at_station", f"no enrolled device {device_id!r}")
        if pair[1].station_id != station_id:
            raise _invalid(
                "device_not_at_station",
                f"device {device_id} is not enrolled for station {station_id}",
            )
    return wanted
