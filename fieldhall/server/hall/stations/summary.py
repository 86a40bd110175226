"""An event's summary: the cases its station filed during it, by matter and by department.

A case belongs to an event when its station is the event's, its channel is
``mobile_station`` and it was **filed** (the device's ``created_at``) within
``[starts_at, ends_at)`` — filed, not received: a station on a mall's patchy network syncs its
bursts later, and the applications were still made at the event.

For each matter and each department: ``cases`` (filed and received by the hall), ``accepted``
(受理, with or without deficiencies), ``concluded`` (办结: approved or denied), ``refused``,
``withdrawn``, ``open`` (not in a final state) and the count per current state. A case counts
for every department of its matter (a 并联 matter occupies several). Matters and departments
the event offered are listed even without cases; a case of a matter not offered (a clerk
helped anyway) is listed with ``offered: false``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlmodel import Session, col, select

from fieldhall.field_app_api.clock import rfc3339
from fieldhall.schemas import Catalog, load_catalog
from fieldhall.schemas.errors import ContractError

from ..machine import State
from ..tables import HallCase, HallStationEvent, utc
from .views import event_json

__all__ = ["event_summary", "event_summary_csv"]

STATION_CHANNEL = "mobile_station"


@dataclass
class Tally:
    cases: int = 0
    accepted: int = 0
    concluded: int = 0
    refused: int = 0
    withdrawn: int = 0
    open: int = 0
    by_state: dict[str, int] = field(default_factory=dict)

    def add(self, case: HallCase) -> None:
        self.cases += 1
        self.accepted += case.accepted_at is not None
        self.concluded += case.concluded_at is not None
        self.refused += case.state == State.REFUSED
        self.withdrawn += case.state == State.WITHDRAWN
        self.open += not case.closed
        self.by_state[case.state] = self.by_state.get(case.state, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "accepted": self.accepted,
            "concluded": self.concluded,
            "refused": self.refused,
            "withdrawn": self.withdrawn,
            "open": self.open,
            "by_state": dict(sorted(self.by_state.items())),
        }


def _cases(session: Session, event: HallStationEvent) -> Iterable[HallCase]:
    return session.exec(
        select(HallCase)
        .where(
            HallCase.station_id == event.station_id,
            HallCase.channel == STATION_CHANNEL,
            col(HallCase.filed_at) >= event.starts_at,
            col(HallCase.filed_at) < event.ends_at,
        )
        .order_by(col(HallCase.received_order))
    )


def _names(catalogs: dict[str, Catalog], version: str) -> Catalog | None:
    if version not in catalogs:
        try:
            catalogs[version] = load_catalog(version)
        except ContractError:
            return None
    return catalogs[version]


def event_summary(session: Session, event: HallStationEvent) -> dict[str, Any]:
    catalogs: dict[str, Catalog] = {}
    offered_matters = orjson.loads(event.matters)
    offered_departments = orjson.loads(event.departments)
    matters: dict[str, Tally] = {m: Tally() for m in offered_matters}
    departments: dict[str, Tally] = {d: Tally() for d in offered_departments}
    total = Tally()
    first = last = None
    for case in _cases(session, event):
        total.add(case)
        matters.setdefault(case.matter_id, Tally()).add(case)
        catalog = _names(catalogs, case.catalog_version)
        matter_departments: tuple[str, ...] = ()
        if catalog is not None:
            try:
                matter_departments = catalog.matter(case.matter_id).departments
            except ContractError:
                pass
        for department in matter_departments:
            departments.setdefault(department, Tally()).add(case)
        filed = utc(case.filed_at)
        first = filed if first is None or (filed and filed < first) else first
        last = filed if last is None or (filed and filed > last) else last
    names = _names(catalogs, event.catalog_version)

    def matter_name(matter_id: str) -> str | None:
        if names is None:
            return None
        try:
            return names.matter(matter_id).name.zh
        except ContractError:
            return None

    def department_name(department: str) -> str | None:
        found = names.departments.get(department) if names is not None else None
        return found.zh if found is not None else None

    return {
        "event": event_json(event),
        "window": {"from": rfc3339(utc(event.starts_at)), "until": rfc3339(utc(event.ends_at))},
        "totals": {
            **total.to_json(),
            "first_filed_at": rfc3339(first),
            "last_filed_at": rfc3339(last),
        },
        "by_matter": [
            {
                "matter_id": matter_id,
                "name_zh": matter_name(matter_id),
                "offered": matter_id in offered_matters,
                **tally.to_json(),
            }
            for matter_id, tally in _ordered(matters)
        ],
        "by_department": [
            {
                "department": department,
                "name_zh": department_name(department),
                "present": department in offered_departments,
                **tally.to_json(),
            }
            for department, tally in _ordered(departments)
        ],
    }


def _ordered(tallies: dict[str, Tally]) -> list[tuple[str, Tally]]:
    """Busiest first, then by id: the order a supervisor reads a summary in."""
    return sorted(tallies.items(), key=lambda item: (-item[1].cases, item[0]))


CSV_COLUMNS = (
    "dimension",
    "id",
    "name_zh",
    "offered",
    "cases",
    "accepted",
    "concluded",
    "refused",
    "withdrawn",
    "open",
)


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def event_summary_csv(summary: dict[str, Any]) -> str:
    """The summary's rows as CSV (UTF-8 with a BOM for spreadsheet programs): one row per
    matter, one per department, and the total."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    counts = ("cases", "accepted", "concluded", "refused", "withdrawn", "open")
    for row in summary["by_matter"]:
        cells = [
            "matter",
            row["matter_id"],
            row["name_zh"] or "",
            "yes" if row["offered"] else "no",
        ]
        writer.writerow([_cell(c) for c in cells] + [row[c] for c in counts])
    for row in summary["by_department"]:
        cells = ["department", row["department"], row["name_zh"] or ""]
        cells.append("yes" if row["present"] else "no")
        writer.writerow([_cell(c) for c in cells] + [row[c] for c in counts])
    totals = summary["totals"]
    writer.writerow(["total", summary["event"]["id"], "", ""] + [totals[c] for c in counts])
    return out.getvalue()
