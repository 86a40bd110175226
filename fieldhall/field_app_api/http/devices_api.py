"""Device endpoints: enrollment (public, code-authorised) and the device's own view."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_201_CREATED

from ..enrollment import enroll_device
from ..errors import FieldError
from ..keys import b64url, current_signing_key, sealing_key
from .auth import require_device, service_of

__all__ = ["DeviceController"]


class EnrollRequest(msgspec.Struct, forbid_unknown_fields=False):
    code: str
    public_key: str
    name: str = ""


def sync_url(request: Request) -> str:  # type: ignore[type-arg]
    """The absolute URL of the field database, without a trailing slash."""
    configured = getattr(request.app.state, "public_url", None)
    base = configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
    return f"{base}/sync/field"


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["devices"]

    @post("/enroll", status_code=HTTP_201_CREATED, sync_to_thread=True)
    def enroll(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:  # type: ignore[type-arg]
        """Trade a one-time enrollment code and an Ed25519 public key for a device token."""
        try:
            body = msgspec.convert(data, EnrollRequest)
        except msgspec.ValidationError as exc:
            raise FieldError("enroll.bad_request", str(exc)) from None
        client = request.client.host if request.client else "unknown"
        service = service_of(request)
        refused: FieldError | None = None
        with service.session() as session:
            try:
                enrollment = enroll_device(session, body.code, body.public_key, body.name, client)
            except FieldError as exc:
                # Leave the block normally so that the failed attempt enroll_device recorded
                # commits: the rate limit counts it (raising here would roll it back).
                refused = exc
            else:
                key_id, signing = current_signing_key(session)
                hall_public, _ = sealing_key(session)
        if refused is not None:
            raise refused
        from cryptography.hazmat.primitives import serialization

        signing_public = signing.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {
            "device_id": enrollment.device.id,
            "agent_id": enrollment.device.agent_id,
            "grid_id": enrollment.grid_id,
            "station_id": enrollment.station_id,
            "token": enrollment.token,
            "sync_url": sync_url(request),
            "server_signing_key": b64url(signing_public),
            "server_key_id": key_id,
            "hall_encryption_key": hall_public,
        }

    @get("/me", sync_to_thread=True)
    def me(self, request: Request) -> dict[str, Any]:  # type: ignore[type-arg]
        """The calling device as the server knows it (a cheap check that the token works)."""
        identity = require_device(request)
        return {
            "device_id": identity.device_id,
            "agent_id": identity.agent_id,
            "grid_id": identity.grid_id,
            "station_id": identity.station_id,
            "channels": sorted(identity.channels),
        }
