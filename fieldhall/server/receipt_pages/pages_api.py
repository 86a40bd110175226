"""``GET /receipts/{id}`` (and ``/receipts/{id}.pdf``): the applicant's printable receipt;
``GET /verify/{id}``: its public check. ``{id}`` is ``receipt:<ULID>`` or the ULID alone.

Who may open the receipt: the device of the agent it was issued to (its bearer token: the
field app prints it for the resident on the spot) and hall staff (HTTP Basic, any role: a
clerk reprints it at the window). It carries the matter and the applicant's masked name, so
it is not public; another agent's device gets 404, as for a document it cannot see. The
check page is public — it is what the QR code opens — and shows only the signature verdict,
the time received and SHA-256 digests.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get

from fieldhall.field_app_api.errors import FieldError
from fieldhall.field_app_api.http.auth import bearer_token, require_device, require_staff
from fieldhall.field_app_api.service import FieldService

from .html import check_page, not_found_page, sheet_page
from .pdf import sheet_pdf
from .views import ReceiptNotFound, applicant_sheet, check_receipt, load_receipt, short_id

__all__ = ["ReceiptPagesController"]

Req = Request[Any, Any, Any]
_HTML = "text/html; charset=utf-8"
_PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _field(request: Req) -> FieldService:
    service: FieldService = request.app.state.field
    return service


def _base_url(request: Req) -> str:
    configured = getattr(request.app.state, "public_url", None)
    return str(configured or request.base_url).rstrip("/")


def _authorize(request: Req, receipt: dict[str, Any]) -> None:
    """The issuing agent's device, or any staff member; 404 for another agent's device."""
    if bearer_token(request.headers.get("authorization", "")) is not None:
        device = require_device(request)
        if device.agent_id != receipt.get("agent_id"):
            raise FieldError("receipt.not_found", "no such receipt", status=404)
        return
    require_staff(request)


class ReceiptPagesController(Controller):
    path = "/"
    tags = ("receipts",)

    @get("/receipts/{ref:str}", sync_to_thread=True)
    def receipt(self, request: Req, ref: str) -> Response[Any]:
        """The printable receipt (HTML), or its PDF when ``ref`` ends in ``.pdf``."""
        as_pdf = ref.endswith(".pdf")
        try:
            receipt = load_receipt(_field(request), ref.removesuffix(".pdf"))
        except ReceiptNotFound:
            raise FieldError("receipt.not_found", "no such receipt", status=404) from None
        _authorize(request, receipt)
        sheet = applicant_sheet(_field(request), receipt)
        base = _base_url(request)
        number = short_id(sheet.receipt_id)
        verify_url = f"{base}/verify/{number}"
        if as_pdf:
            disposition = f'inline; filename="receipt-{number}.pdf"'
            headers = {**_PRIVATE, "Content-Disposition": disposition}
            return Response(
                sheet_pdf(sheet, verify_url), media_type="application/pdf", headers=headers
            )
        pdf_url = f"{base}/receipts/{number}.pdf"
        return Response(sheet_page(sheet, verify_url, pdf_url), media_type=_HTML, headers=_PRIVATE)

    @get("/verify/{ref:str}", sync_to_thread=True)
    def verify(self, request: Req, ref: str) -> Response[str]:
        """Public: does the server's signature on this receipt hold, and what did it receive."""
        try:
            receipt = load_receipt(_field(request), ref)
        except ReceiptNotFound:
            return Response(not_found_page(), status_code=404, media_type=_HTML)
        check = check_receipt(_field(request), receipt)
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        return Response(check_page(check), media_type=MediaType.HTML, headers=headers)
