"""Seeding the demo hall through its real doors, against the server the demo runs.

1. Staff accounts, one per role and one approver per department the cases need (argon2id,
   random passwords kept in the data directory's 0600 credentials file).
2. Grids, agents and the mall station; each agent's phone is a simulated device — the
   reference client — enrolled over ``POST /api/v1/devices/enroll`` with a one-time code,
   its key and token in a 0600 state file under ``demo/devices/``. The supervisor then plans
   the mall station's event through :class:`StationEvents` (``demo.station``).
3. The plan (:mod:`~fieldhall.server.demo.plan`) is played in time order on a clock set to
   each step's instant in the past: the device signs its case (sealed ID number and phone,
   real photos) or supplement or delivery at the head of its hash chain and pushes it
   through ``/sync/field`` (the door checks signature, chain, form and photos and writes the
   receipt); the projector takes it in; staff actions go through :meth:`Workflow.act`, the
   call behind ``POST /api/v1/cases/{id}/actions/{action}``. The workflow's clock (and the
   device's) reads the plan's instant, so deadlines, suspensions and the audit log are
   those of a hall that has been working for six weeks. (The door's receipts keep the real
   time of arrival: they are the server's own clock, which the demo does not turn back.)
   The home-visit requests (:mod:`~fieldhall.server.demo.visit_plan`) are played on the
   same clock, merged with the cases in time order: the window clerk creates, dispatches
   and cancels them through :class:`VisitService` (the call behind
   ``POST /api/v1/visit-requests``), the agents' phones push signed ``visit_update``
   documents (and, on one visit, the case filed with its ``request_id``), and the real
   escalation sweep runs at the instant of each visit step, at the instants the plan names,
   and finally at the seeding instant.
4. Each device syncs once (its receipts, case events and visit requests come down) and
   verifies what the hall signed.

Documents are pushed as soon as they are signed, as a device with a network does; they do
not go through the devices' local outboxes (whose fsyncs per document would double the
seed's time), so ``fieldhall device status`` shows a demo device's chain head and inbox, and
an empty outbox. Nothing is written into hall tables directly.
"""

from __future__ import annotations

import functools
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, func, select

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.directory import add_agent, ensure_grid
from fieldhall.field_app_api.enrollment import issue_code
from fieldhall.field_app_api.staff import add_staff
from fieldhall.field_app_api.tables import StaffAccount
from fieldhall.schemas import load_catalog
from fieldhall.schemas.signatures import rfc3339_utc

from ..composition import HallParts
from ..hall.errors import HallError
from ..hall.tables import HallCase
from ..hall.timelimits import WorkingCalendar
from ..hall.timelimits.localday import HALL_TZ, hall_date
from ..hall.visits import HallVisitEscalation, HallVisitRequest
from . import photos
from .credentials import DemoRecord, DeviceRecord, StaffLogin, demo_dir
from .forms import applicant_for, form_for
from .people import AGENTS, GRIDS, STAFF, STATION_STAFF, AgentSpec, GridSpec, Person
from .plan import CATALOG_VERSION, CasePlan, Step, build_plan
from .station import ensure_mall_station, seed_station_event
from .visit_plan import DEVICE_ACTIONS, LIVE, VisitPlan, VisitStep, build_visit_plan

__all__ = ["DEFAULT_SEED", "DemoError", "Timeline", "seed_demo"]

DEFAULT_SEED = 2026
DAY_BEGINS = clock_time(8, 30)  # the plan's minute 0, Asia/Shanghai
DAY_ENDS = clock_time(17, 30)
VISIT_CASE_NUMBERS = 900  # the cases filed on visits: numbers (seeds) apart from the plan's
HOSPITAL = {"lat": 32.6893, "lon": 109.0312, "accuracy_m": 12}  # 安康市中心医院
MALL = {"lat": 32.7036, "lon": 109.0138, "accuracy_m": 20}  # 吾悦广场
HALL = {"lat": 32.6861, "lon": 109.0243, "accuracy_m": 8}  # 政务服务中心


class DemoError(RuntimeError):
    """Raised when the hall refuses a step of the demo plan (a bug in the plan or the hall)."""


@dataclass
class _Clock:
    """The clock the workflow and the devices read while the plan is played."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


class Timeline:
    """Instants of the plan: working days before the *anchor day* — the latest working day
    whose working hours are over at ``now`` — and minutes after 08:30 Asia/Shanghai."""

    def __init__(self, calendar: WorkingCalendar, now: datetime, depth: int = 60) -> None:
        day = hall_date(now)
        if datetime.combine(day, DAY_ENDS, tzinfo=HALL_TZ) > now:
            day -= timedelta(days=1)
        self.days: list[date] = []
        while len(self.days) <= depth:
            if calendar.is_working_day(day):
                self.days.append(day)
            day -= timedelta(days=1)

    @property
    def anchor(self) -> date:
        return self.days[0]

    def instant(self, day: int, minute: int) -> datetime:
        start = datetime.combine(self.days[day], DAY_BEGINS, tzinfo=HALL_TZ)
        return (start + timedelta(minutes=minute)).astimezone(UTC)


@dataclass
class _CaseRun:
    """What the hall has told about a case so far: its id and the events to answer."""

    plan: CasePlan
    person: Person
    device: DeviceClient
    grid: GridSpec
    case_id: str | None = None
    events: dict[str, str] = field(default_factory=dict)  # event name -> event id
    request_id: str | None = None  # the visit request the case is filed on


@dataclass
class _VisitRun:
    plan: VisitPlan
    person: Person
    device: DeviceClient
    grid: GridSpec
    request_id: str | None = None


@dataclass
class DemoHall:
    """The seeded hall: what was made, for the banner and the tests."""

    record: DemoRecord
    devices: list[DeviceClient]
    case_ids: list[str]
    visit_ids: dict[int, str] = field(default_factory=dict)  # visit plan number -> request


def _material_bytes(material_id: str, accept: tuple[str, ...], p: Person, seed: int) -> Material:
    if "image/jpeg" not in accept:  # papers the catalog takes as PDF only
        return Material(
            f"{material_id}.pdf",
            photos.pdf_document(material_id, seed),
            "application/pdf",
            material_id,
        )
    maker: dict[str, Callable[[], bytes]] = {
        "id_card": lambda: photos.id_card(p, seed),
        "photo": lambda: photos.portrait(p, seed),
        "hukou_booklet": lambda: photos.household_register(p, seed),
        "bank_card": lambda: photos.bank_card(seed),
    }
    data = maker.get(material_id, lambda: photos.document_page(material_id, seed))()
    return Material(f"{material_id}.jpg", data, "image/jpeg", material_id)


class _Lap:
    """Seconds since the last reading, for the progress lines."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def __call__(self) -> str:
        now = time.perf_counter()
        elapsed, self.last = now - self.last, now
        return f"{elapsed:.1f} s"


class Seeder:
    def __init__(
        self,
        parts: HallParts,
        base_url: str,
        data_dir: Path,
        *,
        seed: int = DEFAULT_SEED,
        now: datetime | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.parts = parts
        self.base_url = base_url.rstrip("/")
        self.data_dir = data_dir
        self.seed = seed
        self.now = now or datetime.now(UTC)
        self.progress = progress or (lambda _: None)
        self.timeline = Timeline(parts.workflow.calendar, self.now)
        self.clock = _Clock(self.now)
        # How long the document being pushed waited on the phone for a network: a case
        # filed at a bedside reaches the hall when the agent is back in coverage.
        self.offline = timedelta(0)
        self.signed_at: dict[str, datetime] = {}  # device id -> its last document's time
        self.catalog = load_catalog(CATALOG_VERSION)
        self.staff: dict[str, StaffAccount] = {}
        self.devices: dict[str, DeviceClient] = {}
        self.records: list[DeviceRecord] = []
        self.visit_cases: list[str] = []
        self.visit_seconds = 0.0  # of the play, spent on visit steps and sweeps
        # One connection for every push (a client per request would load the CA bundle
        # each time: 70 ms apiece).
        self.http = httpx.Client(timeout=60.0)

    # ------------------------------------------------------------------ the hall's people

    def add_staff(self) -> list[StaffLogin]:
        logins = []
        with self.parts.field.session() as session:
            for spec in STAFF:
                password = secrets.token_urlsafe(9)
                account = add_staff(
                    session,
                    spec.username,
                    password,
                    spec.role,
                    department=spec.department,
                    display_name=spec.display_name,
                )
                self.staff[spec.username] = account
                logins.append(
                    StaffLogin(
                        spec.username, password, spec.role, spec.display_name, spec.department
                    )
                )
        return logins

    def plan_station_event(self, plans: Sequence[CasePlan]) -> None:
        """The mall's event: the day the plan files its station cases, planned by the
        supervisor the working day before (see :mod:`~fieldhall.server.demo.station`)."""
        station = [p for p in plans if p.channel == "mobile_station"]
        days = {s.day for p in station for s in p.steps if s.action == "file"}
        if len(days) != 1:
            raise DemoError(f"the station's cases are filed on {len(days)} days, not one")
        (day,) = days
        opens = datetime.combine(self.timeline.days[day], DAY_BEGINS, tzinfo=HALL_TZ)
        closes = datetime.combine(self.timeline.days[day], DAY_ENDS, tzinfo=HALL_TZ)
        device = self.devices[STATION_STAFF.slug].state
        try:
            seed_station_event(
                self.parts.stations,
                self.staff["supervisor"],
                opens=opens,
                closes=closes,
                planned_at=self.timeline.instant(day + 1, 420),
                matters=[p.matter for p in station],
                catalog_version=CATALOG_VERSION,
                staff=[str(device.agent_id)],
                devices=[str(device.device_id)],
            )
        except HallError as exc:
            raise DemoError(f"the station event was refused: {exc}") from exc

    def enroll_devices(self) -> None:
        """The agents, each with a phone enrolled over HTTP (reference client)."""
        devices_dir = demo_dir(self.data_dir) / "devices"
        devices_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        codes = []
        with self.parts.field.session() as session:
            for grid in GRIDS:
                ensure_grid(session, grid.id, grid.name)
            ensure_mall_station(session)
            for spec in (*AGENTS, STATION_STAFF):
                agent = add_agent(
                    session,
                    spec.name,
                    grid_id=spec.grid_id,
                    station_id=spec.station_id,
                    agent_id=f"agent-{spec.slug}",
                )
                session.commit()
                codes.append((spec, issue_code(session, agent.id).code))
        for spec, code in codes:
            state_file = devices_dir / f"{spec.slug}.json"
            device = DeviceClient.enroll(
                self.base_url,
                code,
                name=f"{spec.name}的工作手机（演示）",
                state_path=state_file,
                http=self.http,
            )
            device.clock = self._device_time
            self.devices[spec.slug] = device
            self.records.append(
                DeviceRecord(
                    device.state.agent_id,
                    spec.name,
                    device.state.device_id,
                    device.state.grid_id,
                    device.state.station_id,
                    str(state_file),
                )
            )

    # ------------------------------------------------------------------ playing the plan

    def play(
        self,
        plans: list[CasePlan],
        visits: Sequence[VisitPlan] = (),
    ) -> tuple[list[_CaseRun], list[_VisitRun]]:
        """Every step of the cases and the visit requests, in time order."""
        specs: dict[str, AgentSpec] = {a.slug: a for a in (*AGENTS, STATION_STAFF)}
        grids = {g.id: g for g in GRIDS}
        runs = []
        for plan in plans:
            rng = random.Random(f"{self.seed}/person/{plan.number}")
            grid = grids[specs[plan.agent].grid_id]
            person = applicant_for(rng, plan.matter, grid, self.timeline.anchor)
            runs.append(_CaseRun(plan, person, self.devices[plan.agent], grid))
        visit_runs = []
        for visit in visits:
            rng = random.Random(f"{self.seed}/resident/{visit.number}")
            grid = grids[specs[visit.agent].grid_id]
            matter = visit.matter or "senior_citizen_card"  # the hotline's callers are old
            person = applicant_for(rng, matter, grid, self.timeline.anchor)
            visit_runs.append(_VisitRun(visit, person, self.devices[visit.agent], grid))
        # (instant, cases before visits at one instant, number, what to do)
        steps: list[tuple[datetime, int, int, Callable[[], None]]] = [
            (
                self.timeline.instant(step.day, step.minute),
                0,
                run.plan.number,
                functools.partial(self._case_step, run, step),
            )
            for run in runs
            for step in run.plan.steps
        ]
        steps += [
            (
                self._visit_instant(step),
                1,
                run.plan.number,
                functools.partial(self._visit_step, run, step),
            )
            for run in visit_runs
            for step in run.plan.steps
        ]
        steps.sort(key=lambda item: item[:3])
        for done, (at, _, _, action) in enumerate(steps, start=1):
            self.clock.at = at
            action()
            if done % 50 == 0:
                self.progress(f"  {done}/{len(steps)} steps")
        return runs, visit_runs

    def _case_step(self, run: _CaseRun, step: Step) -> None:
        try:
            self._step(run, step)
        except HallError as exc:
            raise DemoError(
                f"case {run.plan.number} ({run.plan.matter}, {run.plan.story}): "
                f"{step.action} refused: {exc}"
            ) from exc

    def _step(self, run: _CaseRun, step: Step) -> None:
        if step.action == "file":
            self._file(run)
        elif step.action == "supplement":
            self._supplement(run, step)
        elif step.action == "delivery":
            self._delivery(run, step)
        else:
            self._act(run, step)

    def _push(self, device: DeviceClient, body: dict[str, Any], files: list[Material]) -> str:
        """Sign ``body`` at the head of the device's chain and push it with its photos to
        ``/sync/field`` (``_bulk_docs``, as the device's replicator does), then let the
        projector take it in."""
        signed = device.sign(body)
        self.signed_at[device.state.device_id] = self._device_time()
        response = self.http.post(
            device.state.sync_url + "/_bulk_docs",
            json={"docs": [DeviceClient.with_attachments(signed, files)]},
            headers={"Authorization": f"Bearer {device.state.token}"},
        )
        results = response.json() if response.status_code in (200, 201) else None
        if not results or not results[0].get("ok"):
            raise DemoError(f"the door refused {signed['_id']}: {response.text[:500]}")
        self.parts.projector.project_pending()
        self.parts.workflow.publish()
        return str(signed["_id"])

    def _device_time(self) -> datetime:
        return self.clock.at - self.offline

    def _taken(self, minutes: int) -> str:
        return rfc3339_utc(self._device_time() - timedelta(minutes=minutes))

    def _location(self, run: _CaseRun) -> dict[str, float]:
        if run.plan.channel == "hospital":
            return dict(HOSPITAL)
        if run.plan.channel == "mobile_station":
            return dict(MALL)
        if run.plan.channel == "hall":
            return dict(HALL)
        jitter = random.Random(f"{self.seed}/where/{run.plan.number}")
        return {
            "lat": round(run.grid.lat + jitter.uniform(-0.006, 0.006), 5),
            "lon": round(run.grid.lon + jitter.uniform(-0.006, 0.006), 5),
            "accuracy_m": jitter.choice([5, 8, 15, 30]),
        }

    def _photo(self, run: _CaseRun, material_id: str, salt: int = 0) -> Material:
        matter = self.catalog.matter(run.plan.matter)
        spec = matter.material(material_id)
        accept = tuple(spec.accept) if spec is not None else ("image/jpeg",)
        seed = self.seed * 10_000 + run.plan.number * 10 + salt
        made = _material_bytes(material_id, accept, run.person, seed)
        return Material(
            made.name,
            made.data,
            made.content_type,
            material_id,
            captured_at=self._taken(5),
            location=self._location(run),
        )

    def _file(self, run: _CaseRun) -> None:
        waited = random.Random(f"{self.seed}/offline/{run.plan.number}")
        if run.plan.channel in ("home_visit", "hospital"):
            lag = timedelta(minutes=waited.randint(3, 150))
        else:  # the mall's and the hall's networks
            lag = timedelta(seconds=waited.randint(5, 90))
        # Never before the device's previous document: its chain is in the order it signed.
        previous = self.signed_at.get(run.device.state.device_id)
        if previous is not None:
            lag = min(lag, max(timedelta(0), self.clock.at - previous - timedelta(minutes=6)))
        self.offline = lag
        matter = self.catalog.matter(run.plan.matter)
        wanted = [
            m.id
            for m in matter.materials
            if m.required and m.id != "consent_signature" and m.id not in run.plan.missing
        ]
        materials = [self._photo(run, mid) for mid in wanted]
        consent = Material(
            "consent_signature.jpg",
            photos.signature(run.person.name, self.seed * 10_000 + run.plan.number),
            "image/jpeg",
            "consent_signature",
            captured_at=self._taken(1),
        )
        rng = random.Random(f"{self.seed}/form/{run.plan.number}")
        form = form_for(run.plan.matter, run.person, rng, hall_date(self.clock.at))
        body, files = run.device.case_body(
            run.plan.matter,
            CATALOG_VERSION,
            run.person.applicant(),
            form,
            materials,
            consent,
            channel=run.plan.channel,
            location=self._location(run),
            request_id=run.request_id,
        )
        try:
            run.case_id = self._push(run.device, body, files)
        finally:
            self.offline = timedelta(0)

    def _supplement(self, run: _CaseRun, step: Step) -> None:
        event = "notice" if step.answers == "notice" else "accepted_with_deficiencies"
        files = [self._photo(run, mid, salt=1 + i) for i, mid in enumerate(step.materials)]
        body = {
            "_id": run.device.new_id("supplement"),
            "type": "supplement",
            "case_id": run.case_id,
            "answers_event": run.events[event],
            "materials": [m.manifest() for m in files],
            "note": "补正材料已上门拍照上传" if event == "notice" else "容缺材料已补齐",
        }
        self._push(run.device, body, files)

    def _delivery(self, run: _CaseRun, step: Step) -> None:
        signed = Material(
            "recipient_signature.jpg",
            photos.signature(run.person.name, self.seed * 10_000 + run.plan.number + 7),
            "image/jpeg",
            "recipient_signature",
            captured_at=self._taken(1),
        )
        comments = {5: "网格员送证上门，非常满意", 4: "办理顺利，送达及时", 3: "等待时间偏长"}
        body = {
            "_id": run.device.new_id("delivery"),
            "type": "delivery",
            "case_id": run.case_id,
            "method": "agent",
            "delivered_at": self._taken(2),
            "recipient": {"name": run.person.name, "relation": "本人"},
            "recipient_signature": signed.name,
            "materials": [signed.manifest()],
            "rating": step.rating,
            "comment": comments.get(step.rating or 0, "已送达"),
        }
        self._push(run.device, body, [signed])

    def _act(self, run: _CaseRun, step: Step) -> None:
        if run.case_id is None or step.by is None:
            raise DemoError(f"case {run.plan.number}: {step.action} before the case was filed")
        body = dict(step.body or {})
        if step.due_in_days is not None:
            due = (hall_date(self.clock.at) + timedelta(days=step.due_in_days)).isoformat()
            body["items"] = [{**item, "due": due} for item in body["items"]]
        if step.action == "record_delivery":
            body["recipient_name"] = run.person.name
            if body["method"] == "mail":
                rng = random.Random(f"{self.seed}/mail/{run.plan.number}")
                body["tracking_number"] = f"11{rng.randrange(10**11):011d}"  # an EMS number
        outcome = self.parts.workflow.act(run.case_id, step.action, body, self.staff[step.by])
        for event in outcome.body.get("events", []):
            if event.get("event"):
                run.events[str(event["event"])] = str(event["id"])

    # ------------------------------------------------------------------ home visits

    def _visit_instant(self, step: VisitStep) -> datetime:
        if step.day == LIVE:
            return self.now + timedelta(minutes=step.minute)
        return self.timeline.instant(step.day, step.minute)

    def _visit_step(self, run: _VisitRun, step: VisitStep) -> None:
        """One step of a visit request, after the sweep has run at its instant (as the
        hall's sweeper, every 30 s, would have)."""
        started = time.perf_counter()
        try:
            self._visit_move(run, step)
        finally:
            self.visit_seconds += time.perf_counter() - started

    def _visit_move(self, run: _VisitRun, step: VisitStep) -> None:
        self.sweep()
        if step.action == "sweep":
            return
        try:
            if step.action == "create":
                self._create_visit(run)
            elif step.action == "file_case":
                self._file_on_visit(run)
            elif step.action in DEVICE_ACTIONS:
                self._visit_update(run, step)
            else:
                self._visit_act(run, step)
        except HallError as exc:
            raise DemoError(
                f"visit {run.plan.number} ({run.plan.source}, {run.plan.urgency}): "
                f"{step.action} refused: {exc}"
            ) from exc

    def sweep(self) -> int:
        made = self.parts.visits.sweep(self.clock.at)
        self.parts.visits.publish()
        return len(made)

    def _create_visit(self, run: _VisitRun) -> None:
        plan = run.plan
        called_at = self._visit_instant(plan.called)
        body: dict[str, Any] = {
            "source": plan.source,
            "urgency": plan.urgency,
            "resident": {
                "name": run.person.name,
                "address": run.person.address,
                "phone": run.person.phone,
            },
            "requested_at": called_at.isoformat(),
            "note": plan.note,
        }
        if plan.matter:
            body["matter_id"] = plan.matter
        if plan.ticket:
            body["ticket"] = f"{plan.ticket[:5]}-{hall_date(called_at):%Y%m%d}{plan.ticket[5:]}"
        if plan.assign == "agent":
            body["assigned_agent_id"] = run.device.state.agent_id
        elif plan.assign == "grid":
            body["grid_id"] = run.grid.id
        outcome = self.parts.visits.create(
            body, self.staff["clerk"], idempotency_key=f"demo-visit-{plan.number}"
        )
        run.request_id = str(outcome.body["visit_request"]["id"])

    def _visit_act(self, run: _VisitRun, step: VisitStep) -> None:
        if run.request_id is None:
            raise DemoError(f"visit {run.plan.number}: {step.action} before it was created")
        body: dict[str, Any] = {"reason": step.note} if step.note else {}
        if step.action == "dispatch":
            body["grid_id"] = run.grid.id
        self.parts.visits.act(run.request_id, step.action, body, self.staff["clerk"])

    def _visit_update(self, run: _VisitRun, step: VisitStep) -> None:
        jitter = random.Random(f"{self.seed}/visit-where/{run.plan.number}")
        body = {
            "_id": run.device.new_id("visit_update"),
            "type": "visit_update",
            "request_id": run.request_id,
            "status": step.action,
            "at": rfc3339_utc(self._device_time()),
            "location": {
                "lat": round(run.grid.lat + jitter.uniform(-0.006, 0.006), 5),
                "lon": round(run.grid.lon + jitter.uniform(-0.006, 0.006), 5),
                "accuracy_m": jitter.choice([5, 8, 15]),
            },
            "note": step.note,
        }
        self._push(run.device, body, [])
        self.parts.visits.publish()  # a request taken by whoever came is signed anew

    def _file_on_visit(self, run: _VisitRun) -> None:
        """The case the agent files at the resident's home, on the request."""
        matter = run.plan.matter or "senior_citizen_card"
        plan = CasePlan(VISIT_CASE_NUMBERS + run.plan.number, run.plan.agent, matter,
                        "home_visit", "visit", (), ())  # fmt: skip
        case = _CaseRun(plan, run.person, run.device, run.grid, request_id=run.request_id)
        self._file(case)
        self.visit_cases.append(str(case.case_id))

    def visit_states(self) -> dict[str, int]:
        with self.parts.field.read_session() as session:
            rows = session.exec(
                select(HallVisitRequest.state, func.count()).group_by(col(HallVisitRequest.state))
            )
            return {str(state): int(count) for state, count in rows}

    def escalations(self) -> int:
        with self.parts.field.read_session() as session:
            return int(session.exec(select(func.count()).select_from(HallVisitEscalation)).one())

    # ------------------------------------------------------------------ finishing

    def sync_devices(self) -> int:
        """Each device syncs (its receipts and case events come down) and verifies what the
        hall signed, all at once as phones in the field would; returns how many server
        documents verified."""

        def sync(slug: str, device: DeviceClient) -> int:
            try:
                device.sync()
                report = device.verify()
            finally:
                device.close()
            if not report.ok:
                raise DemoError(f"{slug}'s device does not verify: {report.to_json()}")
            return report.verified

        with ThreadPoolExecutor(max_workers=len(self.devices) or 1) as pool:
            verified = sum(pool.map(sync, self.devices, self.devices.values()))
        self.http.close()
        return verified

    def states(self) -> dict[str, int]:
        with self.parts.field.read_session() as session:
            rows = session.exec(select(HallCase.state, func.count()).group_by(HallCase.state))
            return {str(state): int(count) for state, count in rows}


def seed_demo(
    parts: HallParts,
    base_url: str,
    data_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoHall:
    """Seed a hall that has no staff yet (see the module doc); returns what was made."""
    started = time.perf_counter()
    seeder = Seeder(parts, base_url, data_dir, seed=seed, now=now, progress=progress)
    say = seeder.progress
    lap = _Lap()
    logins = seeder.add_staff()
    say(f"  {len(logins)} staff accounts ({lap()})")
    seeder.enroll_devices()
    say(f"  {len(seeder.devices)} devices enrolled over HTTP ({lap()})")
    plans = build_plan(anchor_is_today=seeder.timeline.anchor == hall_date(seeder.now))
    seeder.plan_station_event(plans)
    say(f"  the mall station's event planned ({lap()})")
    visits = build_visit_plan()
    workflow = parts.workflow
    real_clocks = workflow.clock, parts.visits.clock
    workflow.clock = parts.visits.clock = seeder.clock
    try:
        runs, visit_runs = seeder.play(plans, visits)
        # The sweep once more at the seeding instant: what the hall's sweeper finds first.
        seeder.clock.at = seeder.now
        seeder.sweep()
    finally:
        workflow.clock, parts.visits.clock = real_clocks
    parts.projector.project_pending()
    workflow.publish()
    parts.projector.project_pending()
    steps = sum(len(p.steps) for p in plans)
    first = seeder.timeline.days[max(s.day for p in plans for s in p.steps)]
    say(f"  {len(plans)} cases in {steps} steps, played from {first} on ({lap()})")
    visit_states = seeder.visit_states()
    say(
        f"  {sum(visit_states.values())} visit requests "
        f"({', '.join(f'{k} {v}' for k, v in sorted(visit_states.items()))}), "
        f"{seeder.escalations()} escalations by the sweep "
        f"(the visits' steps took {seeder.visit_seconds:.1f} s)"
    )
    verified = seeder.sync_devices()
    say(
        f"  devices synced: {verified} receipts and case events signed by the hall "
        f"verified ({lap()})"
    )
    states = seeder.states()
    record = DemoRecord(
        seed=seed,
        seeded_at=rfc3339_utc(datetime.now(UTC)),
        seconds=round(time.perf_counter() - started, 1),
        cases=sum(states.values()),
        states=dict(Counter(states).most_common()),
        visits=dict(Counter(visit_states).most_common()),
        staff=logins,
        devices=seeder.records,
    )
    case_ids = [run.case_id for run in runs if run.case_id is not None] + seeder.visit_cases
    visit_ids = {r.plan.number: r.request_id for r in visit_runs if r.request_id is not None}
    return DemoHall(record, list(seeder.devices.values()), case_ids, visit_ids)
