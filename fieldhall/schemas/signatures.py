"""Ed25519 document signatures (contract v1).

A signed document carries ``"signature": {"alg": "Ed25519", "kid", "signed_at", "sig"}``;
``sig`` is plain Ed25519 (RFC 8032) over :func:`~fieldhall.schemas.canonical.signed_bytes` —
the bytes themselves, not a hash of them — as unpadded base64url. ``kid`` is the device id for
device documents and ``server:<key_id>`` for server-written ones; ``alg``, ``kid`` and
``signed_at`` are inside the signed bytes, so none of them can be swapped afterwards.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldhall.schemas.canonical import signed_bytes
from fieldhall.schemas.errors import IJsonError, KeyInvalid, SignatureInvalid
from fieldhall.schemas.formats import is_rfc3339_utc
from fieldhall.schemas.keys import KEY_LENGTH, b64url_decode, b64url_encode

__all__ = ["ALGORITHM", "rfc3339_utc", "sign_document", "sign_in_place", "verify_document"]

ALGORITHM = "Ed25519"
SIGNATURE_LENGTH = 64


def rfc3339_utc(moment: datetime) -> str:
    """``2026-01-05T08:30:00.000Z``: UTC with milliseconds, as JavaScript's toISOString."""
    if moment.tzinfo is None:
        raise ValueError("a signing time must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def sign_document(
    doc: Mapping[str, Any],
    private_key: Ed25519PrivateKey | bytes,
    kid: str,
    signed_at: datetime | str,
) -> dict[str, Any]:
    """A copy of ``doc`` with a fresh ``signature`` (any previous one is replaced)."""
    return sign_in_place(copy.deepcopy(dict(doc)), private_key, kid, signed_at)


def sign_in_place(
    doc: dict[str, Any],
    private_key: Ed25519PrivateKey | bytes,
    kid: str,
    signed_at: datetime | str,
) -> dict[str, Any]:
    """:func:`sign_document` for a document the caller has just built and gives away (a
    server's receipt): ``doc`` itself gets the signature, without the copy."""
    key = private_key if isinstance(private_key, Ed25519PrivateKey) else _private(private_key)
    when = signed_at if isinstance(signed_at, str) else rfc3339_utc(signed_at)
    if not is_rfc3339_utc(when):
        raise ValueError(f"signed_at is RFC 3339 in UTC (…Z), not {when!r}")
    doc["signature"] = {"alg": ALGORITHM, "kid": kid, "signed_at": when}
    doc["signature"]["sig"] = b64url_encode(key.sign(signed_bytes(doc)))
    return doc


def verify_document(
    doc: Mapping[str, Any],
    public_key: Ed25519PublicKey | bytes,
    *,
    payload: bytes | None = None,
) -> None:
    """Return if ``doc``'s signature verifies with ``public_key``; else :class:`SignatureInvalid`.

    Choosing the key for ``signature.kid`` (and checking that kid is the right principal) is
    the caller's business. ``payload``: ``signed_bytes(doc)`` when the caller has them already.
    """
    key = public_key if isinstance(public_key, Ed25519PublicKey) else _public(public_key)
    signature = doc.get("signature")
    if not isinstance(signature, Mapping):
        raise SignatureInvalid("the document has no signature object", pointer="/signature")
    if signature.get("alg") != ALGORITHM:
        raise SignatureInvalid(f"alg must be {ALGORITHM!r}", pointer="/signature/alg")
    sig_text = signature.get("sig")
    try:
        sig = b64url_decode(sig_text) if isinstance(sig_text, str) else b""
    except ValueError:
        sig = b""
    if len(sig) != SIGNATURE_LENGTH:
        raise SignatureInvalid(
            f"sig must be unpadded base64url of {SIGNATURE_LENGTH} bytes", pointer="/signature/sig"
        )
    if payload is None:
        try:
            payload = signed_bytes(doc)
        except IJsonError as exc:
            raise SignatureInvalid(f"the document is not I-JSON: {exc.detail}") from exc
    try:
        key.verify(sig, payload)
    except InvalidSignature as exc:
        raise SignatureInvalid(
            "signature does not verify over the signed bytes", pointer="/signature/sig"
        ) from exc


def _private(raw: bytes) -> Ed25519PrivateKey:
    if len(raw) != KEY_LENGTH:
        raise KeyInvalid(f"an Ed25519 private key is {KEY_LENGTH} bytes, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def _public(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != KEY_LENGTH:
        raise KeyInvalid(f"an Ed25519 public key is {KEY_LENGTH} bytes, not {len(raw)}")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:  # pragma: no cover - every 32-byte string loads today
        raise KeyInvalid("not an Ed25519 public key") from exc
