"""Key encodings of the contract: unpadded base64url of raw bytes, and key ids.

Every key on the wire (a device's ``public_key`` at enrollment, ``server_signing_key``,
``hall_encryption_key``) and every signature is unpadded base64url (RFC 4648 §5) of the raw
bytes: 32 for Ed25519 and X25519 keys, 64 for an Ed25519 signature. Decoding is strict —
padding, characters outside the alphabet and non-zero trailing bits are refused — so each
byte string has exactly one text form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from fieldhall.schemas.errors import KeyInvalid

__all__ = [
    "KEY_LENGTH",
    "b64url_decode",
    "b64url_encode",
    "decode_key",
    "encode_key",
    "key_id",
    "private_key_raw",
    "public_key_raw",
]

KEY_LENGTH = 32

_PrivateKey = Ed25519PrivateKey | X25519PrivateKey
_PublicKey = Ed25519PublicKey | X25519PublicKey


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strictly decode unpadded base64url; :class:`ValueError` if ``text`` is not canonical."""
    if not isinstance(text, str) or "=" in text or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not unpadded base64url") from exc
    if b64url_encode(data) != text:
        raise ValueError("not the canonical base64url of its bytes")
    return data


def encode_key(key: bytes | _PrivateKey | _PublicKey) -> str:
    """The wire form of a key: unpadded base64url of its 32 raw bytes."""
    raw = key if isinstance(key, bytes) else _raw(key)
    if len(raw) != KEY_LENGTH:
        raise KeyInvalid(f"a key is {KEY_LENGTH} bytes, not {len(raw)}")
    return b64url_encode(raw)


def decode_key(text: str) -> bytes:
    """The 32 raw bytes of a wire-form key, or :class:`KeyInvalid`."""
    try:
        raw = b64url_decode(text)
    except ValueError as exc:
        raise KeyInvalid(f"a key is unpadded base64url: {exc}") from exc
    if len(raw) != KEY_LENGTH:
        raise KeyInvalid(f"a key is {KEY_LENGTH} bytes, not {len(raw)}")
    return raw


def key_id(public_key_raw: bytes) -> str:
    """The first 16 hex digits of SHA-256 of the raw public key (``server:<key_id>``)."""
    if len(public_key_raw) != KEY_LENGTH:
        raise KeyInvalid(f"a key is {KEY_LENGTH} bytes, not {len(public_key_raw)}")
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def public_key_raw(key: _PrivateKey | _PublicKey) -> bytes:
    """The 32 raw bytes of a public key (of the private key's public half)."""
    public = key.public_key() if isinstance(key, _PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def private_key_raw(key: _PrivateKey) -> bytes:
    """The 32 raw bytes of a private key (the RFC 8032 seed for Ed25519)."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _raw(key: _PrivateKey | _PublicKey) -> bytes:
    return private_key_raw(key) if isinstance(key, _PrivateKey) else public_key_raw(key)
