"""``/api/v1/notifications``: the warnings and decisions raised, with their delivery state
(newest first, keyset paging), and re-queueing one that failed for good."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from ..errors import NotFound
from ..notifications import list_notifications, notification_json
from ..notifications.records import requeue
from .access import hall_of, supervisor_or_admin

__all__ = ["NotificationController"]


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/", sync_to_thread=True)
    def notifications(
        self,
        request: Request[Any, Any, Any],
        kind: str | None = None,
        delivery_state: Annotated[str | None, Parameter(query="state")] = None,
        subject: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Filters: ``kind``, ``state`` (pending, delivered, failed), ``subject`` (an id)."""
        supervisor_or_admin(request)
        with hall_of(request).field.read_session() as session:
            rows, following = list_notifications(
                session,
                kind=kind,
                state=delivery_state,
                subject_id=subject,
                limit=limit,
                cursor=cursor,
            )
            return {"notifications": [notification_json(r) for r in rows], "next": following}

    @post("/{notification_id:str}/retry", status_code=HTTP_200_OK, sync_to_thread=True)
    def retry(self, request: Request[Any, Any, Any], notification_id: str) -> dict[str, Any]:
        """Send a notification that failed for good again (after the receiver was fixed)."""
        account = supervisor_or_admin(request)
        if not notification_id.isdigit() or len(notification_id) > 18:
            raise NotFound("notification.not_found", f"no notification {notification_id!r}")
        hall = hall_of(request)
        with hall.field.session() as session:
            row = requeue(session, int(notification_id), account.username)
            body = notification_json(row)
        hall.notifications.wake()
        return body
