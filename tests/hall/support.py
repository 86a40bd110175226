"""What the hall tests share.

The people: **alice** the admin (from ``running_hall``), **carol** the window clerk (综合窗口),
**rhea** the real-estate centre's approver, **tao** the taxation bureau's approver, **mei**
the market regulator's approver, **sam** the supervisor (电子监察) and **bob** the grid agent
whose phone files the cases. Staff accounts are written straight into the hall's database
with the cheapest argon2id parameters (every request verifies the password; the default cost
is ~0.2 s each).

Helpers build real signed documents on bob's device — a 不动产登记 case filed in hospital,
supplements answering a case event, the signed delivery with the recipient's signature and
rating — push them through ``/sync/field`` and wait until the hall has projected them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlmodel import Session

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.tables import StaffAccount
from fieldhall.schemas.signatures import rfc3339_utc
from fieldhall.server.app import create_app
from fieldhall.server.serving import serve_in_thread, uvicorn_config
from fieldhall.server.settings import Settings
from fieldhall.sync.connection import create_store_engine
from tests.field_fixtures import ADMIN, CATALOG_VERSION, Hall, jpeg, png
from tests.servers import free_port

_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

# username -> (role, department)
STAFF: dict[str, tuple[str, str | None]] = {
    "carol": ("clerk", None),
    "rhea": ("approver", "real_estate_center"),
    "tao": ("approver", "taxation"),
    "mei": ("approver", "market_regulation"),
    "sam": ("supervisor", None),
    "root": ("admin", None),
}


def password(username: str) -> str:
    return f"{username}-password"


def add_staff(
    database_url: str,
    accounts: Mapping[str, tuple[str, str | None]] = STAFF,
    passwords: Mapping[str, str] | None = None,
) -> None:
    engine = create_store_engine(database_url)
    try:
        with Session(engine) as session:
            for username, (role, department) in accounts.items():
                secret = (passwords or {}).get(username) or password(username)
                session.add(
                    StaffAccount(
                        username=username,
                        password_hash=_CHEAP.hash(secret),
                        role=role,
                        department=department,
                        display_name=username,
                        created_at=datetime.now(UTC),
                    )
                )
            session.commit()
    finally:
        engine.dispose()


@dataclass
class HallClient:
    """A staff member's HTTP client on the hall."""

    url: str
    username: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, auth=(self.username, password(self.username)), timeout=60.0
        )

    def act(
        self,
        case_id: str,
        action: str,
        body: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        with self.client() as client:
            return client.post(
                f"/api/v1/cases/{case_id}/actions/{action}", json=dict(body or {}), headers=headers
            )

    def ok(
        self, case_id: str, action: str, body: Mapping[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        response = self.act(case_id, action, body, **kw)
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply

    def get(self, path: str, **params: Any) -> httpx.Response:
        with self.client() as client:
            return client.get(path, params=params)

    def case(self, case_id: str) -> dict[str, Any]:
        response = self.get(f"/api/v1/cases/{case_id}")
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()
        return detail


def wait_projected(url: str, timeout: float = 30.0) -> dict[str, Any]:
    """Until the projector has caught up with /sync/field and the outbox is empty."""
    deadline = time.monotonic() + timeout
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        health = httpx.get(url + "/health", timeout=10.0).json()
        if health["projector"]["lag"] == 0 and health["unpublished_events"] == 0:
            return health
        time.sleep(0.05)
    raise AssertionError(f"the projector did not catch up: {health}")


# ---------------------------------------------------------------------- documents

APPLICANT = {
    "name": "李德福",
    "id_number": "513001193901150018",
    "phone": "13900000000",
    "address": "达州市通川区朝阳东路12号",
}
REAL_ESTATE_FORM = {
    "registration_type": "转移登记",
    "applicant_role": "义务人",
    "property_certificate_number": "川（2021）达州市不动产权第0012345号",
    "property_location": "达州市通川区朝阳东路12号3栋2单元501",
    "building_area": 89.5,
    "property_use": "住宅",
    "transaction_price": 420000,
    "interview_done": True,
}


def real_estate_case(
    device: DeviceClient, material_ids: Sequence[str], seed: int = 1
) -> tuple[dict[str, Any], list[Material]]:
    """A signed 不动产登记 case filed at an 85-year-old's hospital bed (Dazhou), with a
    photo of each of ``material_ids``."""
    materials = [
        Material(f"{mid}_{seed}.jpg", jpeg(seed * 31 + i), "image/jpeg", mid)
        for i, mid in enumerate(material_ids)
    ]
    return device.case(
        "real_estate_registration",
        CATALOG_VERSION,
        applicant=APPLICANT,
        form=REAL_ESTATE_FORM,
        materials=materials,
        consent=Material(f"consent_{seed}.png", png(seed), "image/png", "consent_signature"),
        channel="hospital",
        location={"lat": 31.21, "lon": 107.47, "accuracy_m": 10},
    )


def supplement(
    device: DeviceClient, case_id: str, answers_event: str, material_ids: Sequence[str], seed: int
) -> tuple[dict[str, Any], list[Material]]:
    files = [
        Material(f"sup_{mid}_{seed}.jpg", jpeg(seed * 7 + i), "image/jpeg", mid)
        for i, mid in enumerate(material_ids)
    ]
    body = {
        "_id": device.new_id("supplement"),
        "type": "supplement",
        "case_id": case_id,
        "answers_event": answers_event,
        "materials": [m.manifest() for m in files],
        "note": "补正材料已拍照上传",
    }
    return device.sign(body), files


def delivery(
    device: DeviceClient, case_id: str, rating: int, seed: int = 1
) -> tuple[dict[str, Any], list[Material]]:
    """The agent hands the result over at the bedside: the recipient signs, and rates."""
    signature = Material(f"recipient_{seed}.png", png(seed + 3), "image/png", "recipient_signature")
    body = {
        "_id": device.new_id("delivery"),
        "type": "delivery",
        "case_id": case_id,
        "method": "agent",
        "delivered_at": rfc3339_utc(datetime.now(UTC)),
        "recipient": {"name": "李德福", "relation": "本人"},
        "recipient_signature": signature.name,
        "materials": [signature.manifest()],
        "rating": rating,
        "comment": "网格员送证上门，非常满意",
    }
    return device.sign(body), [signature]


def push(device: DeviceClient, doc: Mapping[str, Any], files: Sequence[Material]) -> str:
    (result,) = device.push([DeviceClient.with_attachments(doc, files)])
    assert result.get("ok"), result
    return str(result["rev"])


def case_events(device: DeviceClient, case_id: str) -> list[dict[str, Any]]:
    """The case's events as the device pulls them, in feed order, each verified."""
    docs, _ = device.pull()
    events = [d for d in docs if d.get("type") == "case_event" and d.get("case_id") == case_id]
    for event in events:
        device.verify_server_document(event)
    return sorted(events, key=lambda e: (e["at"], e["_id"]))


# ---------------------------------------------------------------------- a hall in-process


@dataclass
class LocalHall:
    hall: Hall
    app: Any  # Litestar
    database_url: str

    @property
    def url(self) -> str:
        return self.hall.url

    @property
    def parts(self) -> Any:
        return self.app.state.hall

    def staff(self, username: str) -> HallClient:
        return HallClient(self.url, username)


@contextmanager
def local_hall(
    data_dir: Path, database_url: str | None = None, *, projector: bool = True
) -> Iterator[LocalHall]:
    """A hall served in this process, its parts at hand (``projector=False``: the test runs
    the projector itself)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, port=free_port())
    url = f"http://127.0.0.1:{settings.port}"
    app = create_app(settings, public_url=url, projector=projector)
    add_staff(settings.database_url, {**STAFF, ADMIN[0]: ("admin", None)}, {ADMIN[0]: ADMIN[1]})
    with serve_in_thread(uvicorn_config(app, "127.0.0.1", settings.port)):
        yield LocalHall(Hall(url, data_dir), app, settings.database_url)


# ---------------------------------------------------------------------- home visits


def visit_update(
    device: DeviceClient,
    request_id: str,
    status: str,
    *,
    at: datetime | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The agent's signed progress on a visit request (taken, on_site, done, cannot_complete)."""
    body = {
        "_id": device.new_id("visit_update"),
        "type": "visit_update",
        "request_id": request_id,
        "status": status,
        "at": rfc3339_utc(at or datetime.now(UTC)),
        "location": {"lat": 32.68, "lon": 109.03, "accuracy_m": 12},
        "note": note,
    }
    return device.sign(body)


def create_visit(
    staff: HallClient, body: Mapping[str, Any], *, key: str | None = None
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    with staff.client() as client:
        return client.post("/api/v1/visit-requests", json=dict(body), headers=headers)


def visit_action(
    staff: HallClient, request_id: str, action: str, body: Mapping[str, Any] | None = None
) -> httpx.Response:
    with staff.client() as client:
        return client.post(
            f"/api/v1/visit-requests/{request_id}/actions/{action}", json=dict(body or {})
        )


def visit_detail(staff: HallClient, request_id: str) -> dict[str, Any]:
    response = staff.get(f"/api/v1/visit-requests/{request_id}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def visit_requests_seen(device: DeviceClient) -> dict[str, dict[str, Any]]:
    """The visit requests the device pulls (latest revision each), each verified."""
    docs, _ = device.pull()
    seen = {}
    for doc in docs:
        if doc.get("type") == "visit_request" and not doc.get("_deleted"):
            device.verify_server_document(doc)
            seen[str(doc["_id"])] = doc
    return seen
