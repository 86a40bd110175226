"""Grids, stations and agents: the organisation devices are enrolled into."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlmodel import Session, select
from ulid import ULID

from .errors import FieldError
from .tables import Agent, Grid, Station

__all__ = ["add_agent", "ensure_grid", "ensure_station", "get_agent", "list_agents"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _check_id(kind: str, value: str) -> str:
    if not _ID.match(value):
        raise FieldError(
            f"{kind}.bad_id",
            f"{kind} id must be 1-64 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit",
        )
    return value


def ensure_grid(session: Session, grid_id: str, name: str = "") -> Grid:
    grid = session.get(Grid, _check_id("grid", grid_id))
    if grid is None:
        grid = Grid(id=grid_id, name=name or grid_id, created_at=_now())
        session.add(grid)
        session.flush()
    return grid


def ensure_station(session: Session, station_id: str, name: str = "") -> Station:
    station = session.get(Station, _check_id("station", station_id))
    if station is None:
        station = Station(id=station_id, name=name or station_id, created_at=_now())
        session.add(station)
        session.flush()
    return station


def add_agent(
    session: Session,
    name: str,
    *,
    grid_id: str | None = None,
    station_id: str | None = None,
    agent_id: str | None = None,
) -> Agent:
    """A new agent in a grid (grid agent) and/or a station (station staff)."""
    if not name.strip():
        raise FieldError("agent.bad_name", "agent name must not be empty")
    if grid_id is None and station_id is None:
        raise FieldError("agent.no_scope", "an agent belongs to a grid, a station or both")
    if grid_id is not None:
        ensure_grid(session, grid_id)
    if station_id is not None:
        ensure_station(session, station_id)
    new_id = _check_id("agent", agent_id) if agent_id else f"agent-{str(ULID()).lower()}"
    if session.get(Agent, new_id) is not None:
        raise FieldError("agent.exists", f"agent {new_id} already exists", status=409)
    agent = Agent(
        id=new_id, name=name.strip(), grid_id=grid_id, station_id=station_id, created_at=_now()
    )
    session.add(agent)
    session.flush()
    return agent


def get_agent(session: Session, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise FieldError("agent.not_found", f"no agent {agent_id}")
    return agent


def list_agents(session: Session) -> list[Agent]:
    return list(session.exec(select(Agent).order_by(Agent.id)))
