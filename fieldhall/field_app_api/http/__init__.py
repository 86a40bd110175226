"""The field API's HTTP surface: ``/api/v1`` for devices and admins, ``/sync`` for replication."""

from .router import field_api_router, field_error_handlers

__all__ = ["field_api_router", "field_error_handlers"]
