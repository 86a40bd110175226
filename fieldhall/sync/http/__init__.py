"""The CouchDB HTTP surface of the store."""

from .app import CouchApp, couch_router, new_server_uuid
from .auth import AdminAuthenticator, Authenticator
from .context import ServerSettings

__all__ = [
    "AdminAuthenticator",
    "Authenticator",
    "CouchApp",
    "ServerSettings",
    "couch_router",
    "new_server_uuid",
]
