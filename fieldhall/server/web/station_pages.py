"""``/hall/stations`` and ``/hall/station-events``: the mobile service stations (流动服务站)
and their events — upcoming, running, past and cancelled — one event with its place, time,
departments, matters, staff and devices, its published revision and (for supervisors and
admins) its summary of cases by matter and by department.

Every staff role reads; supervisors and admins create, change and cancel events through
:class:`StationEvents` with the body the REST API takes (``hall.http.stations_api``). The
service takes no idempotency key: a change or a cancellation names the revision its form was
shown at (``station_event.stale`` when another came in between, so a resent form does not act
twice), and a resent creation meets the first event's ``station_event.overlaps``.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect
from sqlmodel import col, select

from fieldhall.field_app_api.clock import now
from fieldhall.field_app_api.tables import Agent, Device
from fieldhall.schemas import Catalog, load_catalog
from fieldhall.schemas.errors import ContractError

from ..hall.errors import HallError
from ..hall.stations import event_json, event_summary, event_summary_csv, list_events
from ..hall.stations import list_stations as station_rows
from ..hall.tables import HallStationEvent
from .access import (
    CASE_READERS,
    STATION_MANAGERS,
    STATION_READERS,
    Visitor,
    check_form,
    hall_of,
    visitor,
)
from .forms import station_cancel_body, station_event_body
from .labels import STATES, STATION_ACTIONS, STATION_PHASES
from .rendering import SECURITY_HEADERS, local_time, page

__all__ = ["StationEventPages", "StationPages"]

STATION_CHANNEL = "mobile_station"


def _catalog(version: str | None = None) -> Catalog:
    try:
        return load_catalog(version) if version else load_catalog()
    except ContractError:  # an event of a catalog this server no longer has
        return load_catalog()


def _choices(session: Any, catalog: Catalog) -> dict[str, Any]:
    """What the forms offer: the matters a station may file with their departments, every
    department, the active agents, the enrolled devices with their agent's station."""
    agents = session.exec(
        select(Agent).where(col(Agent.active).is_(True)).order_by(col(Agent.name))
    ).all()
    devices = session.exec(
        select(Device, Agent)
        .join(Agent, col(Agent.id) == col(Device.agent_id))
        .where(col(Device.revoked_at).is_(None), col(Agent.station_id).is_not(None))
        .order_by(col(Device.id))
    ).all()
    return {
        "matters": [m for m in catalog.matters if STATION_CHANNEL in m.channels],
        "departments": catalog.departments,
        "agents": agents,
        "devices": [{"device": d, "agent": a} for d, a in devices],
    }


def _labels() -> dict[str, Any]:
    return {"phases": STATION_PHASES, "actions": STATION_ACTIONS, "states": STATES}


def _common(me: Visitor) -> dict[str, Any]:
    return {
        "staff": me.account,
        "nav": me.nav,
        "csrf": me.session.csrf,
        "here": "/hall/stations",
        "L": _labels(),
        "manager": me.may(STATION_MANAGERS),
        "case_reader": me.may(CASE_READERS),
    }


def _local_input(value: str | None) -> str:
    """An instant as a ``datetime-local`` input's value, in the hall's zone."""
    return local_time(value).replace(" ", "T") if value else ""


def _stations(request: Request[Any, Any, Any], me: Visitor) -> dict[str, Any]:
    hall = hall_of(request)
    at = now()
    catalog = _catalog()
    with hall.field.read_session() as session:
        stations = []
        for station in station_rows(session, at):
            events = [event_json(e, at) for e in list_events(session, station["id"])]
            groups = {phase: [e for e in events if e["phase"] == phase] for phase in STATION_PHASES}
            # Past and cancelled: the latest first; upcoming and running: the soonest first.
            for phase in ("ended", "cancelled"):
                groups[phase].reverse()
            stations.append({**station, "groups": groups})
        choices = _choices(session, catalog) if me.may(STATION_MANAGERS) else None
    return {
        **_common(me),
        "stations": stations,
        "choices": choices,
        "catalog": catalog,
        "error": None,
        "form": {},
        "done": None,
    }


def _detail(request: Request[Any, Any, Any], me: Visitor, event_id: str) -> dict[str, Any]:
    hall = hall_of(request)
    at = now()
    with hall.field.read_session() as session:
        event = hall.stations.get(session, event_id)
        shown = event_json(event, at)
        published = event.published_revision
        summary = event_summary(session, event) if me.may(STATION_MANAGERS) else None
        catalog = _catalog(event.catalog_version)
        choices = _choices(session, _catalog()) if me.may(STATION_MANAGERS) else None
        devices = {
            d.id: d
            for d in session.exec(
                select(Device).where(col(Device.id).in_(shown["devices"] or [""]))
            )
        }
    matters = {m.id: m for m in catalog.matters}
    return {
        **_common(me),
        "event": shown,
        "published_revision": published,
        "summary": summary,
        "catalog": catalog,
        "matter_names": {m: matters[m].name for m in matters},
        "device_rows": devices,
        "choices": choices,
        "actions": [] if shown["phase"] == "cancelled" else _actions(shown),
        "form": _form_of(shown),
        "error": None,
        "failed_action": None,
        "done": None,
    }


def _actions(event: dict[str, Any]) -> list[str]:
    """``change`` while not cancelled; ``cancel`` until it is over (the service's rules)."""
    return ["change"] if event["phase"] == "ended" else ["change", "cancel"]


def _form_of(event: dict[str, Any]) -> dict[str, Any]:
    """The change form's values: the event as it is."""
    return {
        "title": event["title"],
        "place_name": event["place"]["name"],
        "place_address": event["place"]["address"],
        "starts_at": _local_input(event["starts_at"]),
        "ends_at": _local_input(event["ends_at"]),
        "department": event["departments"],
        "matter": event["matters"],
        "agent": [s["agent_id"] for s in event["staff"]],
        "device": event["devices"],
        "note": event["note"] or "",
    }


def _posted(form: Any) -> dict[str, Any]:
    """The posted form as the page shows it again after a refusal."""
    shown: dict[str, Any] = {k: form.get(k) for k in form}
    for name in ("department", "matter", "agent", "device"):
        shown[name] = form.getall(name, [])
    return shown


def _redirect(path: str) -> Redirect:
    return Redirect(path, status_code=303, headers=dict(SECURITY_HEADERS))


class StationPages(Controller):
    path = "/hall/stations"
    dependencies = {"me": Provide(visitor)}  # noqa: RUF012 - Litestar's class-level wiring

    @get("/", sync_to_thread=True)
    def stations(
        self, request: Request[Any, Any, Any], me: Visitor, done: str | None = None
    ) -> Response[str]:
        me.require(STATION_READERS)
        context = _stations(request, me)
        context["done"] = done if done in STATION_ACTIONS else None
        return page("stations.html", me.locale, **context)

    @post("/events")
    async def create(self, request: Request[Any, Any, Any], me: Visitor) -> Response[Any]:
        """A new event for the form's ``station``; back to the list on a refusal."""
        me.require(STATION_MANAGERS)
        form = await request.form()
        check_form(me.session.csrf, form)
        station_id = str(form.get("station") or "")
        stations = hall_of(request).stations
        try:
            event = await to_thread.run_sync(
                lambda: stations.create(station_id, station_event_body(form), me.account)
            )
        except HallError as exc:
            context = await to_thread.run_sync(_stations, request, me)
            context.update(error=exc, form=_posted(form))
            return page("stations.html", me.locale, status=exc.status, **context)
        return _redirect(f"/hall/station-events/{event.id}?done=create")


class StationEventPages(Controller):
    path = "/hall/station-events"
    dependencies = {"me": Provide(visitor)}  # noqa: RUF012 - Litestar's class-level wiring

    @get("/{event_id:str}", sync_to_thread=True)
    def event(
        self,
        request: Request[Any, Any, Any],
        me: Visitor,
        event_id: str,
        done: str | None = None,
    ) -> Response[str]:
        me.require(STATION_READERS)
        context = _detail(request, me, event_id)
        context["done"] = done if done in STATION_ACTIONS else None
        return page("station_event.html", me.locale, **context)

    @get("/{event_id:str}/summary.csv", sync_to_thread=True)
    def summary_csv(
        self, request: Request[Any, Any, Any], me: Visitor, event_id: str
    ) -> Response[str]:
        """The summary as CSV (the REST export's function)."""
        me.require(STATION_MANAGERS)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            body = event_summary_csv(event_summary(session, hall.stations.get(session, event_id)))
        name = event_id.replace(":", "-")
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{name}-summary.csv"',
            },
        )

    @post("/{event_id:str}/{action:str}")
    async def act(
        self, request: Request[Any, Any, Any], me: Visitor, event_id: str, action: str
    ) -> Response[Any]:
        """``change`` (the whole form, against its ``revision``) or ``cancel``."""
        me.require(STATION_MANAGERS)
        form = await request.form()
        check_form(me.session.csrf, form)
        hall = hall_of(request)
        stations = hall.stations
        if action not in STATION_ACTIONS or action == "create":
            return page(
                "error.html",
                me.locale,
                status=404,
                kind="missing",
                staff=me.account,
                nav=me.nav,
                here=request.url.path,
                csrf=me.session.csrf,
            )

        def run() -> HallStationEvent:
            if action == "cancel":
                return stations.cancel(event_id, station_cancel_body(form), me.account)
            with hall.field.read_session() as session:
                location = stations.get(session, event_id).location
            return stations.change(
                event_id, station_event_body(form, location=location, change=True), me.account
            )

        try:
            await to_thread.run_sync(run)
        except HallError as exc:
            if exc.code == "station_event.not_found":
                raise
            context = await to_thread.run_sync(_detail, request, me, event_id)
            context.update(error=exc, failed_action=action)
            if action == "change":
                context["form"] = _posted(form)
            return page("station_event.html", me.locale, status=exc.status, **context)
        return _redirect(f"/hall/station-events/{event_id}?done={action}")
