"""Home-visit requests (上门服务工单): created by staff from the 12345 hotline, the community
or a family member, dispatched to the agents of the resident's grid as a server-signed
``visit_request``, progressed by the agent's signed ``visit_update`` documents, watched by
the hotline's timers and the four-step escalation ladder, and linked to the cases filed on
the visit."""

from .arrivals import link_case, receive_update
from .ladder import ADDRESSEES
from .queries import VisitFilter, list_requests, request_detail
from .service import EscalationListener, VisitEscalation, VisitOutcome, VisitService
from .sweeper import VisitSweeper
from .tables import HallVisitCase, HallVisitEscalation, HallVisitRequest, HallVisitUpdate

__all__ = [
    "ADDRESSEES",
    "EscalationListener",
    "HallVisitCase",
    "HallVisitEscalation",
    "HallVisitRequest",
    "HallVisitUpdate",
    "VisitEscalation",
    "VisitFilter",
    "VisitOutcome",
    "VisitService",
    "VisitSweeper",
    "link_case",
    "list_requests",
    "receive_update",
    "request_detail",
]
