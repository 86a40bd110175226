"""The reference device client, offline: its state file, its hash chain, its manifests, the
sealing of the applicant's fields, the outbox, and how it judges receipts.

bob is a grid agent of grid-a; his phone is enrolled (by hand here: no server), the hall's
keys are made up by the test, so the test can open what the device sealed and sign receipts.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldhall.field_app_api.client import (
    AlreadyEnrolled,
    DeviceClient,
    DeviceState,
    DocState,
    InvalidDocument,
    Material,
    NotEnrolled,
    StoredDocument,
)
from fieldhall.field_app_api.client.materials import check_files, sniff_content_type
from fieldhall.field_app_api.client.state import data_dir_for
from fieldhall.field_app_api.client.verification import judge_outbox
from fieldhall.field_app_api.receipts import build_receipt
from fieldhall.schemas import chain_hash, encode_key, key_id, verify_document
from fieldhall.schemas.errors import SealInvalid
from fieldhall.schemas.keys import decode_key, public_key_raw
from fieldhall.schemas.sealing import SEAL_ALG, open_document_fields, open_field
from fieldhall.schemas.signatures import sign_document
from tests.field_fixtures import jpeg, png

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


@dataclass
class Hall:
    """The hall's keys, made up for the test: what the server would hold."""

    sealing: X25519PrivateKey
    signing: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(public_key_raw(self.signing))

    def receipt(self, doc: dict[str, Any], rev: str, files: dict[str, str]) -> dict[str, Any]:
        stored = {**doc, "_attachments": {name: {"sha256": h} for name, h in files.items()}}
        when = "2026-01-05T08:30:00.000Z"
        return sign_document(
            build_receipt(stored, rev, when), self.signing, f"server:{self.key_id}", when
        )


@pytest.fixture
def hall() -> Hall:
    return Hall(X25519PrivateKey.generate(), Ed25519PrivateKey.generate())


def enrolled_state(hall: Hall) -> DeviceState:
    server_public = encode_key(hall.signing.public_key())
    return DeviceState(
        server="http://hall.invalid",
        device_id="dev-bob-phone",
        agent_id="agent-bob",
        grid_id="grid-a",
        station_id=None,
        token="bob-token",
        private_key=encode_key(Ed25519PrivateKey.generate()),
        sync_url="http://hall.invalid/sync/field",
        server_signing_key=server_public,
        server_key_id=hall.key_id,
        hall_encryption_key=encode_key(hall.sealing.public_key()),
        server_keys={hall.key_id: server_public},
        name="bob's phone",
    )


@pytest.fixture
def state_path(tmp_path: Path, hall: Hall) -> Path:
    path = tmp_path / "fieldhall-device.json"
    enrolled_state(hall).save(path)
    return path


@pytest.fixture
def bob(state_path: Path) -> Iterator[DeviceClient]:
    with DeviceClient.load(state_path) as device:
        yield device


def _public_of(device: DeviceClient) -> bytes:
    private = Ed25519PrivateKey.from_private_bytes(decode_key(device.state.private_key))
    return public_key_raw(private)


def materials(seed: int) -> tuple[list[Material], Material]:
    return (
        [
            Material(f"id_card-{seed}.jpg", jpeg(seed), "image/jpeg", "id_card"),
            Material(f"photo-{seed}.jpg", jpeg(seed + 1000), "image/jpeg", "photo"),
        ],
        Material(f"consent-{seed}.png", png(seed), "image/png", "consent_signature"),
    )


def queue(device: DeviceClient, seed: int = 1, **options: Any) -> Any:
    photos, consent = materials(seed)
    return device.queue_case("senior_citizen_card", APPLICANT, FORM, photos, consent, **options)


# ---------------------------------------------------------------------- the state file


def test_the_state_file_is_0600_whatever_the_umask(tmp_path: Path, hall: Hall) -> None:
    path = tmp_path / "device.json"
    old = os.umask(0)
    try:
        enrolled_state(hall).save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.with_suffix(".tmp").exists()


def test_a_state_file_others_can_read_is_refused(state_path: Path) -> None:
    state_path.chmod(0o644)
    with pytest.raises(NotEnrolled, match="chmod 600"):
        DeviceClient.load(state_path)


def test_a_missing_state_file_says_to_enroll(tmp_path: Path) -> None:
    with pytest.raises(NotEnrolled, match="enroll first"):
        DeviceClient.load(tmp_path / "nobody.json")


def test_the_outbox_directory_is_0700(bob: DeviceClient) -> None:
    queue(bob)
    assert bob.data_dir is not None
    assert stat.S_IMODE(bob.data_dir.stat().st_mode) == 0o700


def test_enrolling_never_overwrites_a_device(state_path: Path) -> None:
    # Refused before any request: the code is not spent.
    with pytest.raises(AlreadyEnrolled):
        DeviceClient.enroll("http://hall.invalid", "CODE", state_path=state_path)
    state_path.rename(state_path.with_name("elsewhere.json"))
    data_dir_for(state_path).mkdir()
    with pytest.raises(AlreadyEnrolled, match=r"fieldhall-device\.data"):
        DeviceClient.enroll("http://hall.invalid", "CODE", state_path=state_path)


# ---------------------------------------------------------------------- the hash chain


def test_the_chain_advances_and_persists_across_a_reload(
    bob: DeviceClient, state_path: Path
) -> None:
    first = queue(bob, 1).doc
    second = queue(bob, 2).doc
    assert (first["device_seq"], first["prev_hash"]) == (1, None)
    assert (second["device_seq"], second["prev_hash"]) == (2, chain_hash(first))

    with DeviceClient.load(state_path) as again:
        assert (again.state.device_seq, again.state.prev_hash) == (2, chain_hash(second))
        third = queue(again, 3).doc
    assert (third["device_seq"], third["prev_hash"]) == (3, chain_hash(second))
    on_disk = json.loads(state_path.read_text())
    assert (on_disk["device_seq"], on_disk["prev_hash"]) == (3, chain_hash(third))


def test_a_stale_client_continues_the_chain_instead_of_forking(
    bob: DeviceClient, state_path: Path
) -> None:
    """Two processes on one state file: the one that loaded first must not reuse a seq."""
    with DeviceClient.load(state_path) as stale:
        first = queue(bob, 1).doc
        second = queue(stale, 2).doc
    assert (second["device_seq"], second["prev_hash"]) == (2, chain_hash(first))


def test_an_invalid_case_is_not_queued_and_does_not_move_the_chain(bob: DeviceClient) -> None:
    photos, consent = materials(1)
    with pytest.raises(InvalidDocument, match=r"^schema_invalid: /form/birth_date"):
        bob.queue_case("senior_citizen_card", APPLICANT, {}, photos, consent)
    with pytest.raises(InvalidDocument, match=r"^unknown_matter: /matter/id"):
        bob.queue_case("no_such_matter", APPLICANT, FORM, photos, consent)
    with pytest.raises(InvalidDocument, match=r"^unknown_catalog_version"):
        queue(bob, catalog_version="1999.1")
    assert (bob.state.device_seq, bob.state.prev_hash) == (0, None)
    assert bob.outbox() == []
    assert queue(bob).doc["device_seq"] == 1


def test_every_queued_document_verifies_with_the_device_key(bob: DeviceClient) -> None:
    doc = queue(bob).doc
    verify_document(doc, _public_of(bob))
    assert doc["signature"]["kid"] == bob.state.device_id
    assert (doc["agent_id"], doc["device_id"], doc["grid_id"]) == (
        "agent-bob",
        "dev-bob-phone",
        "grid-a",
    )


# ---------------------------------------------------------------------- the manifest


def test_the_manifest_binds_every_file_consent_included(bob: DeviceClient) -> None:
    photos, consent = materials(7)
    doc = bob.queue_case("senior_citizen_card", APPLICANT, FORM, photos, consent).doc
    files = [*photos, consent]
    assert [m["name"] for m in doc["materials"]] == [f.name for f in files]
    for entry, file in zip(doc["materials"], files, strict=True):
        assert entry["sha256"] == file.sha256 == hashlib.sha256(file.data).hexdigest()
        assert entry["length"] == len(file.data)
        assert entry["content_type"] == file.content_type
        assert entry["material_id"] == file.material_id
        assert entry["captured_at"] == file.captured_at
    assert doc["consent"]["attachment"] == consent.name
    assert doc["materials"][-1]["material_id"] == "consent_signature"


def test_the_outbox_keeps_each_file_by_its_sha256(bob: DeviceClient, state_path: Path) -> None:
    photos, consent = materials(3)
    queued = bob.queue_case("senior_citizen_card", APPLICANT, FORM, photos, consent)
    bob.close()
    with DeviceClient.load(state_path) as again:
        (stored,) = again.outbox()
        assert stored.doc == queued.doc
        assert stored.rev == queued.rev
        assert stored.attachments == {m.name: m.sha256 for m in [*photos, consent]}
        for material in [*photos, consent]:
            assert again.local.attachment(material.sha256) == material.data
            blob = again.data_dir / "blobs" / "sha256" / material.sha256[:2]  # type: ignore[operator]
            assert (blob / material.sha256[2:4] / material.sha256).is_file()


def test_files_that_differ_from_the_manifest_are_refused_before_signing() -> None:
    photo = Material("id_card-1.jpg", jpeg(1), "image/jpeg", "id_card")
    doc = {"materials": [photo.manifest()]}
    check_files(doc, [photo])
    with pytest.raises(InvalidDocument, match="attachment_mismatch"):
        check_files(doc, [Material("id_card-1.jpg", jpeg(2), "image/jpeg", "id_card")])
    with pytest.raises(InvalidDocument, match="attachment_mismatch"):
        check_files(doc, [photo, Material("extra.png", png(1), "image/png", "photo")])
    with pytest.raises(InvalidDocument, match="attachment_mismatch"):
        check_files(doc, [])


def test_content_types_are_told_by_the_bytes(tmp_path: Path) -> None:
    assert sniff_content_type(jpeg(1), "scan.png") == "image/jpeg"
    assert sniff_content_type(png(1)) == "image/png"
    assert sniff_content_type(b"%PDF-1.7\n", "") == "application/pdf"
    assert sniff_content_type(b"plain", "notes.txt") == "text/plain"
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(jpeg(4))
    material = Material.from_file(path, "id_card")
    assert (material.name, material.content_type, material.material_id) == (
        "IMG_0001.JPG",
        "image/jpeg",
        "id_card",
    )
    assert material.captured_at is not None and material.captured_at.endswith("Z")


# ---------------------------------------------------------------------- sealing


def test_id_number_and_phone_are_sealed_to_the_hall_key(bob: DeviceClient, hall: Hall) -> None:
    doc = queue(bob).doc
    for field in ("id_number", "phone"):
        sealed = doc["applicant"][field]
        assert set(sealed) == {"sealed", "enc", "alg"} and sealed["alg"] == SEAL_ALG
        assert APPLICANT[field] not in json.dumps(doc)
    assert doc["applicant"]["name"] == APPLICANT["name"]  # only the two fields are sealed
    opened = open_document_fields(doc, hall.sealing)
    assert opened["applicant"] == APPLICANT


def test_a_sealed_field_opens_only_where_it_was_sealed(bob: DeviceClient, hall: Hall) -> None:
    doc = queue(bob).doc
    id_number = doc["applicant"]["id_number"]
    with pytest.raises(SealInvalid):  # moved to another field
        open_field(id_number, hall.sealing, doc["_id"], "/applicant/phone")
    with pytest.raises(SealInvalid):  # moved to another document
        open_field(
            id_number, hall.sealing, "case:01JH00000000000000000000AA", "/applicant/id_number"
        )
    with pytest.raises(SealInvalid):  # another hall
        open_field(id_number, X25519PrivateKey.generate(), doc["_id"], "/applicant/id_number")


def test_sealing_can_be_turned_off(bob: DeviceClient) -> None:
    doc = queue(bob, seal=False).doc
    assert doc["applicant"] == APPLICANT


# ---------------------------------------------------------------------- receipts


def test_the_outbox_is_judged_by_verified_receipts(bob: DeviceClient, hall: Hall) -> None:
    acknowledged, forged, refused, pending = (queue(bob, seed) for seed in range(4))
    good = hall.receipt(acknowledged.doc, acknowledged.rev, acknowledged.attachments)
    # A receipt for other bytes: signed by the server, but not for what bob queued.
    wrong = hall.receipt({**forged.doc, "form": {}}, forged.rev, forged.attachments)
    inbox = [
        StoredDocument(good, "1-a", {}),
        StoredDocument(wrong, "1-b", {}),
    ]
    refusals = {refused.doc_id: "chain_fork: device_seq 3 is already used by other content"}
    statuses = {s.doc_id: s for s in judge_outbox(bob.outbox(), inbox, refusals, bob.check_receipt)}
    assert statuses[acknowledged.doc_id].state is DocState.ACKNOWLEDGED
    assert statuses[acknowledged.doc_id].receipt_id == good["_id"]
    assert statuses[forged.doc_id].state is DocState.RECEIPT_INVALID
    assert "other bytes" in (statuses[forged.doc_id].reason or "")
    assert statuses[refused.doc_id].state is DocState.REFUSED
    assert statuses[refused.doc_id].reason == refusals[refused.doc_id]
    assert statuses[pending.doc_id].state is DocState.PENDING


def test_a_receipt_signed_by_an_unknown_key_does_not_count(
    bob: DeviceClient, hall: Hall, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = queue(bob)
    impostor = Hall(hall.sealing, Ed25519PrivateKey.generate())
    receipt = impostor.receipt(queued.doc, queued.rev, queued.attachments)
    # The device asks the server for its keys once; the server does not list this one.
    keys = {"keys": [{"key_id": hall.key_id, "public_key": encode_key(hall.signing.public_key())}]}

    def reply(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/keys"
        return httpx.Response(200, json=keys)

    real_client = httpx.Client
    monkeypatch.setattr(
        httpx, "Client", lambda **kw: real_client(transport=httpx.MockTransport(reply), **kw)
    )
    inbox = [StoredDocument(receipt, "1-a", {})]
    (status,) = judge_outbox(bob.outbox(), inbox, {}, bob.check_receipt)
    assert status.state is DocState.RECEIPT_INVALID
    assert "does not list" in (status.reason or "")


def test_the_public_face_is_exactly_the_intended_names() -> None:
    import fieldhall.field_app_api.client as client

    assert set(client.__all__) == {
        "DEFAULT_STATE_FILE",
        "AlreadyEnrolled",
        "DeviceClient",
        "DeviceError",
        "DeviceState",
        "DocState",
        "DocumentStatus",
        "EnrollmentRefused",
        "InvalidDocument",
        "Material",
        "NotEnrolled",
        "ReceiptMismatch",
        "ServerUnreachable",
        "StoredDocument",
        "SyncFailed",
        "SyncReport",
        "TokenRefused",
        "VerifyReport",
    }
    assert all(hasattr(client, name) for name in client.__all__)
