"""Who is calling the REST API: a device (``Authorization: Bearer <token>``) or a staff
member (HTTP Basic)."""

from __future__ import annotations

import base64
import binascii

from litestar import Request

from ..devices import DeviceIdentity, authenticate_token
from ..errors import FieldError
from ..service import FieldService
from ..staff import verify_staff
from ..tables import StaffAccount

__all__ = ["DEVICE_UNAUTHORIZED", "require_admin", "require_device", "service_of"]

# The contract fixes the device's 401 as CouchDB spells it, the same on /sync/field and on the
# device API: {"error": "unauthorized"} (ARCHITECTURE, "Principals and channels").
DEVICE_UNAUTHORIZED = "unauthorized"


def service_of(request: Request) -> FieldService:  # type: ignore[type-arg]
    service: FieldService = request.app.state.field
    return service


def bearer_token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, sep, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return (name, password) if sep else None


def require_device(request: Request) -> DeviceIdentity:  # type: ignore[type-arg]
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise FieldError(DEVICE_UNAUTHORIZED, "a device bearer token is required", status=401)
    identity = authenticate_token(service_of(request).store.db, token)
    if identity is None:
        raise FieldError(DEVICE_UNAUTHORIZED, "unknown or revoked device token", status=401)
    return identity


def require_staff(request: Request, *roles: str) -> StaffAccount:  # type: ignore[type-arg]
    credentials = basic_credentials(request.headers.get("authorization", ""))
    if credentials is None:
        raise FieldError(
            "staff.unauthorized", "staff credentials (HTTP Basic) are required", status=401
        )
    account = verify_staff(service_of(request), *credentials)
    if account is None:
        raise FieldError("staff.unauthorized", "wrong username or password", status=401)
    if roles and account.role not in roles:
        raise FieldError("staff.forbidden", f"this needs the role {' or '.join(roles)}", status=403)
    return account


def require_admin(request: Request) -> StaffAccount:  # type: ignore[type-arg]
    return require_staff(request, "admin")
