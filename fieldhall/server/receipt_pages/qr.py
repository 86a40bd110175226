"""QR codes for the receipt pages, drawn by us from the ``qrcode`` package's module matrix:
inline SVG for HTML (no CDN, no image request) and rectangles for the PDF."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

__all__ = ["QUIET_ZONE", "qr_matrix", "qr_svg"]

QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 asks


def qr_matrix(text: str) -> list[list[bool]]:
    """The dark (True) and light modules of ``text``'s QR code, without the quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(text)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def qr_svg(text: str, size_px: int = 160) -> str:
    """An inline ``<svg>`` of ``text``'s QR code, ``size_px`` wide."""
    matrix = qr_matrix(text)
    side = len(matrix) + 2 * QUIET_ZONE
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h1v1h-1z"
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
        if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'width="{size_px}" height="{size_px}" shape-rendering="crispEdges" role="img" '
        f'aria-label="验证二维码"><rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )
