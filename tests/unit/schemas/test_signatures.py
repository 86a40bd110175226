"""Ed25519 signatures over the signed bytes; every signed member is covered."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldhall.schemas import (
    decode_key,
    encode_key,
    key_id,
    sign_document,
    signed_bytes,
    verify_document,
)
from fieldhall.schemas.errors import KeyInvalid, SignatureInvalid
from fieldhall.schemas.keys import b64url_decode, b64url_encode, public_key_raw
from fieldhall.schemas.signatures import rfc3339_utc, sign_in_place

from .examples import BOB_KEY, BOB_PUBLIC, SERVER_KEY, SERVER_KID, SIGNED_AT, signed, unsigned

CHELSEA_KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)


def test_a_signed_document_verifies_with_the_signers_key_only() -> None:
    doc = signed("case")
    assert doc["signature"]["alg"] == "Ed25519"
    assert doc["signature"]["kid"] == "device-bob"
    assert doc["signature"]["signed_at"] == SIGNED_AT
    verify_document(doc, BOB_PUBLIC)
    verify_document(doc, BOB_KEY.public_key())
    with pytest.raises(SignatureInvalid) as refused:
        verify_document(doc, public_key_raw(CHELSEA_KEY))
    assert refused.value.reason.startswith("bad_signature: /signature/sig: ")


def test_the_signature_is_plain_ed25519_over_the_signed_bytes() -> None:
    doc = signed("case")
    sig = b64url_decode(doc["signature"]["sig"])
    BOB_KEY.public_key().verify(sig, signed_bytes(doc))  # raises if not
    assert len(doc["signature"]["sig"]) == 86 and "=" not in doc["signature"]["sig"]
    # Ed25519 is deterministic: the same document signs to the same bytes.
    assert sign_document(unsigned("case"), BOB_KEY, "device-bob", SIGNED_AT) == doc


def test_signing_leaves_the_input_alone_and_replaces_an_old_signature() -> None:
    doc = unsigned("case")
    before = copy.deepcopy(doc)
    once = sign_document(doc, BOB_KEY, "device-bob", SIGNED_AT)
    assert doc == before
    again = sign_document(once, BOB_KEY, "device-bob", "2026-03-02T03:00:00Z")
    verify_document(again, BOB_PUBLIC)
    assert again["signature"]["sig"] != once["signature"]["sig"]


def test_signing_in_place_signs_the_callers_own_dict_the_same_way() -> None:
    """The receipts' path: the server signs a document it has just built, without a copy."""
    doc = unsigned("receipt")
    copied = sign_document(doc, SERVER_KEY, SERVER_KID, SIGNED_AT)
    in_place = sign_in_place(doc, SERVER_KEY, SERVER_KID, SIGNED_AT)
    assert in_place is doc
    assert in_place == copied  # Ed25519 signatures are deterministic
    verify_document(doc, SERVER_KEY.public_key())


def test_server_documents_are_signed_with_a_server_kid() -> None:
    receipt = signed("receipt")
    assert receipt["signature"]["kid"] == SERVER_KID
    assert "server:" + key_id(public_key_raw(SERVER_KEY)) == SERVER_KID
    verify_document(receipt, public_key_raw(SERVER_KEY))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


def _tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value is None:
        return "x"
    return value + "x"


SIGNED_LEAVES = [
    (doc_type, path)
    for doc_type in ("case", "delivery", "receipt")
    for path in _leaves(signed(doc_type))
    if path != ("signature", "sig")
]


@pytest.mark.parametrize(("doc_type", "path"), SIGNED_LEAVES)
def test_every_signed_field_altered_breaks_the_signature(
    doc_type: str, path: tuple[Any, ...]
) -> None:
    doc = signed(doc_type)
    node: Any = doc
    for token in path[:-1]:
        node = node[token]
    node[path[-1]] = _tampered(node[path[-1]])
    key = public_key_raw(SERVER_KEY) if doc_type == "receipt" else BOB_PUBLIC
    with pytest.raises(SignatureInvalid):
        verify_document(doc, key)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(extra="added"),
        lambda d: d.pop("location"),
        lambda d: d["materials"].append(copy.deepcopy(d["materials"][0])),
        lambda d: d["materials"].reverse(),
        lambda d: d.update(_id="case:01JN8Y5Z6Q7R8S9T0V1W2X3Y50"),  # moved to another doc
        lambda d: d.update(device_seq=18),
        lambda d: d.update(form={}),
        lambda d: d["signature"].update(kid="device-chelsea"),
    ],
)
def test_adding_removing_or_moving_breaks_the_signature(change: Any) -> None:
    doc = signed("case")
    change(doc)
    with pytest.raises(SignatureInvalid):
        verify_document(doc, BOB_PUBLIC)


def test_unsigned_members_may_change_without_breaking_it() -> None:
    doc = signed("case")
    doc.update(_rev="3-abc", _revisions={"start": 3, "ids": ["abc"]}, _attachments={})
    verify_document(doc, BOB_PUBLIC)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda d: d.pop("signature"), "/signature"),
        (lambda d: d.update(signature="sig"), "/signature"),
        (lambda d: d["signature"].update(alg="EdDSA"), "/signature/alg"),
        (lambda d: d["signature"].pop("sig"), "/signature/sig"),
        (lambda d: d["signature"].update(sig=d["signature"]["sig"] + "=="), "/signature/sig"),
        (lambda d: d["signature"].update(sig=d["signature"]["sig"][:-2]), "/signature/sig"),
        (lambda d: d["signature"].update(sig="+" + d["signature"]["sig"][1:]), "/signature/sig"),
        (lambda d: d["signature"].update(sig=d["signature"]["sig"][:-1] + "B"), "/signature/sig"),
        (lambda d: d.update(n=2**60), ""),
    ],
)
def test_malformed_signatures_are_refused(change: Any, pointer: str) -> None:
    doc = signed("case")
    last = doc["signature"]["sig"][-1]
    change(doc)
    with pytest.raises(SignatureInvalid) as refused:
        verify_document(doc, BOB_PUBLIC)
    assert refused.value.code == "bad_signature"
    assert refused.value.pointer == pointer
    assert last in "AQgw"  # 64 bytes leave 4 spare bits: only these end a canonical sig


def test_keys_are_unpadded_base64url_of_32_raw_bytes() -> None:
    text = encode_key(BOB_PUBLIC)
    assert len(text) == 43 and "=" not in text
    assert decode_key(text) == BOB_PUBLIC
    assert encode_key(BOB_KEY.public_key()) == text
    assert base64.urlsafe_b64decode(text + "=") == BOB_PUBLIC
    for bad in (text + "=", text[:-1], text + "AAAA", text.replace(text[0], "*"), "", 42):
        with pytest.raises(KeyInvalid):
            decode_key(bad)  # type: ignore[arg-type]
    with pytest.raises(KeyInvalid):
        encode_key(b"short")
    # A non-canonical last character (spare bits set) decodes to the same bytes elsewhere.
    noncanonical = text[:-1] + chr(ord(text[-1]) + 1)
    with pytest.raises(KeyInvalid):
        decode_key(noncanonical)


def test_key_id_is_the_first_16_hex_digits_of_sha256() -> None:
    assert key_id(BOB_PUBLIC) == hashlib.sha256(BOB_PUBLIC).hexdigest()[:16]
    assert len(key_id(BOB_PUBLIC)) == 16
    with pytest.raises(KeyInvalid):
        key_id(b"\x00" * 31)


def test_raw_private_keys_sign_too() -> None:
    seed = bytes(range(32))
    doc = sign_document(unsigned("visit_update"), seed, "device-bob", SIGNED_AT)
    verify_document(doc, BOB_PUBLIC)
    with pytest.raises(KeyInvalid):
        sign_document(unsigned("visit_update"), b"short", "device-bob", SIGNED_AT)
    with pytest.raises(KeyInvalid):
        verify_document(doc, b"short")


def test_signing_times_are_rfc3339_utc_with_milliseconds() -> None:
    moment = datetime(2026, 3, 2, 10, 15, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    assert rfc3339_utc(moment) == "2026-03-02T02:15:00.123Z"
    doc = sign_document(unsigned("case"), BOB_KEY, "device-bob", moment)
    assert doc["signature"]["signed_at"] == "2026-03-02T02:15:00.123Z"
    with pytest.raises(ValueError):
        rfc3339_utc(datetime(2026, 3, 2))
    with pytest.raises(ValueError):
        sign_document(unsigned("case"), BOB_KEY, "device-bob", "2026-03-02T10:15:00+08:00")
    assert rfc3339_utc(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"


def test_b64url_round_trips() -> None:
    for length in range(0, 70):
        data = bytes(range(length))
        assert b64url_decode(b64url_encode(data)) == data
