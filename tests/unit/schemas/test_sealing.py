"""Field sealing: HPKE (RFC 9180) base mode, checked against the RFC's own test vectors."""

from __future__ import annotations

import copy
import hashlib
import hmac
import struct
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKeyPair

from fieldhall.schemas import (
    open_field,
    seal_document_fields,
    seal_field,
    sign_document,
    validate_document,
    verify_document,
)
from fieldhall.schemas.errors import KeyInvalid, SealInvalid, SignatureInvalid
from fieldhall.schemas.keys import b64url_decode, b64url_encode
from fieldhall.schemas.sealing import (
    SEAL_ALG,
    SEAL_INFO,
    SUITE,
    hpke_open,
    is_sealed,
    open_document_fields,
)

from .examples import BOB_KEY, BOB_PUBLIC, SIGNED_AT, ZHANG_ID, signed, unsigned

INFO = bytes.fromhex("4f6465206f6e2061204772656369616e2055726e")  # "Ode on a Grecian Urn"
PT = bytes.fromhex("4265617574792069732074727574682c20747275746820626561757479")
AAD0 = bytes.fromhex("436f756e742d30")  # "Count-0"
AAD1 = bytes.fromhex("436f756e742d31")

# RFC 9180, Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode.
# The KEM, the KDF and the key schedule are those of our suite; only the AEAD key is shorter.
A1: dict[str, Any] = {
    "ikmE": "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
    "pkEm": "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
    "skEm": "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
    "ikmR": "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
    "pkRm": "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
    "skRm": "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
    "enc": "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
    "shared_secret": "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
    "key_schedule_context": "00725611c9d98c07c03f60095cd32d400d8347d45ed67097bbad50fc56da742d07"
    "cb6cffde367bb0565ba28bb02c90744a20f5ef37f30523526106f637abb05449",
    "secret": "12fff91991e93b48de37e7daddb52981084bd8aa64289c3788471d9a9712f397",
    "key": "4531685d41d65f03dc48f6b8302c05b0",
    "base_nonce": "56d890e5accaaf011cff4b7d",
    "exporter_secret": "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
    "ct0": "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218"
    "a355a96d8770ac83d07bea87e13c512a",
    "ct1": "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a"
    "6eab251c03d0c22a56b8ca42c2063b84",
    "exports": [
        ("", "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee"),
        ("00", "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5"),
        (
            "54657374436f6e74657874",
            "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931",
        ),
    ],
}

# The RFC 9180 test-vector file (CFRG test-vectors.json, the entry mode 0, kem_id 32,
# kdf_id 1, aead_id 2): exactly the contract's suite, with AES-256-GCM.
A256: dict[str, Any] = {
    "ikmE": "2cd7c601cefb3d42a62b04b7a9041494c06c7843818e0ce28a8f704ae7ab20f9",
    "pkEm": "6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256",
    "skEm": "179d4b53b6365c45b600c4163b61d95cbc2f4d9e36f1695558dce265ab8bab11",
    "pkRm": "430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c",
    "skRm": "497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d",
    "enc": "6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256",
    "shared_secret": "3101c54c3a4f87439eaac080699ed9bbcc726ffe44e860c0424ccb7e3e2ead7b",
    "key_schedule_context": "004ce5472ecdd5093ba0aecb8f871ff13f1fbc90ee76f0e18ace1a1b7e565bafa3"
    "06f6ef962c9ee7cea40407b5d60f0f26990472faae3ac44c78366f1cac1ecde1",
    "secret": "2058ac9b02c1f52c1aaf08bedbec9198219751a94ef67b7d5f0c8b6e2b54ebfb",
    "key": "f50b0609186798729ed0564b36ef2ef8044f1f9d05636874d1f46c819c7a669f",
    "base_nonce": "151d9929e2449747889bc923",
    "exporter_secret": "86017151bbff6a1940e8abae2ac9e0e7032e33df1eaaecc02ca6259b130d62df",
    "ct0": "e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512b"
    "e9931980a41de125a925cdad859d5b7a",
    "exports": [
        ("", "ded6cffafaea6b812cbf3e241e88332adbc077aca81512914213810ee291770a"),
        ("00", "04d3cb6cc116b28ffd22ad5bc276c60d31fec71ceb87ae24db811c64b7507339"),
        (
            "54657374436f6e74657874",
            "7c5ded445732c14fe09727d29b4251c0fd38455fe8440571e687f0886aac94d2",
        ),
    ],
}

HALL = X25519PrivateKey.from_private_bytes(hashlib.sha256(b"hall encryption key").digest())
HALL_PUBLIC = HALL.public_key().public_bytes_raw()
CHELSEA_HALL = X25519PrivateKey.from_private_bytes(b"\x42" * 32)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --------------------------------------------------------- an independent key schedule
# RFC 9180 §4 and §5.1, written from the RFC with the standard library, so the vectors'
# intermediate values are checked by code that shares nothing with pyhpke.


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def _key_schedule(shared_secret: bytes, info: bytes, aead_id: int, nk: int) -> dict[str, bytes]:
    suite_id = b"HPKE" + struct.pack(">HHH", 0x0020, 0x0001, aead_id)

    def labeled_extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)

    def labeled_expand(prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        return _expand(
            prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info, length
        )

    context = (
        b"\x00"
        + labeled_extract(b"", b"psk_id_hash", b"")
        + labeled_extract(b"", b"info_hash", info)
    )
    secret = labeled_extract(shared_secret, b"secret", b"")
    return {
        "key_schedule_context": context,
        "secret": secret,
        "key": labeled_expand(secret, b"key", context, nk),
        "base_nonce": labeled_expand(secret, b"base_nonce", context, 12),
        "exporter_secret": labeled_expand(secret, b"exp", context, 32),
    }


@pytest.mark.parametrize(
    ("vector", "aead", "nk"),
    [(A1, AEADId.AES128_GCM, 16), (A256, AEADId.AES256_GCM, 32)],
    ids=["rfc9180-A.1.1", "cfrg-x25519-sha256-aes256gcm"],
)
def test_the_rfc_9180_base_mode_vector(vector: dict[str, Any], aead: AEADId, nk: int) -> None:
    suite = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, aead)
    skr = suite.kem.deserialize_private_key(h(vector["skRm"]))
    pkr = suite.kem.deserialize_public_key(h(vector["pkRm"]))
    eks = KEMKeyPair(
        suite.kem.deserialize_private_key(h(vector["skEm"])),
        suite.kem.deserialize_public_key(h(vector["pkEm"])),
    )

    # DeriveKeyPair from the input keying material.
    if "ikmR" in vector:
        derived = suite.kem.derive_key_pair(h(vector["ikmR"]))
        assert derived.private_key.to_private_bytes() == h(vector["skRm"])
        assert derived.public_key.to_public_bytes() == h(vector["pkRm"])
    derived = suite.kem.derive_key_pair(h(vector["ikmE"]))
    assert derived.public_key.to_public_bytes() == h(vector["pkEm"])

    # Encap and Decap: the same shared secret on both sides.
    shared_secret, enc = suite.kem.encap(pkr, eks=eks)
    assert enc == h(vector["enc"])
    assert shared_secret == h(vector["shared_secret"])
    assert suite.kem.decap(enc, skr) == h(vector["shared_secret"])

    # The key schedule's outputs, recomputed from the RFC.
    schedule = _key_schedule(h(vector["shared_secret"]), INFO, aead.value, nk)
    for name in ("key_schedule_context", "secret", "key", "base_nonce", "exporter_secret"):
        assert schedule[name] == h(vector[name]), name
    assert AESGCM(schedule["key"]).encrypt(schedule["base_nonce"], PT, AAD0) == h(vector["ct0"])

    # pyhpke's sender reproduces the ciphertexts and exports; its recipient decrypts them.
    enc, sender = suite.create_sender_context(pkr, INFO, eks=eks)
    assert sender.seal(PT, AAD0) == h(vector["ct0"])
    if "ct1" in vector:
        assert sender.seal(PT, AAD1) == h(vector["ct1"])
    recipient = suite.create_recipient_context(enc, skr, INFO)
    assert recipient.open(h(vector["ct0"]), AAD0) == PT
    for context, value in vector["exports"]:
        assert sender.export(h(context), 32) == h(value)
        assert recipient.export(h(context), 32) == h(value)


def test_the_contract_suite_decrypts_the_vector_of_its_own_suite() -> None:
    assert (SUITE.kem.id, SUITE.kdf.id, SUITE.aead.id) == (
        KEMId.DHKEM_X25519_HKDF_SHA256,
        KDFId.HKDF_SHA256,
        AEADId.AES256_GCM,
    )
    recipient = SUITE.kem.deserialize_private_key(h(A256["skRm"]))
    plaintext = hpke_open(h(A256["enc"]), h(A256["ct0"]), recipient, info=INFO, aad=AAD0)
    assert plaintext == PT
    with pytest.raises(SealInvalid):
        hpke_open(h(A256["enc"]), h(A256["ct0"]), recipient, info=INFO, aad=AAD1)


# --------------------------------------------------------------------- the contract


def test_a_sealed_field_opens_with_the_hall_key_the_same_id_and_pointer() -> None:
    sealed = seal_field(
        ZHANG_ID, HALL_PUBLIC, "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z", "/applicant/id_number"
    )
    assert set(sealed) == {"sealed", "enc", "alg"} and sealed["alg"] == SEAL_ALG
    assert len(b64url_decode(sealed["enc"])) == 32
    assert len(b64url_decode(sealed["sealed"])) == len(ZHANG_ID) + 16
    opened = open_field(sealed, HALL, "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z", "/applicant/id_number")
    assert opened == ZHANG_ID


def test_the_seal_follows_the_architecture_byte_for_byte() -> None:
    # Open with plain pyhpke, info and aad spelled out as ARCHITECTURE does.
    doc_id = "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z"
    sealed = seal_field("13604312345", HALL.public_key(), doc_id, "/applicant/phone")
    suite = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
    recipient = suite.create_recipient_context(
        b64url_decode(sealed["enc"]),
        suite.kem.deserialize_private_key(HALL.private_bytes_raw()),
        b"fieldhall/v1/seal",
    )
    aad = b"case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z#/applicant/phone"
    assert recipient.open(b64url_decode(sealed["sealed"]), aad) == b"13604312345"
    assert SEAL_INFO == b"fieldhall/v1/seal"


def test_each_seal_is_fresh() -> None:
    first = seal_field("13604312345", HALL_PUBLIC, "case:1", "/applicant/phone")
    second = seal_field("13604312345", HALL_PUBLIC, "case:1", "/applicant/phone")
    assert first["enc"] != second["enc"] and first["sealed"] != second["sealed"]


@pytest.mark.parametrize(
    ("key", "doc_id", "pointer"),
    [
        (HALL, "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z", "/applicant/phone"),  # moved to another field
        (HALL, "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y50", "/applicant/id_number"),  # to another doc
        (HALL, "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z", ""),
        (CHELSEA_HALL, "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z", "/applicant/id_number"),  # wrong key
    ],
)
def test_a_seal_does_not_open_elsewhere(key: X25519PrivateKey, doc_id: str, pointer: str) -> None:
    sealed = seal_field(
        ZHANG_ID, HALL_PUBLIC, "case:01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z", "/applicant/id_number"
    )
    with pytest.raises(SealInvalid) as refused:
        open_field(sealed, key, doc_id, pointer)
    assert refused.value.code == "bad_seal"


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(sealed=b64url_encode(b"\x00" + b64url_decode(s["sealed"])[1:])),
        lambda s: s.update(sealed=s["sealed"][:-4]),
        lambda s: s.update(enc=b64url_encode(b"\x01" * 32)),
        lambda s: s.update(enc=s["enc"][:-1]),
        lambda s: s.update(sealed="***"),
        lambda s: s.update(alg="HPKE-P256-SHA256-A128GCM"),
        lambda s: s.pop("enc"),
        lambda s: s.update(extra=1),
        lambda s: s.update(sealed=b64url_encode(b"\x00" * 10)),
    ],
)
def test_a_tampered_or_malformed_seal_is_refused(change: Any) -> None:
    sealed: dict[str, Any] = seal_field(ZHANG_ID, HALL_PUBLIC, "case:1", "/applicant/id_number")
    change(sealed)
    with pytest.raises(SealInvalid):
        open_field(sealed, HALL, "case:1", "/applicant/id_number")


def test_keys_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(KeyInvalid):
        seal_field("x", b"\x01" * 31, "case:1", "/applicant/phone")
    sealed = seal_field("x", HALL_PUBLIC, "case:1", "/applicant/phone")
    with pytest.raises(KeyInvalid):
        open_field(sealed, b"\x01" * 33, "case:1", "/applicant/phone")


def test_a_case_is_sealed_then_signed_and_stays_valid() -> None:
    doc = unsigned("case")
    sealed = seal_document_fields(doc, HALL_PUBLIC)
    assert doc["applicant"]["id_number"] == ZHANG_ID  # the input is left alone
    assert is_sealed(sealed["applicant"]["id_number"]) and is_sealed(sealed["applicant"]["phone"])
    assert sealed["applicant"]["name"] == "张玉琴"
    assert sealed["form"] == doc["form"]
    final = sign_document(sealed, BOB_KEY, "device-bob", SIGNED_AT)
    validate_document(final)
    verify_document(final, BOB_PUBLIC)
    # Sealing twice changes nothing; the hall opens what the device sealed.
    assert seal_document_fields(final, HALL_PUBLIC) == final
    opened = open_document_fields(final, HALL)
    assert opened["applicant"] == doc["applicant"]
    # A sealed value is part of the signed bytes: swapping it breaks the signature.
    other = copy.deepcopy(final)
    other["applicant"]["phone"] = seal_field(
        "13604312345", HALL_PUBLIC, doc["_id"], "/applicant/phone"
    )
    with pytest.raises(SignatureInvalid):
        verify_document(other, BOB_PUBLIC)


def test_swapping_sealed_fields_between_members_is_detected_by_the_hall() -> None:
    sealed = seal_document_fields(unsigned("case"), HALL_PUBLIC)
    applicant = sealed["applicant"]
    applicant["id_number"], applicant["phone"] = applicant["phone"], applicant["id_number"]
    with pytest.raises(SealInvalid) as refused:
        open_document_fields(sealed, HALL)
    assert refused.value.pointer == "/applicant/id_number"


def test_only_the_sealable_fields_of_each_type_are_sealed() -> None:
    request = seal_document_fields(signed("visit_request"), HALL_PUBLIC)
    assert is_sealed(request["resident"]["phone"])
    assert request["resident"]["name"] == "张玉琴"
    assert open_document_fields(request, HALL)["resident"]["phone"] == "13604312345"
    delivery = signed("delivery")
    assert seal_document_fields(delivery, HALL_PUBLIC) == delivery
    no_phone = unsigned("case")
    del no_phone["applicant"]["phone"]
    assert "phone" not in seal_document_fields(no_phone, HALL_PUBLIC)["applicant"]


def test_a_document_without_an_id_cannot_be_sealed() -> None:
    doc = unsigned("case")
    del doc["_id"]
    with pytest.raises(SealInvalid) as refused:
        seal_document_fields(doc, HALL_PUBLIC)
    assert refused.value.pointer == "/_id"
