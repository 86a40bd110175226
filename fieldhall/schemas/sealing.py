"""Field sealing: a citizen's ID number and phone, encrypted on the device to the hall.

ARCHITECTURE, "Signed documents": a sealable field may be sealed on the device with HPKE
(RFC 9180) base mode, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, to the
``hall_encryption_key`` the device got at enrollment, with

* ``info`` = ``fieldhall/v1/seal``,
* ``aad``  = ``<_id>#<JSON pointer of the field>`` (UTF-8), e.g.
  ``case:01JH…#/applicant/id_number`` — so a sealed value cannot be moved to another field
  or another document,
* plaintext = the field's string value, UTF-8.

The sealed value replaces the plain string in the document, and that object is what is
signed and synced::

    {"sealed": "<b64url ciphertext>", "enc": "<b64url enc>", "alg": "HPKE-X25519-SHA256-A256GCM"}

Each field is a single-shot HPKE message (its own ephemeral key, sequence number 0).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKeyInterface, PyHPKEError

from fieldhall.schemas.errors import KeyInvalid, SealInvalid
from fieldhall.schemas.keys import KEY_LENGTH, b64url_decode, b64url_encode
from fieldhall.schemas.pointer import pointer_tokens

__all__ = [
    "SEALABLE_FIELDS",
    "SEAL_ALG",
    "SEAL_INFO",
    "SUITE",
    "hpke_open",
    "hpke_seal",
    "is_sealed",
    "open_document_fields",
    "open_field",
    "seal_document_fields",
    "seal_field",
]

SEAL_ALG = "HPKE-X25519-SHA256-A256GCM"
SEAL_INFO = b"fieldhall/v1/seal"
SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)

# The fields a document type may carry sealed, as JSON pointers (the ``aad``'s second half).
SEALABLE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "case": ("/applicant/id_number", "/applicant/phone"),
    "visit_request": ("/resident/phone",),
}

_ENC_LENGTH = 32  # an X25519 public key
_TAG_LENGTH = 16  # AES-GCM


def is_sealed(value: object) -> bool:
    """Whether ``value`` has the sealed-field shape (not whether it opens)."""
    return isinstance(value, Mapping) and set(value) == {"sealed", "enc", "alg"}


def seal_field(
    plaintext: str, hall_public_key: X25519PublicKey | bytes, doc_id: str, pointer: str
) -> dict[str, str]:
    """Seal ``plaintext`` for the field at ``pointer`` of document ``doc_id``."""
    enc, ciphertext = hpke_seal(
        _public(hall_public_key),
        plaintext.encode("utf-8"),
        info=SEAL_INFO,
        aad=_aad(doc_id, pointer),
    )
    return {"sealed": b64url_encode(ciphertext), "enc": b64url_encode(enc), "alg": SEAL_ALG}


def open_field(
    sealed: Mapping[str, Any],
    hall_private_key: X25519PrivateKey | bytes,
    doc_id: str,
    pointer: str,
) -> str:
    """The plaintext of a sealed field, or :class:`SealInvalid` (wrong key, aad, or bytes)."""
    if not is_sealed(sealed):
        raise SealInvalid("not a sealed field object {sealed, enc, alg}", pointer=pointer)
    if sealed["alg"] != SEAL_ALG:
        raise SealInvalid(f"alg must be {SEAL_ALG!r}", pointer=pointer)
    try:
        enc = b64url_decode(sealed["enc"])
        ciphertext = b64url_decode(sealed["sealed"])
    except ValueError as exc:
        raise SealInvalid(f"enc and sealed are unpadded base64url: {exc}", pointer=pointer) from exc
    if len(enc) != _ENC_LENGTH or len(ciphertext) < _TAG_LENGTH:
        raise SealInvalid("enc or sealed has the wrong length", pointer=pointer)
    try:
        plaintext = hpke_open(
            enc, ciphertext, _private(hall_private_key), info=SEAL_INFO, aad=_aad(doc_id, pointer)
        )
    except SealInvalid as exc:
        raise SealInvalid(exc.message, pointer=pointer) from exc
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:  # pragma: no cover - only a rogue sealer gets here
        raise SealInvalid("the sealed plaintext is not UTF-8", pointer=pointer) from exc


def seal_document_fields(
    doc: Mapping[str, Any], hall_public_key: X25519PublicKey | bytes
) -> dict[str, Any]:
    """A copy of ``doc`` with each of its type's sealable fields that holds a string sealed.

    Fields that are absent, ``null`` or already sealed are left as they are.
    """
    sealed_doc = copy.deepcopy(dict(doc))
    for pointer in SEALABLE_FIELDS.get(str(doc.get("type")), ()):
        parent, name = _locate(sealed_doc, pointer)
        if parent is not None and isinstance(parent.get(name), str):
            parent[name] = seal_field(parent[name], hall_public_key, _doc_id(doc), pointer)
    return sealed_doc


def open_document_fields(
    doc: Mapping[str, Any], hall_private_key: X25519PrivateKey | bytes
) -> dict[str, Any]:
    """A copy of ``doc`` with each sealed field replaced by its plaintext (for the hall)."""
    opened = copy.deepcopy(dict(doc))
    for pointer in SEALABLE_FIELDS.get(str(doc.get("type")), ()):
        parent, name = _locate(opened, pointer)
        if parent is not None and is_sealed(parent.get(name)):
            parent[name] = open_field(parent[name], hall_private_key, _doc_id(doc), pointer)
    return opened


def hpke_seal(
    recipient: KEMKeyInterface, plaintext: bytes, *, info: bytes, aad: bytes
) -> tuple[bytes, bytes]:
    """Single-shot HPKE base-mode seal with :data:`SUITE`: ``(enc, ciphertext)``."""
    enc, sender = SUITE.create_sender_context(recipient, info)
    return enc, sender.seal(plaintext, aad)


def hpke_open(
    enc: bytes, ciphertext: bytes, recipient: KEMKeyInterface, *, info: bytes, aad: bytes
) -> bytes:
    """Single-shot HPKE base-mode open with :data:`SUITE`, or :class:`SealInvalid`."""
    try:
        context = SUITE.create_recipient_context(enc, recipient, info)
        return context.open(ciphertext, aad)
    except (PyHPKEError, ValueError) as exc:
        raise SealInvalid("the sealed field does not open with this key and aad") from exc


def _doc_id(doc: Mapping[str, Any]) -> str:
    doc_id = doc.get("_id")
    if not isinstance(doc_id, str) or not doc_id:
        # The aad binds each sealed value to its document: no id, nothing to bind to.
        raise SealInvalid("sealing needs the document's _id", pointer="/_id")
    return doc_id


def _aad(doc_id: str, pointer: str) -> bytes:
    return f"{doc_id}#{pointer}".encode()


def _locate(doc: dict[str, Any], pointer: str) -> tuple[dict[str, Any] | None, str]:
    *path, name = pointer_tokens(pointer)
    node: Any = doc
    for token in path:
        node = node.get(token) if isinstance(node, dict) else None
    return (node if isinstance(node, dict) else None), name


def _public(key: X25519PublicKey | bytes) -> KEMKeyInterface:
    raw = key if isinstance(key, bytes) else key.public_bytes_raw()
    if len(raw) != KEY_LENGTH:
        raise KeyInvalid(f"an X25519 public key is {KEY_LENGTH} bytes, not {len(raw)}")
    return SUITE.kem.deserialize_public_key(raw)


def _private(key: X25519PrivateKey | bytes) -> KEMKeyInterface:
    raw = key if isinstance(key, bytes) else key.private_bytes_raw()
    if len(raw) != KEY_LENGTH:
        raise KeyInvalid(f"an X25519 private key is {KEY_LENGTH} bytes, not {len(raw)}")
    return SUITE.kem.deserialize_private_key(raw)
