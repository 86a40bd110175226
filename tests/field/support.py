"""What the field tests share.

* :func:`field_hall` — a running hall (``tests.field_fixtures.running_hall``) plus a staff admin
  whose argon2 hash is cheap to verify (every admin request verifies the password, and the
  default parameters cost ~0.2 s), and a second handle on the hall's database: reads as the
  hall itself, the ground truth that devices' views are compared with.
* Device-side helpers: build and sign documents with or without moving the device's chain,
  forge (re-sign with changes), push through ``_bulk_docs`` or ``PUT``, read refusal codes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlmodel import Session
from ulid import ULID

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.tables import StaffAccount
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.signatures import rfc3339_utc, sign_document
from fieldhall.server.settings import Settings
from fieldhall.sync.blobs import BlobStore
from fieldhall.sync.connection import Database, create_store_engine
from fieldhall.sync.store import DocState, Store
from tests.field_fixtures import CATALOG_VERSION, Hall, jpeg, png, running_hall

__all__ = [
    "FAST_ADMIN",
    "FieldHall",
    "add_staff",
    "attach",
    "bulk",
    "case_body",
    "field_hall",
    "forge",
    "new_case",
    "put",
    "refusal",
    "sync_client",
]

FIELD = "field"
FAST_ADMIN = ("root", "root-admin-password")
# The minimum argon2id cost: the server verifies with the parameters stored in the hash.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def add_staff(database_url: str, username: str, password: str, role: str) -> None:
    """A staff account written straight into the hall's database, with a cheap hash."""
    engine = create_store_engine(database_url)
    try:
        with Session(engine) as session:
            session.add(
                StaffAccount(
                    username=username,
                    password_hash=_CHEAP.hash(password),
                    role=role,
                    display_name=username,
                    created_at=datetime.now(UTC),
                )
            )
            session.commit()
    finally:
        engine.dispose()


@dataclass
class FieldHall:
    hall: Hall
    database_url: str
    store: Store  # the hall's database, read as the hall (admin): the ground truth

    @property
    def url(self) -> str:
        return self.hall.url

    @property
    def data_dir(self) -> Path:
        return self.hall.data_dir

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=FAST_ADMIN, timeout=60.0)

    def cli(self, *args: str) -> dict[str, object]:
        return self.hall.cli(*args)

    def add_agent(
        self, name: str, grid: str | None = "grid-a", station: str | None = None
    ) -> dict[str, Any]:
        with self.admin() as client:
            response = client.post(
                "/api/v1/admin/agents", json={"name": name, "grid_id": grid, "station_id": station}
            )
        assert response.status_code == 201, response.text
        agent: dict[str, Any] = response.json()
        return agent

    def new_code(self, agent_id: str) -> str:
        with self.admin() as client:
            response = client.post(f"/api/v1/admin/agents/{agent_id}/codes")
        assert response.status_code == 201, response.text
        return str(response.json()["enrollment_code"])

    def enroll(
        self, name: str, grid: str | None = "grid-a", station: str | None = None
    ) -> DeviceClient:
        agent = self.add_agent(name, grid, station)
        return DeviceClient.enroll(self.url, str(agent["enrollment_code"]), name=name)

    def enroll_again(self, agent_id: str, name: str) -> DeviceClient:
        """A second device of an agent that already has one."""
        return DeviceClient.enroll(self.url, self.new_code(agent_id), name=name)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the hall has digested every write: its projector has read the whole
        feed and published the case events it decided (they arrive in the background)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            while True:
                health = client.get("/health").json()
                if health["projector"]["lag"] == 0 and health["unpublished_events"] == 0:
                    return
                assert time.monotonic() < deadline, f"the hall did not settle: {health}"
                time.sleep(0.005)

    # ------------------------------------------------------------------ ground truth

    def state(self, doc_id: str) -> DocState | None:
        return self.store.documents(FIELD, [doc_id]).get(doc_id)

    def doc(self, doc_id: str) -> dict[str, Any] | None:
        state = self.state(doc_id)
        if state is None:
            return None
        record = self.store.revisions(FIELD, [(doc_id, state.winner)])[(doc_id, state.winner)]
        return {"_id": doc_id, "_rev": state.winner, **record.body}

    def states(self, since: int = 0) -> list[DocState]:
        """Every document changed after ``since``, once the hall has settled."""
        self.settle()
        states, _ = self.store.changes(FIELD, since=since, limit=None)
        return states

    def bodies(self, states: Sequence[DocState]) -> dict[str, dict[str, Any]]:
        records = self.store.revisions(FIELD, [(s.doc_id, s.winner) for s in states])
        return {
            s.doc_id: {"_id": s.doc_id, "_rev": s.winner, **records[(s.doc_id, s.winner)].body}
            for s in states
        }

    def receipts_for(self, doc_id: str) -> list[dict[str, Any]]:
        receipts = [s for s in self.states() if s.doc_id.startswith("receipt:")]
        return [r for r in self.bodies(receipts).values() if r["for"]["id"] == doc_id]

    def chain(self, device_id: str) -> dict[int, str]:
        """The device's hash chain as the hall keeps it: device_seq -> doc id."""
        with self.store.db.read() as conn:
            rows = conn.execute(
                text("SELECT device_seq, doc_id FROM field_chain_entry WHERE device_id = :device"),
                {"device": device_id},
            )
            return {int(row.device_seq): str(row.doc_id) for row in rows}

    def assert_nothing_stored(self, *doc_ids: str, device: DeviceClient | None = None) -> None:
        """Not stored, not in any feed, no receipt — as the hall sees it and over HTTP."""
        everything = self.states()
        ids = {s.doc_id for s in everything}
        for doc_id in doc_ids:
            assert doc_id not in ids, f"{doc_id} was stored"
            assert self.receipts_for(doc_id) == [], f"a receipt was written for {doc_id}"
        if device is not None:
            assert all(d not in self.chain(device.state.device_id).values() for d in doc_ids)
        with self.admin() as client:
            for doc_id in doc_ids:
                got = client.get(f"/sync/field/{doc_id}")
                assert got.status_code == 404, got.text
                assert got.json() == {"error": "not_found", "reason": "missing"}
            listed = client.post("/sync/field/_all_docs", json={"keys": list(doc_ids)}).json()
            assert all(row.get("error") == "not_found" for row in listed["rows"]), listed
            feed = client.get("/sync/field/_changes").json()
            assert not set(doc_ids) & {row["id"] for row in feed["results"]}


@contextmanager
def field_hall(data_dir: Path, database_url: str | None = None) -> Iterator[FieldHall]:
    with running_hall(data_dir, database_url) as hall:
        url = database_url or Settings.from_env(data_dir=hall.data_dir).database_url
        add_staff(url, *FAST_ADMIN, role="admin")
        engine = create_store_engine(url)
        store = Store(Database(engine), BlobStore(hall.data_dir / "blobs"))
        try:
            yield FieldHall(hall, url, store)
        finally:
            engine.dispose()


# ---------------------------------------------------------------------- device side


def sync_client(device: DeviceClient) -> httpx.Client:
    """An HTTP client on the device's ``sync_url`` with its bearer token."""
    return httpx.Client(
        base_url=device.state.sync_url,
        headers={"Authorization": f"Bearer {device.state.token}"},
        timeout=60.0,
    )


def signing_key(device: DeviceClient) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64url_decode(device.state.private_key))


def case_body(
    device: DeviceClient,
    seed: int,
    *,
    matter: str = "senior_citizen_card",
    version: str = CATALOG_VERSION,
    photos: int = 2,
    size: tuple[int, int] = (64, 48),
) -> tuple[dict[str, Any], list[Material]]:
    """An unsigned 老年人优待证 case (valid for ``matter`` only when it is that one)."""
    material_ids = ["id_card", "photo", "residence_permit"]
    files = [
        Material(f"p{i}_{seed}.jpg", jpeg(seed * 10 + i, size), "image/jpeg", material_ids[i % 3])
        for i in range(photos)
    ]
    consent = Material(f"consent_{seed}.png", png(seed % 7 + 1), "image/png", "consent_signature")
    files.append(consent)
    now = rfc3339_utc(datetime.now(UTC))
    body = {
        "_id": f"case:{ULID()}",
        "type": "case",
        "matter": {"id": matter, "catalog_version": version},
        "channel": "home_visit",
        "grid_id": device.state.grid_id,
        "station_id": device.state.station_id,
        "request_id": None,
        "applicant": {
            "name": "张桂兰",
            "id_number": "610902194501010023",
            "phone": "13800000000",
            "address": "汉滨区新城街道南环社区3号楼",
        },
        "form": {
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": "汉滨区新城街道南环社区3号楼2单元",
        },
        "materials": [m.manifest() for m in files],
        "consent": {"attachment": consent.name, "signed_at": now},
        "location": {"lat": 32.68, "lon": 109.03, "accuracy_m": 15},
    }
    return body, files


def new_case(
    device: DeviceClient, seed: int, *, advance: bool = True, **options: Any
) -> tuple[dict[str, Any], list[Material]]:
    """A signed case; ``advance=False`` leaves the device's chain head where it was."""
    body, files = case_body(device, seed, **options)
    return device.sign(body, advance_chain=advance), files


def forge(device: DeviceClient, doc: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """``doc`` with ``changes``, signed again by ``device`` (a valid signature over them)."""
    body = {k: copy.deepcopy(v) for k, v in doc.items() if k != "signature"}
    body.update(changes)
    return sign_document(body, signing_key(device), device.state.device_id, datetime.now(UTC))


def attach(doc: Mapping[str, Any], files: Sequence[Material]) -> dict[str, Any]:
    return DeviceClient.with_attachments(doc, files)


def replicated(cases: Sequence[tuple[dict[str, Any], Sequence[Material]]]) -> list[dict[str, Any]]:
    """The cases as a replicator sends them: files inline, each with its revision."""
    docs = []
    for n, (case, files) in enumerate(cases):
        rev = f"1-{n:032x}"
        docs.append(
            {**attach(case, files), "_rev": rev, "_revisions": {"start": 1, "ids": [rev[2:]]}}
        )
    return docs


def inline(data: bytes, content_type: str) -> dict[str, str]:
    return {"content_type": content_type, "data": base64.b64encode(data).decode()}


def bulk(
    device: DeviceClient, docs: Sequence[Mapping[str, Any]], *, new_edits: bool = True
) -> list[dict[str, Any]]:
    with sync_client(device) as client:
        response = client.post("/_bulk_docs", json={"docs": list(docs), "new_edits": new_edits})
    assert response.status_code == 201, response.text
    results: list[dict[str, Any]] = response.json()
    return results


def put(device: DeviceClient, doc: Mapping[str, Any], **params: str) -> httpx.Response:
    with sync_client(device) as client:
        return client.put(f"/{doc['_id']}", json=dict(doc), params=params)


def refusal(result: Mapping[str, Any]) -> str:
    """The stable code of a ``forbidden`` result (``"<code>: <detail>"``)."""
    assert result.get("error") == "forbidden", result
    return str(result["reason"]).split(":", 1)[0]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
