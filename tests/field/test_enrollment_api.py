"""Enrollment, keys, the admin API and its CLI, the catalog and the published schemas, as
ARCHITECTURE ("Enrollment", "Signed documents", "Documents in /sync/field") fixes them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator
from sqlmodel import Session

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.field_app_api.keys import sealing_key
from fieldhall.schemas import DOCUMENT_TYPES
from fieldhall.schemas.keys import b64url_decode, b64url_encode, public_key_raw
from fieldhall.schemas.signatures import verify_document
from tests.field.support import (
    FieldHall,
    add_staff,
    attach,
    bulk,
    field_hall,
    new_case,
    replicated,
)
from tests.field_fixtures import FIELDHALL

B64URL_32 = re.compile(r"^[A-Za-z0-9_-]{43}$")
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
REPLY_FIELDS = {
    "device_id", "agent_id", "grid_id", "station_id", "token", "sync_url",
    "server_signing_key", "server_key_id", "hall_encryption_key",
}  # fmt: skip


def _key() -> str:
    return b64url_encode(public_key_raw(Ed25519PrivateKey.generate()))


def _enroll(hall: FieldHall, code: str, public_key: Any = None, **extra: Any) -> httpx.Response:
    body = {"code": code, "public_key": _key() if public_key is None else public_key, **extra}
    return httpx.post(hall.url + "/api/v1/devices/enroll", json=body, timeout=30.0)


def _raw32(text: str) -> bytes:
    assert B64URL_32.match(text), text
    raw = b64url_decode(text)
    assert len(raw) == 32
    return raw


def _keys(hall: FieldHall) -> list[dict[str, Any]]:
    response = httpx.get(hall.url + "/api/v1/keys", timeout=30.0)  # public: no credentials
    assert response.status_code == 200
    keys: list[dict[str, Any]] = response.json()["keys"]
    return keys


# ---------------------------------------------------------------------- the enrollment reply


def test_the_enrollment_reply_is_exactly_the_contract(hall: FieldHall) -> None:
    agent = hall.add_agent("孙丽", grid="grid-e")
    response = _enroll(hall, agent["enrollment_code"], name="孙丽的手机")
    assert response.status_code == 201, response.text
    reply = response.json()
    assert set(reply) == REPLY_FIELDS
    assert reply["agent_id"] == agent["agent_id"]
    assert reply["grid_id"] == "grid-e" and reply["station_id"] is None
    assert isinstance(reply["device_id"], str) and reply["device_id"]
    assert isinstance(reply["token"], str) and len(reply["token"]) >= 43  # 256 random bits

    signing = _raw32(reply["server_signing_key"])
    assert reply["server_key_id"] == hashlib.sha256(signing).hexdigest()[:16]
    current = [k for k in _keys(hall) if k["valid_until"] is None]
    assert [(k["key_id"], k["public_key"]) for k in current] == [
        (reply["server_key_id"], reply["server_signing_key"])
    ]
    _raw32(reply["hall_encryption_key"])
    with Session(hall.store.db.engine) as session:
        assert sealing_key(session)[0] == reply["hall_encryption_key"]

    assert reply["sync_url"] == hall.url + "/sync/field"
    assert reply["sync_url"].startswith("http://") and not reply["sync_url"].endswith("/")
    info = httpx.get(
        reply["sync_url"], headers={"Authorization": f"Bearer {reply['token']}"}, timeout=30.0
    )
    assert info.status_code == 200 and info.json()["db_name"] == "field"

    again = _enroll(hall, agent["enrollment_code"])
    assert again.status_code == 403 and again.json()["error"] == "enroll.code_spent"


def test_a_station_device_is_enrolled_for_its_station(hall: FieldHall) -> None:
    agent = hall.add_agent("周站长", grid=None, station="station-east")
    reply = _enroll(hall, agent["enrollment_code"]).json()
    assert reply["station_id"] == "station-east" and reply["grid_id"] is None
    me = httpx.get(
        hall.url + "/api/v1/devices/me",
        headers={"Authorization": f"Bearer {reply['token']}"},
        timeout=30.0,
    ).json()
    assert me["device_id"] == reply["device_id"] and me["station_id"] == "station-east"


def _non_canonical(key: str) -> str:
    """The same 32 bytes with a non-zero trailing bit: decodes, but is not their encoding."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return key[:-1] + alphabet[alphabet.index(key[-1]) ^ 1]


@pytest.mark.parametrize(
    "public_key",
    [
        _key() + "=",
        b64url_encode(b"\x01" * 31),
        b64url_encode(b"\x01" * 33),
        _non_canonical(_key()),
        _key()[:-1] + "!",
        "",
        12345,
    ],
    ids=["padded", "31_bytes", "33_bytes", "non_canonical", "bad_alphabet", "empty", "number"],
)
def test_a_bad_public_key_is_refused_and_the_code_stays_good(
    hall: FieldHall, public_key: Any
) -> None:
    agent = hall.add_agent("吴芳", grid="grid-e")
    refused = _enroll(hall, agent["enrollment_code"], public_key=public_key)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] in ("enroll.bad_public_key", "enroll.bad_request")
    assert _enroll(hall, agent["enrollment_code"]).status_code == 201


# ---------------------------------------------------------------------- keys and rotation


def _receipt_for(hall: FieldHall, doc_id: str) -> dict[str, Any]:
    [receipt] = hall.receipts_for(doc_id)
    return receipt


def _verify(receipt: dict[str, Any], keys: list[dict[str, Any]]) -> str:
    """Verify with the listed key the receipt names; returns that key id."""
    key_id = str(receipt["signature"]["kid"]).removeprefix("server:")
    [key] = [k for k in keys if k["key_id"] == key_id]
    verify_document(receipt, b64url_decode(key["public_key"]))
    return key_id


def test_keys_rotate_and_old_receipts_still_verify(hall: FieldHall) -> None:
    device = hall.enroll("郑强", grid="grid-f")
    before, before_files = new_case(device, 1)
    assert bulk(device, [attach(before, before_files)])[0]["ok"]
    old_receipt = _receipt_for(hall, before["_id"])
    old_key = _verify(old_receipt, _keys(hall))

    rotated = hall.cli("keys", "rotate")
    assert rotated["key_id"] != old_key and rotated["valid_until"] is None

    keys = _keys(hall)
    assert {k["key_id"] for k in keys} >= {old_key, str(rotated["key_id"])}
    for key in keys:
        assert set(key) == {"key_id", "public_key", "valid_from", "valid_until"}
        assert key["key_id"] == hashlib.sha256(_raw32(key["public_key"])).hexdigest()[:16]
    by_id = {k["key_id"]: k for k in keys}
    assert by_id[old_key]["valid_until"] is not None
    assert by_id[rotated["key_id"]]["valid_until"] is None
    assert [k["key_id"] for k in keys if k["valid_until"] is None] == [rotated["key_id"]]

    assert _verify(old_receipt, keys) == old_key  # signed before the rotation, still good
    after, after_files = new_case(device, 2)
    assert bulk(device, [attach(after, after_files)])[0]["ok"]
    new_receipt = _receipt_for(hall, after["_id"])
    assert _verify(new_receipt, keys) == rotated["key_id"]

    agent = hall.add_agent("冯雪", grid="grid-f")
    assert _enroll(hall, agent["enrollment_code"]).json()["server_key_id"] == rotated["key_id"]


def test_receipts_signed_ahead_take_the_key_rotated_by_another_process(hall: FieldHall) -> None:
    """A replicated batch's receipts are signed before its write, with the signing key read as
    the batch arrives: a rotation by the CLI, another process, holds from the next batch on."""
    app = hall.hall.app
    assert app is not None
    receipts = app.state.hall.receipts
    device = hall.enroll("卫东", grid="grid-f")
    used = receipts.presigned_used
    [current] = [k["key_id"] for k in _keys(hall) if k["valid_until"] is None]
    before = new_case(device, 4)
    assert bulk(device, replicated([before]), new_edits=False) == []  # no error
    rotated = hall.cli("keys", "rotate")["key_id"]
    after = new_case(device, 5)
    assert bulk(device, replicated([after]), new_edits=False) == []

    assert receipts.presigned_used == used + 2
    keys = _keys(hall)
    assert _verify(_receipt_for(hall, before[0]["_id"]), keys) == current
    assert _verify(_receipt_for(hall, after[0]["_id"]), keys) == rotated != current


def test_a_receipt_has_the_contract_shape(hall: FieldHall) -> None:
    device = hall.enroll("陈晨", grid="grid-f")
    case, files = new_case(device, 3)
    [result] = bulk(device, [attach(case, files)])
    receipt = _receipt_for(hall, case["_id"])
    schema = httpx.get(hall.url + "/api/v1/schemas/receipt", timeout=30.0).json()
    Draft202012Validator(schema).validate(receipt)
    assert receipt["agent_id"] == device.state.agent_id
    assert receipt["device_id"] == device.state.device_id
    assert receipt["case_id"] == case["_id"]
    assert receipt["for"]["id"] == case["_id"] and receipt["for"]["rev"] == result["rev"]
    assert receipt["attachments"] == {m.name: m.sha256 for m in files}
    assert re.match(r"^receipt:[0-7][0-9A-HJKMNP-TV-Z]{25}$", receipt["_id"])
    assert receipt["signature"]["kid"].startswith("server:")
    pulled, _ = device.pull()
    assert receipt["_id"] in {d["_id"] for d in pulled}  # in the agent's channel


# ---------------------------------------------------------------------- the admin API


ADMIN_ENDPOINTS = [
    ("GET", "/api/v1/admin/agents", None),
    ("POST", "/api/v1/admin/agents", {"name": "无权之人", "grid_id": "grid-x"}),
    ("POST", "/api/v1/admin/agents/agent-nobody/codes", None),
    ("GET", "/api/v1/admin/grids", None),
    ("POST", "/api/v1/admin/grids", {"id": "grid-x"}),
    ("GET", "/api/v1/admin/stations", None),
    ("POST", "/api/v1/admin/stations", {"id": "station-x"}),
    ("GET", "/api/v1/admin/devices", None),
    ("POST", "/api/v1/admin/devices/dev-nobody/revoke", None),
]


def _call(client: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    return (
        client.request(method, path, json=body)
        if body is not None
        else client.request(method, path)
    )


def test_the_admin_api_needs_a_staff_admin(hall: FieldHall) -> None:
    add_staff(hall.database_url, "chelsea", "chelsea-password", "clerk")
    device = hall.enroll("无关设备", grid="grid-g")
    callers = {
        "nobody": {},
        "device": {"headers": {"Authorization": f"Bearer {device.state.token}"}},
        "clerk": {"auth": ("chelsea", "chelsea-password")},
    }
    for who, options in callers.items():
        with httpx.Client(base_url=hall.url, timeout=30.0, **options) as client:  # type: ignore[arg-type]
            for method, path, body in ADMIN_ENDPOINTS:
                response = _call(client, method, path, body)
                expected = (
                    (403, "staff.forbidden") if who == "clerk" else (401, "staff.unauthorized")
                )
                assert (response.status_code, response.json()["error"]) == expected, (who, path)
                if response.status_code == 401:
                    assert response.headers["www-authenticate"].startswith("Basic")
    with httpx.Client(base_url=hall.url, timeout=30.0, auth=("chelsea", "wrong-password")) as c:
        response = c.get("/api/v1/admin/agents")
        assert (response.status_code, response.json()["error"]) == (401, "staff.unauthorized")
    with hall.admin() as admin:
        assert admin.get("/api/v1/admin/grids").status_code == 200
        names = [a["name"] for a in admin.get("/api/v1/admin/agents").json()]
        assert "无权之人" not in names  # none of the refused requests did anything
        assert "grid-x" not in [g["id"] for g in admin.get("/api/v1/admin/grids").json()]
        listed = admin.get("/api/v1/admin/devices").json()
        assert all(
            d["revoked_at"] is None for d in listed if d["device_id"] == device.state.device_id
        )


def test_the_admin_api_manages_agents_codes_and_devices(hall: FieldHall) -> None:
    with hall.admin() as admin:
        assert (
            admin.post("/api/v1/admin/grids", json={"id": "grid-h", "name": "南环社区"}).status_code
            == 201
        )
        assert admin.post("/api/v1/admin/stations", json={"id": "station-h"}).status_code == 201
        assert {"id": "grid-h", "name": "南环社区"} in admin.get("/api/v1/admin/grids").json()
        created = admin.post("/api/v1/admin/agents", json={"name": "何平", "grid_id": "grid-h"})
        assert created.status_code == 201
        agent = created.json()
        assert CODE.match(agent["enrollment_code"])
        assert agent["enrollment_uri"].startswith("fieldhall://enroll?server=")
        fresh = admin.post(f"/api/v1/admin/agents/{agent['agent_id']}/codes").json()
        assert fresh["agent_id"] == agent["agent_id"] and CODE.match(fresh["enrollment_code"])
        device = DeviceClient.enroll(hall.url, fresh["enrollment_code"], name="何平的手机")
        devices = admin.get("/api/v1/admin/devices").json()
        mine = [d for d in devices if d["device_id"] == device.state.device_id]
        assert mine and mine[0]["agent_id"] == agent["agent_id"] and mine[0]["revoked_at"] is None
        missing = admin.post("/api/v1/admin/agents/agent-nobody/codes")
        assert 400 <= missing.status_code < 500 and missing.json()["error"] == "agent.not_found"
        bad = admin.post("/api/v1/admin/agents", json={"grid_id": "grid-h"})
        assert bad.status_code == 400 and bad.json()["error"]


# ---------------------------------------------------------------------- the CLI


def _cli(data_dir: Path, *args: str) -> dict[str, Any]:
    """A ``fieldhall`` command with --json: its stdout must be exactly one JSON object."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDHALL_")}
    result = subprocess.run(
        [FIELDHALL, *args, "--json", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parsed, end = json.JSONDecoder().raw_decode(result.stdout)
    assert result.stdout[end:].strip() == "", result.stdout
    assert isinstance(parsed, dict)
    return parsed


def test_the_cli_adds_agents_and_manages_devices_without_a_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"  # not even created yet
    added = _cli(data_dir, "agents", "add", "--name", "钱进", "--grid", "grid-cli")
    assert set(added) == {"agent_id", "grid_id", "enrollment_code", "expires_at"}
    assert added["grid_id"] == "grid-cli" and CODE.match(added["enrollment_code"])
    expires = datetime.fromisoformat(added["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=71) < expires - datetime.now(UTC) <= timedelta(hours=72)

    station = _cli(data_dir, "agents", "add", "--name", "站务", "--station", "station-cli")
    assert {"agent_id", "grid_id", "enrollment_code", "expires_at"} <= set(station)
    assert station["grid_id"] is None

    code = _cli(data_dir, "agents", "code", added["agent_id"])
    assert code["agent_id"] == added["agent_id"]
    assert code["enrollment_code"] != added["enrollment_code"]
    failed = subprocess.run(
        [FIELDHALL, "agents", "code", "agent-nobody", "--json", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert failed.returncode != 0 and "agent.not_found" in failed.stderr

    assert _cli(data_dir, "devices", "list") == {"devices": []}
    with field_hall(data_dir) as hall:
        device = DeviceClient.enroll(hall.url, code["enrollment_code"], name="钱进的手机")
        listed = _cli(data_dir, "devices", "list")["devices"]
        assert [(d["device_id"], d["agent_id"], d["revoked_at"]) for d in listed] == [
            (device.state.device_id, added["agent_id"], None)
        ]
        assert set(listed[0]) == {"device_id", "agent_id", "name", "enrolled_at", "revoked_at"}
        revoked = _cli(data_dir, "devices", "revoke", device.state.device_id)
        assert revoked["device_id"] == device.state.device_id and revoked["revoked_at"]
        me = httpx.get(
            hall.url + "/api/v1/devices/me",
            headers={"Authorization": f"Bearer {device.state.token}"},
            timeout=30.0,
        )
        assert me.status_code == 401 and me.json()["error"] == "unauthorized"
        assert (
            _cli(data_dir, "devices", "list")["devices"][0]["revoked_at"] == revoked["revoked_at"]
        )


# ---------------------------------------------------------------------- catalog and schemas


def test_the_catalog_is_public_by_version(hall: FieldHall) -> None:
    with httpx.Client(base_url=hall.url, timeout=30.0) as client:
        latest = client.get("/api/v1/catalog")
        assert latest.status_code == 200
        assert latest.headers["content-type"].startswith("application/json")
        assert latest.json()["version"] == "2026.1"
        assert len(latest.json()["matters"]) >= 12
        older = client.get("/api/v1/catalog", params={"version": "2025.2"}).json()
        assert older["version"] == "2025.2"
        assert older != latest.json()
        unknown = client.get("/api/v1/catalog", params={"version": "1999.9"})
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/json")
        assert unknown.json()["error"] == "catalog.not_found"


def _refs(schema: Any) -> list[str]:
    found: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                found.append(node["$ref"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _resolve(schema: dict[str, Any], ref: str) -> Any:
    node: Any = schema
    for token in ref.removeprefix("#/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.mark.parametrize("doc_type", sorted(DOCUMENT_TYPES))
def test_every_document_type_has_a_self_contained_schema(hall: FieldHall, doc_type: str) -> None:
    response = httpx.get(f"{hall.url}/api/v1/schemas/{doc_type}", timeout=30.0)
    assert response.status_code == 200
    schema = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    for ref in _refs(schema):
        assert ref.startswith("#/"), f"remote $ref {ref}"
        _resolve(schema, ref)
    assert schema["properties"]["type"] == {"const": doc_type}


def test_the_schemas_are_the_eight_types_and_a_case_validates(
    hall: FieldHall, bob: DeviceClient
) -> None:
    assert set(DOCUMENT_TYPES) == {
        "case", "supplement", "delivery", "visit_update", "case_event", "visit_request", "receipt",
        "station_event",
    }  # fmt: skip
    unknown = httpx.get(hall.url + "/api/v1/schemas/banana", timeout=30.0)
    assert unknown.status_code == 404 and unknown.json()["error"] == "schema.not_found"
    case, files = new_case(bob, 77)
    schema = httpx.get(hall.url + "/api/v1/schemas/case", timeout=30.0).json()
    Draft202012Validator(schema).validate(attach(case, files))


def test_the_sync_catalog_is_the_catalog_for_devices(hall: FieldHall, bob: DeviceClient) -> None:
    headers = {"Authorization": f"Bearer {bob.state.token}"}
    with httpx.Client(base_url=hall.url, headers=headers, timeout=30.0) as client:
        rows = client.get("/sync/catalog/_all_docs", params={"include_docs": "true"}).json()["rows"]
        assert {r["id"] for r in rows} == {"catalog:2025.2", "catalog:2026.1"}
        for row in rows:
            version = row["id"].removeprefix("catalog:")
            published = client.get("/api/v1/catalog", params={"version": version}).json()
            doc = {k: v for k, v in row["doc"].items() if k not in ("_id", "_rev")}
            assert doc == published
        feed = client.get("/sync/catalog/_changes").json()
        assert {r["id"] for r in feed["results"]} == {"catalog:2025.2", "catalog:2026.1"}
        field_ids = {r["id"] for r in client.get("/sync/field/_all_docs").json()["rows"]}
        assert not any(i.startswith("catalog:") for i in field_ids)
