"""What staff send to create, change or cancel a station event: msgspec Structs parsed from
the request body (``station_event.bad_request`` for anything malformed)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec

from ..errors import BadRequest

__all__ = ["Cancel", "EventChange", "NewEvent", "Place", "parse"]

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Instant = Annotated[datetime, msgspec.Meta(tz=True)]  # an explicit offset, never a naive time
CatalogId = Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_]{0,63}$")]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Departments = Annotated[list[CatalogId], msgspec.Meta(min_length=1, max_length=50)]
Matters = Annotated[list[CatalogId], msgspec.Meta(min_length=1, max_length=200)]
Agents = Annotated[list[Identifier], msgspec.Meta(max_length=100)]
Devices = Annotated[list[Identifier], msgspec.Meta(max_length=100)]
Revision = Annotated[int, msgspec.Meta(ge=1)]


class _Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Location(_Body):
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    accuracy_m: Annotated[float, msgspec.Meta(ge=0)] | None = None


class Place(_Body):
    name: Title
    address: Address
    location: Location | None = None


class NewEvent(_Body):
    """A new event: ``staff`` are agent ids, ``devices`` device ids; ``catalog_version``
    defaults to the latest catalog."""

    title: Title
    place: Place
    starts_at: Instant
    ends_at: Instant
    departments: Departments
    matters: Matters
    staff: Agents = msgspec.field(default_factory=list)
    devices: Devices = msgspec.field(default_factory=list)
    catalog_version: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    note: Text | None = None


class EventChange(_Body):
    """A change: only the members sent change (``note: null`` clears the note).
    ``revision``, when sent, is the revision the change was made against: another change in
    between makes it ``station_event.stale`` (409) instead of silently overwriting it."""

    revision: Revision | None = None
    title: Title | msgspec.UnsetType = msgspec.UNSET
    place: Place | msgspec.UnsetType = msgspec.UNSET
    starts_at: Instant | msgspec.UnsetType = msgspec.UNSET
    ends_at: Instant | msgspec.UnsetType = msgspec.UNSET
    departments: Departments | msgspec.UnsetType = msgspec.UNSET
    matters: Matters | msgspec.UnsetType = msgspec.UNSET
    staff: Agents | msgspec.UnsetType = msgspec.UNSET
    devices: Devices | msgspec.UnsetType = msgspec.UNSET
    catalog_version: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | msgspec.UnsetType
    ) = msgspec.UNSET
    note: Text | msgspec.UnsetType | None = msgspec.UNSET


class Cancel(_Body):
    reason: Text
    revision: Revision | None = None


B = TypeVar("B", bound=_Body)


def parse(kind: type[B], body: Mapping[str, Any] | None) -> B:
    try:
        return msgspec.convert(dict(body or {}), kind)
    except msgspec.ValidationError as exc:
        raise BadRequest("station_event.bad_request", str(exc)) from None
