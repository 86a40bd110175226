"""Enrollment: one-time, expiring codes (stored hashed) that a device trades, with its
Ed25519 public key, for a bearer token.

Codes are 16 characters of Crockford base32 (80 bits), shown grouped as ``XXXX-XXXX-XXXX-XXXX``
and in a QR code whose payload is ``fieldhall://enroll?server=<base URL>&code=<code>``. Failed
attempts are counted per client in the database; too many within the window get 429.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import qrcode
from sqlalchemy import update
from sqlmodel import Session, col, func, select
from ulid import ULID

from fieldhall.schemas.errors import KeyInvalid
from fieldhall.schemas.keys import decode_key

from .directory import get_agent
from .errors import FieldError
from .tables import Device, EnrollmentAttempt, EnrollmentCode

__all__ = [
    "CODE_LIFETIME",
    "Enrollment",
    "IssuedCode",
    "enroll_device",
    "enrollment_qr",
    "enrollment_uri",
    "issue_code",
]

CODE_LIFETIME = timedelta(hours=72)
MAX_FAILURES = 10  # per client within ATTEMPT_WINDOW: enough for typos, far too few to guess
ATTEMPT_WINDOW = timedelta(minutes=15)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U


def _now() -> datetime:
    return datetime.now(UTC)


def _normalise(code: str) -> str:
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans("ILO", "110"))


def _hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedCode:
    agent_id: str
    grid_id: str | None
    station_id: str | None
    code: str
    expires_at: datetime


def issue_code(session: Session, agent_id: str, lifetime: timedelta = CODE_LIFETIME) -> IssuedCode:
    agent = get_agent(session, agent_id)
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
    now = _now()
    row = EnrollmentCode(
        code_hash=_hash(code), agent_id=agent.id, created_at=now, expires_at=now + lifetime
    )
    session.add(row)
    session.commit()
    return IssuedCode(agent.id, agent.grid_id, agent.station_id, code, row.expires_at)


def enrollment_uri(server_url: str, code: str) -> str:
    return "fieldhall://enroll?" + urlencode({"server": server_url.rstrip("/"), "code": code})


def enrollment_qr(server_url: str, code: str) -> str:
    """The enrollment URI as a QR code drawn with text blocks, for a terminal."""
    qr = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(enrollment_uri(server_url, code))
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Enrollment:
    device: Device
    token: str
    grid_id: str | None
    station_id: str | None


def _decode_public_key(value: object) -> str:
    """The key as it was sent, if it is the canonical unpadded base64url of 32 raw bytes —
    decoded as strictly as the policy decodes it when it verifies the device's signatures."""
    if not isinstance(value, str):
        raise FieldError("enroll.bad_public_key", "public_key must be a string")
    try:
        decode_key(value)
    except KeyInvalid:
        raise FieldError(
            "enroll.bad_public_key", "public_key must be unpadded base64url of 32 raw bytes"
        ) from None
    return value


def enroll_device(
    session: Session, code: str, public_key: str, name: str, client: str
) -> Enrollment:
    """Spend ``code`` for a new device; raises ``FieldError`` for a bad, spent or expired code."""
    now = _now()
    failures = session.exec(
        select(func.count())
        .select_from(EnrollmentAttempt)
        .where(EnrollmentAttempt.client == client, col(EnrollmentAttempt.at) > now - ATTEMPT_WINDOW)
    ).one()
    if failures >= MAX_FAILURES:
        raise FieldError(
            "enroll.rate_limited", "too many failed enrollment attempts; try again later"
        )
    key = _decode_public_key(public_key)
    if not isinstance(name, str) or len(name) > 200:
        raise FieldError("enroll.bad_name", "name must be a string of at most 200 characters")
    row = session.get(EnrollmentCode, _hash(code)) if isinstance(code, str) else None
    problem = None
    if row is None:
        problem = FieldError("enroll.unknown_code", "unknown enrollment code", status=403)
    elif row.spent_at is not None:
        problem = FieldError(
            "enroll.code_spent", "this enrollment code was already used", status=403
        )
    elif row.expires_at <= now:
        problem = FieldError("enroll.code_expired", "this enrollment code has expired", status=403)
    if problem is not None or row is None:
        session.add(EnrollmentAttempt(client=client, at=now))
        session.commit()
        raise problem or FieldError("enroll.unknown_code", "unknown enrollment code", status=403)
    agent = get_agent(session, row.agent_id)
    token = secrets.token_urlsafe(32)  # 256 random bits
    device = Device(
        id=f"dev-{str(ULID()).lower()}",
        agent_id=agent.id,
        name=name,
        public_key=key,
        token_hash=hash_token(token),
        enrolled_at=now,
    )
    # Spend the code with a conditional update: of two devices racing for one code, one wins.
    spent = session.execute(
        update(EnrollmentCode)
        .where(
            col(EnrollmentCode.code_hash) == row.code_hash,
            col(EnrollmentCode.spent_at).is_(None),
        )
        .values(spent_at=now, device_id=device.id)
    )
    if getattr(spent, "rowcount", 0) != 1:
        session.rollback()
        raise FieldError("enroll.code_spent", "this enrollment code was already used", status=403)
    session.add(device)
    session.commit()
    session.refresh(device)
    return Enrollment(device, token, agent.grid_id, agent.station_id)
