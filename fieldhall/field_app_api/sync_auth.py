"""Who is calling ``/sync``: an enrolled device by its bearer token (reads its channels,
writes through the field policy) or a staff admin by HTTP Basic (everything)."""

from __future__ import annotations

from fieldhall.sync.errors import Unauthorized
from fieldhall.sync.http.asgi import Request
from fieldhall.sync.http.auth import basic_credentials
from fieldhall.sync.policy import ADMIN, Principal

from .devices import DeviceIdentity, authenticate_token
from .service import FieldService
from .staff import verify_staff

__all__ = ["FieldSyncAuthenticator", "device_principal"]


def device_principal(identity: DeviceIdentity) -> Principal:
    return Principal(identity.device_id, identity.channels, context={"device": identity})


class FieldSyncAuthenticator:
    def __init__(self, service: FieldService) -> None:
        self.service = service

    def authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            identity = authenticate_token(self.service.store.db, value.strip())
            if identity is None:
                raise Unauthorized("unknown or revoked device token")
            return device_principal(identity)
        credentials = basic_credentials(request)
        if credentials is not None:
            principal = self.login(*credentials)
            if principal is not None:
                return principal
            raise Unauthorized("Name or password is incorrect.")
        raise Unauthorized("a device token or staff credentials are required")

    def login(self, name: str, password: str) -> Principal | None:
        account = verify_staff(self.service, name, password)
        return ADMIN if account is not None and account.role == "admin" else None

    def session_cookie(self, principal: Principal) -> str | None:
        return None
