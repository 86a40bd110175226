"""The hall's REST surface under ``/api/v1``: cases, their actions, reports."""

from .router import hall_api_router, hall_error_handlers

__all__ = ["hall_api_router", "hall_error_handlers"]
