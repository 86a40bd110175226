"""``fieldhall device …`` offline: queueing a case from files, the status, and the one JSON
object that ``--json`` prints, errors included (the online commands are in
``tests/integration/test_device_client.py``)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldhall.field_app_api.client import DeviceClient, DeviceState
from fieldhall.schemas import encode_key
from fieldhall.schemas.sealing import open_document_fields
from fieldhall.server.device_cmd import device
from tests.field_fixtures import jpeg, png

APPLICANT = {"name": "张桂兰", "id_number": "610902194501010023", "phone": "13800000000"}
FORM = {
    "birth_date": "1945-01-01",
    "household_type": "本地户籍",
    "residence_address": "南环社区3号楼",
}


@pytest.fixture
def hall_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture
def folder(tmp_path: Path, hall_key: X25519PrivateKey, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bob's working folder: an enrolled device's state file and the files of one case."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIELDHALL_DEVICE_STATE", raising=False)
    signing = encode_key(Ed25519PrivateKey.generate().public_key())
    DeviceState(
        server="http://hall.invalid",
        device_id="dev-bob-phone",
        agent_id="agent-bob",
        grid_id="grid-a",
        station_id=None,
        token="bob-token",
        private_key=encode_key(Ed25519PrivateKey.generate()),
        sync_url="http://hall.invalid/sync/field",
        server_signing_key=signing,
        server_key_id="0123456789abcdef",
        hall_encryption_key=encode_key(hall_key.public_key()),
        server_keys={"0123456789abcdef": signing},
    ).save(tmp_path / "fieldhall-device.json")
    (tmp_path / "applicant.json").write_text(json.dumps(APPLICANT, ensure_ascii=False))
    (tmp_path / "form.json").write_text(json.dumps(FORM, ensure_ascii=False))
    (tmp_path / "IMG_0001.JPG").write_bytes(jpeg(1))
    (tmp_path / "IMG_0002.JPG").write_bytes(jpeg(2))
    (tmp_path / "signature.png").write_bytes(png(1))
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(device, list(args), catch_exceptions=False)


def one_object(result: Result) -> dict[str, Any]:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    parsed: dict[str, Any] = json.loads(lines[0])
    return parsed


CASE = [
    "case",
    "--matter",
    "senior_citizen_card",
    "--applicant-json",
    "applicant.json",
    "--form-json",
    "form.json",
    "--photo",
    "id_card=IMG_0001.JPG",
    "--photo",
    "id_card=IMG_0002.JPG",
    "--consent",
    "signature.png",
]


def test_case_queues_a_sealed_signed_case_with_its_files(
    folder: Path, hall_key: X25519PrivateKey
) -> None:
    result = run(*CASE, "--location", "32.68,109.03,15", "--json")
    assert result.exit_code == 0, result.output
    queued = one_object(result)
    assert queued["ok"] is True and queued["device_seq"] == 1
    assert queued["sealed"] == ["/applicant/id_number", "/applicant/phone"]
    # Names of the device's own, unique per case and free of the camera's file names.
    assert [m["name"] for m in queued["materials"]] == [
        "id_card-1.jpg",
        "id_card-2.jpg",
        "consent_signature-1.png",
    ]
    assert [m["content_type"] for m in queued["materials"]] == ["image/jpeg"] * 2 + ["image/png"]

    status = one_object(run("status", "--json"))
    assert status["device_seq"] == 1 and status["outbox"]["pending"] == 1
    assert [d["id"] for d in status["documents"]] == [queued["id"]]
    assert stat.S_IMODE((folder / "fieldhall-device.json").stat().st_mode) == 0o600

    with DeviceClient.load(folder / "fieldhall-device.json") as bob:
        (stored,) = bob.outbox()
    assert stored.doc["location"] == {"lat": 32.68, "lon": 109.03, "accuracy_m": 15.0}
    assert open_document_fields(stored.doc, hall_key)["applicant"] == APPLICANT


def test_case_refuses_what_the_server_would_and_moves_nothing(folder: Path) -> None:
    (folder / "form.json").write_text("{}")
    result = run(*CASE, "--json")
    assert result.exit_code == 1
    error = one_object(result)
    assert error["ok"] is False and error["error"] == "device.invalid_document"
    assert error["reason"].startswith("schema_invalid: /form/")
    assert one_object(run("status", "--json"))["device_seq"] == 0


def test_a_json_file_with_duplicate_keys_is_a_usage_error(folder: Path) -> None:
    (folder / "applicant.json").write_text('{"name": "a", "name": "b"}')
    result = run(*CASE)
    assert result.exit_code == 2
    assert "duplicate key" in result.output


def test_a_photo_needs_its_material_id(folder: Path) -> None:
    result = run(*CASE[:8], "IMG_0001.JPG", "--consent", "signature.png")
    assert result.exit_code == 2
    assert "MATERIAL_ID=PATH" in result.output


def test_without_a_state_file_each_command_says_to_enroll(tmp_path: Path) -> None:
    for command in ("status", "sync", "verify"):
        result = run(command, "--state", str(tmp_path / "none.json"), "--json")
        assert result.exit_code == 1
        assert one_object(result)["error"] == "device.not_enrolled"
