"""Enrollment from the device's side: a fresh Ed25519 key pair, traded with a one-time code
for the device's identity (ARCHITECTURE, "Enrollment").

``POST /api/v1/devices/enroll`` with ``{"code", "public_key", "name"}`` (the key as unpadded
base64url of its 32 raw bytes) answers 201 with ``device_id``, ``agent_id``, ``grid_id``,
``station_id``, ``token``, ``sync_url``, ``server_signing_key``, ``server_key_id`` and
``hall_encryption_key``; anything else is a refusal with the server's error code.
"""

from __future__ import annotations

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldhall.schemas.keys import b64url_encode, private_key_raw, public_key_raw

from .errors import EnrollmentRefused, ServerUnreachable
from .state import DeviceState

__all__ = ["ENROLL_PATH", "request_enrollment"]

ENROLL_PATH = "/api/v1/devices/enroll"
TIMEOUT_S = 30.0


def request_enrollment(
    server: str, code: str, name: str, http: httpx.Client | None = None
) -> DeviceState:
    """The new device's state (not yet saved); raises :class:`EnrollmentRefused` or
    :class:`ServerUnreachable`. The code is spent once this returns."""
    key = Ed25519PrivateKey.generate()
    base = server.rstrip("/")
    body = {"code": code, "public_key": b64url_encode(public_key_raw(key)), "name": name}
    try:
        if http is not None:
            response = http.post(base + ENROLL_PATH, json=body)
        else:
            with httpx.Client(timeout=TIMEOUT_S) as client:
                response = client.post(base + ENROLL_PATH, json=body)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(f"cannot reach {base}: {exc}") from exc
    if response.status_code != 201:
        error, reason = _error_of(response)
        raise EnrollmentRefused(
            f"enrollment refused ({response.status_code} {error}: {reason})",
            server_code=error or None,
        )
    reply = response.json()
    return DeviceState(
        server=base,
        device_id=reply["device_id"],
        agent_id=reply["agent_id"],
        grid_id=reply["grid_id"],
        station_id=reply["station_id"],
        token=reply["token"],
        private_key=b64url_encode(private_key_raw(key)),
        sync_url=reply["sync_url"],
        server_signing_key=reply["server_signing_key"],
        server_key_id=reply["server_key_id"],
        hall_encryption_key=reply["hall_encryption_key"],
        server_keys={reply["server_key_id"]: reply["server_signing_key"]},
        name=name,
    )


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("reason") or "")
