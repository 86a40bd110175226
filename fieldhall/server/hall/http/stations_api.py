"""``/api/v1/stations`` and ``/api/v1/station-events``: mobile service stations, their events
(created, changed and cancelled by supervisors and admins, published signed to the station's
devices) and each event's summary as JSON and CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from fieldhall.field_app_api.clock import now

from ..errors import BadRequest
from ..stations import event_json, event_summary, event_summary_csv, list_events, list_stations
from .access import hall_of, station_manager, station_reader, supervisor_or_admin

__all__ = ["StationController", "StationEventController"]


def _instant(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest("station_event.bad_request", f"{name} is an RFC 3339 instant") from None
    if moment.tzinfo is None:
        raise BadRequest("station_event.bad_request", f"{name} needs a time zone offset")
    return moment.astimezone(UTC)


class StationController(Controller):
    path = "/api/v1/stations"
    tags = ["stations"]

    @get("/", sync_to_thread=True)
    def stations(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Every station: its channel, enrolled devices and next scheduled event."""
        station_reader(request)
        with hall_of(request).field.read_session() as session:
            return {"stations": list_stations(session, now())}

    @get("/{station_id:str}/events", sync_to_thread=True)
    def events(
        self,
        request: Request[Any, Any, Any],
        station_id: str,
        event_status: Annotated[str | None, Parameter(query="status")] = None,
        since: str | None = None,
        until: str | None = None,
    ) -> dict[str, Any]:
        """The station's events by start time (``since``/``until``: those overlapping)."""
        station_reader(request)
        moment = now()
        with hall_of(request).field.read_session() as session:
            rows = list_events(
                session,
                station_id,
                status=event_status,
                since=_instant(since, "since"),
                until=_instant(until, "until"),
            )
            return {"events": [event_json(e, moment) for e in rows]}

    @post("/{station_id:str}/events", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def create(
        self, request: Request[Any, Any, Any], station_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """A new event; signed and published into ``station:<station_id>``."""
        account = station_manager(request)
        event = hall_of(request).stations.create(station_id, data, account)
        return event_json(event, now())


class StationEventController(Controller):
    path = "/api/v1/station-events"
    tags = ["stations"]

    @get("/{event_id:str}", sync_to_thread=True)
    def detail(self, request: Request[Any, Any, Any], event_id: str) -> dict[str, Any]:
        station_reader(request)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            return event_json(hall.stations.get(session, event_id), now())

    @patch("/{event_id:str}", status_code=HTTP_200_OK, sync_to_thread=True)
    def change(
        self, request: Request[Any, Any, Any], event_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Change the members sent (``revision``: the one the change was made against)."""
        account = station_manager(request)
        return event_json(hall_of(request).stations.change(event_id, data, account), now())

    @post("/{event_id:str}/cancel", status_code=HTTP_200_OK, sync_to_thread=True)
    def cancel(
        self, request: Request[Any, Any, Any], event_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Cancel with a ``reason``; the devices get the cancelled revision."""
        account = station_manager(request)
        return event_json(hall_of(request).stations.cancel(event_id, data, account), now())

    @get("/{event_id:str}/summary", sync_to_thread=True)
    def summary(self, request: Request[Any, Any, Any], event_id: str) -> dict[str, Any]:
        """Cases filed during the event, by matter and by department."""
        supervisor_or_admin(request)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            return event_summary(session, hall.stations.get(session, event_id))

    @get("/{event_id:str}/summary.csv", sync_to_thread=True)
    def summary_csv(self, request: Request[Any, Any, Any], event_id: str) -> Response[str]:
        supervisor_or_admin(request)
        hall = hall_of(request)
        with hall.field.read_session() as session:
            body = event_summary_csv(event_summary(session, hall.stations.get(session, event_id)))
        name = event_id.replace(":", "-")
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}-summary.csv"'},
        )
