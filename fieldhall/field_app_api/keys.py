"""The server's keys: Ed25519 signing keys (current and retired, so old signatures verify
after ``fieldhall keys rotate``) and the hall's X25519 sealing key for sealed fields.

A key's id is the first 16 hex digits of SHA-256 of its raw public key. Keys are created on
first use and live in the database, so every server process signs with the same key.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlmodel import Session, col, select

from fieldhall.sync.connection import Database

from .clock import rfc3339
from .tables import ServerKey

__all__ = [
    "KeyInfo",
    "b64url",
    "current_signing_key",
    "key_id_of",
    "list_signing_keys",
    "rotate_signing_key",
    "sealing_key",
    "signing_key_bytes",
]

_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw
_NO_ENC = serialization.NoEncryption()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    public_key: str  # unpadded base64url of the raw key
    valid_from: datetime
    valid_until: datetime | None

    def to_json(self) -> dict[str, str | None]:
        return {
            "key_id": self.key_id,
            "public_key": self.public_key,
            "valid_from": rfc3339(self.valid_from),
            "valid_until": rfc3339(self.valid_until),
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _new_signing_row() -> ServerKey:
    private = Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes(_RAW, _RAW_PUB)
    return ServerKey(
        key_id=key_id_of(public_raw),
        purpose="signing",
        public_key=b64url(public_raw),
        private_key=private.private_bytes(_RAW, _RAW_PRIV, _NO_ENC),
        valid_from=_now(),
    )


def current_signing_key(session: Session) -> tuple[str, Ed25519PrivateKey]:
    """The key id and private key the server signs with now (made on first use)."""
    row = _current_signing_row(session)
    if row is None:
        row = _new_signing_row()
        session.add(row)
        session.commit()
        session.refresh(row)
    return row.key_id, Ed25519PrivateKey.from_private_bytes(row.private_key)


def existing_signing_key(session: Session) -> tuple[str, Ed25519PrivateKey] | None:
    """:func:`current_signing_key` when there is one; ``None`` rather than making it (a read
    session, e.g. while another connection holds the write lock)."""
    row = _current_signing_row(session)
    return (
        None if row is None else (row.key_id, Ed25519PrivateKey.from_private_bytes(row.private_key))
    )


_CURRENT_SIGNING = (
    f"SELECT key_id, private_key FROM {ServerKey.__tablename__}"
    " WHERE purpose = 'signing' AND valid_until IS NULL"
    " ORDER BY valid_from DESC, key_id DESC LIMIT 1"
)


def signing_key_bytes(db: Database) -> tuple[str, bytes] | None:
    """:func:`existing_signing_key` as its id and raw private bytes, in one statement on the
    driver's connection: the door asks for it once per replicated batch, before the batch's
    checks start (0.085 ms, where the ORM took 0.67 ms in a quiet process and ~1.5 ms during a
    push). Read every time, not kept: a rotation by another process (``fieldhall keys
    rotate``) holds from the next batch on."""
    with db.read_raw() as raw:
        row = raw.first(raw.statement(_CURRENT_SIGNING))
    return None if row is None else (str(row[0]), bytes(row[1]))


def _current_signing_row(session: Session) -> ServerKey | None:
    return session.exec(
        select(ServerKey)
        .where(ServerKey.purpose == "signing", col(ServerKey.valid_until).is_(None))
        # Two current keys only if two rotations raced; both reads pick the same one.
        .order_by(col(ServerKey.valid_from).desc(), col(ServerKey.key_id).desc())
    ).first()


def rotate_signing_key(session: Session) -> KeyInfo:
    """Retire the current signing key (it stays listed for verification) and make a new one."""
    now = _now()
    for row in session.exec(
        select(ServerKey).where(
            ServerKey.purpose == "signing", col(ServerKey.valid_until).is_(None)
        )
    ):
        row.valid_until = now
        session.add(row)
    fresh = _new_signing_row()
    session.add(fresh)
    session.commit()
    return KeyInfo(fresh.key_id, fresh.public_key, fresh.valid_from, None)


def list_signing_keys(session: Session) -> list[KeyInfo]:
    current_signing_key(session)
    rows = session.exec(
        select(ServerKey).where(ServerKey.purpose == "signing").order_by(col(ServerKey.valid_from))
    ).all()
    return [KeyInfo(r.key_id, r.public_key, r.valid_from, r.valid_until) for r in rows]


def signing_public_key(session: Session, key_id: str) -> Ed25519PublicKey | None:
    row = session.get(ServerKey, key_id)
    if row is None or row.purpose != "signing":
        return None
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(row.public_key + "=="))


def sealing_key(session: Session) -> tuple[str, X25519PrivateKey]:
    """The hall's X25519 key that devices seal ``applicant.id_number``/``phone`` to."""
    row = session.exec(select(ServerKey).where(ServerKey.purpose == "sealing")).first()
    if row is None:
        private = X25519PrivateKey.generate()
        public_raw = private.public_key().public_bytes(_RAW, _RAW_PUB)
        row = ServerKey(
            key_id=key_id_of(public_raw),
            purpose="sealing",
            public_key=b64url(public_raw),
            private_key=private.private_bytes(_RAW, _RAW_PRIV, _NO_ENC),
            valid_from=_now(),
        )
        session.add(row)
        session.commit()
        session.refresh(row)
    return row.public_key, X25519PrivateKey.from_private_bytes(row.private_key)
