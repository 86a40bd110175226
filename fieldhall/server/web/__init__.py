"""The hall's web UI under ``/hall``: server-rendered pages for clerks, approvers and
supervisors, in Chinese first (English available)."""

from .router import hall_web_router, web_parts

__all__ = ["hall_web_router", "web_parts"]
