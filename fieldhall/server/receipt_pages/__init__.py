"""The resident's receipt (回执): a printable page and PDF for the applicant, and the public
``/verify/{receipt id}`` page its QR code opens."""

from .pages_api import ReceiptPagesController
from .views import ReceiptCheck, ReceiptSheet, applicant_sheet, check_receipt, load_receipt

__all__ = [
    "ReceiptCheck",
    "ReceiptPagesController",
    "ReceiptSheet",
    "applicant_sheet",
    "check_receipt",
    "load_receipt",
]
