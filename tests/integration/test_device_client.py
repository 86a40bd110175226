"""The reference device client against a running hall: enroll, queue cases offline, sync
through fieldhall's replicator, verify every receipt; a second sync does nothing; a refused
document is reported with the server's reason; a revoked device cannot sync.

bob (王建国) is a grid agent of grid-a; alice is the hall's admin (``running_hall``).
"""

from __future__ import annotations

import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from fieldhall.field_app_api.client import (
    DeviceClient,
    DocState,
    Material,
    StoredDocument,
    TokenRefused,
)
from fieldhall.schemas import chain_hash
from fieldhall.schemas.sealing import is_sealed
from fieldhall.server.device_cmd import device
from tests.field_fixtures import Hall, jpeg, png, running_hall

APPLICANT = {
    "name": "张桂兰",
    "id_number": "610902194501010023",
    "phone": "13800000000",
    "address": "汉滨区新城街道南环社区3号楼",
}
FORM = {
    "birth_date": "1945-01-01",
    "household_type": "本地户籍",
    "residence_address": "汉滨区新城街道南环社区3号楼2单元",
}


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    with running_hall(tmp_path_factory.mktemp("hall")) as running:
        yield running


def offline(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the device used the network while offline")


def cli(*args: str) -> Result:
    return CliRunner().invoke(device, [*args, "--json"], catch_exceptions=False)


def one_object(result: Result) -> dict[str, Any]:
    (line,) = result.stdout.strip().splitlines()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def enrolled(hall: Hall, tmp_path: Path, name: str = "王建国") -> DeviceClient:
    agent = hall.new_agent(name, "grid-a")
    state = tmp_path / "fieldhall-device.json"
    return DeviceClient.enroll(hall.url, str(agent["enrollment_code"]), name=name, state_path=state)


def large_jpeg() -> bytes:
    """A photo as phones take them: above the replicator's 256 KB threshold, so it travels
    alone as multipart/related instead of inline in _bulk_docs."""
    out = io.BytesIO()
    Image.effect_noise((600, 600), 80).convert("RGB").save(out, "JPEG", quality=95)
    assert out.tell() > 256 * 1024
    return out.getvalue()


def queue(bob: DeviceClient, seed: int, photo: bytes | None = None) -> StoredDocument:
    return bob.queue_case(
        "senior_citizen_card",
        APPLICANT,
        FORM,
        [
            Material(f"id_card-{seed}.jpg", photo or jpeg(seed), "image/jpeg", "id_card"),
            Material(f"photo-{seed}.jpg", jpeg(seed + 1000), "image/jpeg", "photo"),
        ],
        Material(f"consent-{seed}.png", png(seed), "image/png", "consent_signature"),
        location={"lat": 32.68, "lon": 109.03, "accuracy_m": 15},
    )


def hall_view(hall: Hall, path: str = "") -> dict[str, Any]:
    with hall.admin() as admin:
        response = admin.get("/sync/field" + path)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def test_three_cases_queued_offline_sync_with_verified_receipts(
    hall: Hall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = hall.new_agent("王建国", "grid-a")
    state = tmp_path / "fieldhall-device.json"
    code = str(agent["enrollment_code"])
    enroll = ["enroll", "--server", hall.url, "--code", code, "--state", str(state)]
    enrolled_reply = one_object(cli(*enroll, "--name", "王建国的手机"))
    assert enrolled_reply["ok"] is True and enrolled_reply["agent_id"] == agent["agent_id"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600

    with DeviceClient.load(state) as bob:
        with monkeypatch.context() as patch:  # the phone is offline in a village
            patch.setattr(httpx.Client, "send", offline)
            patch.setattr(httpx.AsyncClient, "send", offline)
            queued = [queue(bob, 1), queue(bob, 2, photo=large_jpeg()), queue(bob, 3)]
        assert [q.doc["device_seq"] for q in queued] == [1, 2, 3]

        report = bob.sync()
        assert report.ok, report.to_json()
        assert report.pushed == 3
        assert report.verification.verified == 3 and not report.verification.invalid
        assert [d.doc_id for d in report.documents] == [q.doc_id for q in queued]
        assert all(d.state is DocState.ACKNOWLEDGED for d in report.documents)

        # Every receipt acknowledges exactly what was queued: rev, signed bytes, each file.
        receipts = {r.doc["for"]["id"]: r.doc for r in bob.inbox() if r.doc["type"] == "receipt"}
        for sent in queued:
            receipt = receipts[sent.doc_id]
            bob.check_receipt(receipt, sent)
            assert receipt["for"] == {
                "id": sent.doc_id,
                "rev": sent.rev,
                "sha256": chain_hash(sent.doc),
            }
            assert receipt["attachments"] == sent.attachments

        # The hall holds the cases with the applicant's ID number and phone sealed.
        stored = hall_view(hall, f"/{queued[1].doc_id}")
        assert is_sealed(stored["applicant"]["id_number"])
        assert is_sealed(stored["applicant"]["phone"])
        assert stored["_attachments"]["id_card-2.jpg"]["length"] == len(
            bob.local.attachment(queued[1].attachments["id_card-2.jpg"])
        )

        verified = one_object(cli("verify", "--state", str(state)))
        assert verified["ok"] is True and verified["verified"] == 3
        assert verified["outbox"]["acknowledged"] == 3

        # A second sync has nothing to do: nothing written on either side, no new receipts.
        seq_before = hall_view(hall)["update_seq"]
        again = bob.sync()
        assert (again.pushed, again.pulled, again.catalog_pulled) == (0, 0, 0)
        assert again.documents == ()
        assert hall_view(hall)["update_seq"] == seq_before

    second = one_object(cli("sync", "--state", str(state)))
    assert second["ok"] is True and second["pushed"] == 0 and second["documents"] == []


def test_a_refused_document_is_reported_with_the_servers_reason(hall: Hall, tmp_path: Path) -> None:
    with enrolled(hall, tmp_path) as bob:
        first = queue(bob, 1)
        # A second document at device_seq 1: what a device restored from an old backup does.
        body, files = bob.case_body(
            "senior_citizen_card",
            "2026.1",
            APPLICANT,
            FORM,
            [Material("id_card-9.jpg", jpeg(9), "image/jpeg", "id_card")],
            Material("consent-9.png", png(9), "image/png", "consent_signature"),
        )
        bob.state.device_seq, bob.state.prev_hash = 0, None
        fork = bob.sign(body, advance_chain=False)
        bob.local.add(fork, files)

        report = bob.sync()
        states = {d.doc_id: d for d in report.documents}
        assert states[first.doc_id].state is DocState.ACKNOWLEDGED
        assert states[fork["_id"]].state is DocState.REFUSED
        assert (states[fork["_id"]].reason or "").startswith("chain_fork: ")

        status = one_object(cli("status", "--state", str(bob.state_path)))
        assert status["outbox"] == {
            "acknowledged": 1,
            "pending": 0,
            "refused": 1,
            "receipt_invalid": 0,
        }


def test_a_revoked_device_cannot_sync(hall: Hall, tmp_path: Path) -> None:
    with enrolled(hall, tmp_path) as bob:
        queue(bob, 1)
        assert bob.sync().ok
        waiting = queue(bob, 2)
        with hall.admin() as admin:
            admin.post(f"/api/v1/admin/devices/{bob.state.device_id}/revoke").raise_for_status()

        with pytest.raises(TokenRefused, match="unknown or has been revoked"):
            bob.sync()
        statuses = {s.doc_id: s.state for s in bob.statuses()}
        assert statuses[waiting.doc_id] is DocState.PENDING  # kept, not lost
        assert waiting.doc_id not in json.dumps(hall_view(hall, "/_all_docs"))

        result = cli("sync", "--state", str(bob.state_path))
        assert result.exit_code == 1
        error = one_object(result)
        assert error == {"ok": False, "error": "device.token_refused", "reason": error["reason"]}
        assert "revoked" in error["reason"]
