"""The reference client's own clock: what a device writes into ``created_at``,
``signature.signed_at`` and the consent's ``signed_at`` is what its clock reads (a simulated
device, the demo's, files on past days), and the signature still verifies."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.schemas import verify_document
from fieldhall.schemas.keys import decode_key, public_key_raw
from tests.unit.field_app_api.test_client import APPLICANT, FORM, Hall, enrolled_state, materials


def test_documents_carry_the_time_the_device_clock_reads() -> None:
    hall = Hall(*_keys())
    past = datetime(2026, 10, 16, 1, 5, 30, tzinfo=UTC)
    device = DeviceClient(enrolled_state(hall), clock=lambda: past)
    photos, consent = materials(3)
    doc, _ = device.case("senior_citizen_card", "2026.1", APPLICANT, FORM, photos, consent)
    assert doc["created_at"] == doc["signature"]["signed_at"] == "2026-10-16T01:05:30.000Z"
    assert doc["consent"]["signed_at"] == "2026-10-16T01:05:30.000Z"
    private = Ed25519PrivateKey.from_private_bytes(decode_key(device.state.private_key))
    verify_document(doc, public_key_raw(private.public_key()))

    device.clock = lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    later = device.sign({"_id": device.new_id("supplement"), "type": "supplement"})
    assert later["created_at"] == "2026-11-02T09:00:00.000Z" and later["device_seq"] == 2


def test_without_a_clock_the_device_reads_the_real_time() -> None:
    device = DeviceClient(enrolled_state(Hall(*_keys())))
    before = datetime.now(UTC).replace(microsecond=0)
    doc = device.sign({"_id": device.new_id("supplement"), "type": "supplement"})
    signed = datetime.fromisoformat(doc["signature"]["signed_at"].replace("Z", "+00:00"))
    assert before <= signed <= datetime.now(UTC)


def _keys() -> tuple[X25519PrivateKey, Ed25519PrivateKey]:
    return X25519PrivateKey.generate(), Ed25519PrivateKey.generate()
