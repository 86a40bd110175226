"""``/api/v1/admin``: agents, grids, stations, devices and enrollment codes (staff admin,
HTTP Basic)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel import select

from ..clock import rfc3339
from ..devices import list_devices, revoke_device
from ..directory import add_agent, ensure_grid, ensure_station, list_agents
from ..enrollment import enrollment_uri, issue_code
from ..errors import FieldError
from ..tables import Grid, Station
from .auth import require_admin, service_of
from .devices_api import sync_url

__all__ = ["AdminController"]


class NewAgent(msgspec.Struct):
    name: str
    grid_id: str | None = None
    station_id: str | None = None


class NewPlace(msgspec.Struct):
    id: str
    name: str = ""


def _convert(data: Any, kind: type[msgspec.Struct]) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise FieldError("admin.bad_request", str(exc)) from None


def _iso(value: Any) -> str | None:
    return rfc3339(value)


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]

    @get("/agents", sync_to_thread=True)
    def agents(self, request: Request) -> list[dict[str, Any]]:  # type: ignore[type-arg]
        require_admin(request)
        with service_of(request).session() as session:
            return [
                {"agent_id": a.id, "name": a.name, "grid_id": a.grid_id, "station_id": a.station_id}
                for a in list_agents(session)
            ]

    @post("/agents", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def add_agent(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[type-arg]
        require_admin(request)
        body: NewAgent = _convert(data, NewAgent)
        with service_of(request).session() as session:
            agent = add_agent(session, body.name, grid_id=body.grid_id, station_id=body.station_id)
            session.commit()
            issued = issue_code(session, agent.id)
        return {
            "agent_id": agent.id,
            "grid_id": agent.grid_id,
            "station_id": agent.station_id,
            "enrollment_code": issued.code,
            "expires_at": _iso(issued.expires_at),
            "enrollment_uri": enrollment_uri(
                sync_url(request).removesuffix("/sync/field"), issued.code
            ),
        }

    @post("/agents/{agent_id:str}/codes", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def new_code(self, request: Request, agent_id: str) -> dict[str, Any]:  # type: ignore[type-arg]
        require_admin(request)
        with service_of(request).session() as session:
            issued = issue_code(session, agent_id)
        return {
            "agent_id": issued.agent_id,
            "enrollment_code": issued.code,
            "expires_at": _iso(issued.expires_at),
        }

    @get("/grids", sync_to_thread=True)
    def grids(self, request: Request) -> list[dict[str, Any]]:  # type: ignore[type-arg]
        require_admin(request)
        with service_of(request).session() as session:
            return [{"id": g.id, "name": g.name} for g in session.exec(select(Grid))]

    @post("/grids", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def add_grid(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[type-arg]
        require_admin(request)
        body: NewPlace = _convert(data, NewPlace)
        with service_of(request).session() as session:
            grid = ensure_grid(session, body.id, body.name)
            session.commit()
            return {"id": grid.id, "name": grid.name}

    @get("/stations", sync_to_thread=True)
    def stations(self, request: Request) -> list[dict[str, Any]]:  # type: ignore[type-arg]
        require_admin(request)
        with service_of(request).session() as session:
            return [{"id": s.id, "name": s.name} for s in session.exec(select(Station))]

    @post("/stations", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def add_station(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[type-arg]
        require_admin(request)
        body: NewPlace = _convert(data, NewPlace)
        with service_of(request).session() as session:
            station = ensure_station(session, body.id, body.name)
            session.commit()
            return {"id": station.id, "name": station.name}

    @get("/devices", sync_to_thread=True)
    def devices(self, request: Request) -> list[dict[str, Any]]:  # type: ignore[type-arg]
        require_admin(request)
        with service_of(request).session() as session:
            return [
                {
                    "device_id": d.id,
                    "agent_id": d.agent_id,
                    "name": d.name,
                    "enrolled_at": _iso(d.enrolled_at),
                    "revoked_at": _iso(d.revoked_at),
                }
                for d in list_devices(session)
            ]

    @post("/devices/{device_id:str}/revoke", status_code=HTTP_200_OK, sync_to_thread=True)
    def revoke(self, request: Request, device_id: str) -> dict[str, Any]:  # type: ignore[type-arg]
        require_admin(request)
        with service_of(request).session() as session:
            device = revoke_device(session, device_id)
        return {"device_id": device.id, "revoked_at": _iso(device.revoked_at)}
