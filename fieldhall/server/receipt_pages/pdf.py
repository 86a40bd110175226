"""The applicant's receipt as a one-page PDF, written by hand (no PDF library needed).

Chinese text uses the standard CJK font STSong-Light (Adobe-GB1) through the predefined
``UniGB-UTF16-H`` CMap, so strings are plain UTF-16BE and no font is embedded — every PDF
reader ships or substitutes it; digests and the URL use the base-14 Courier. The QR code is
drawn as filled squares.
"""

from __future__ import annotations

import textwrap

from .qr import QUIET_ZONE, qr_matrix
from .views import ReceiptSheet, short_id

__all__ = ["sheet_pdf"]

_PAGE_W, _PAGE_H = 595, 842  # A4 in points
_MARGIN = 56


def _cjk(text: str) -> str:
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def _latin(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return "(" + escaped.encode("ascii", "replace").decode("ascii") + ")"


class _Page:
    def __init__(self) -> None:
        self.ops: list[str] = []
        self.y = _PAGE_H - _MARGIN

    def text(
        self, value: str, size: float = 12, *, latin: bool = False, x: float = _MARGIN
    ) -> None:
        font, string = ("F2", _latin(value)) if latin else ("F1", _cjk(value))
        self.ops.append(f"BT /{font} {size:g} Tf {x:g} {self.y:g} Td {string} Tj ET")

    def line(self, label: str, value: str, *, latin: bool = False, width: int = 28) -> None:
        self.text(label, 12)
        chunks = textwrap.wrap(value, 56 if latin else width) or ["—"]
        for chunk in chunks:
            self.text(chunk, 10 if latin else 12, latin=latin, x=_MARGIN + 84)
            self.y -= 18
        self.y -= 4

    def qr(self, payload: str, x: float, top: float, size: float) -> None:
        matrix = qr_matrix(payload)
        module = size / (len(matrix) + 2 * QUIET_ZONE)
        squares = [
            f"{x + (cx + QUIET_ZONE) * module:.2f} {top - (cy + QUIET_ZONE + 1) * module:.2f} "
            f"{module:.2f} {module:.2f} re"
            for cy, row in enumerate(matrix)
            for cx, dark in enumerate(row)
            if dark
        ]
        self.ops.append("q 0 g " + " ".join(squares) + " f Q")


def _document(content: bytes) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_W} {_PAGE_H}] "
        "/Resources << /Font << /F1 5 0 R /F2 8 0 R >> >> /Contents 4 0 R >>".encode(),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
        b"/FontDescriptor 7 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 93 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def sheet_pdf(sheet: ReceiptSheet, verify_url: str) -> bytes:
    page = _Page()
    page.text("政务服务受理回执", 20)
    page.y -= 22
    page.text("回执编号 ", 10)
    page.text(short_id(sheet.receipt_id), 10, latin=True, x=_MARGIN + 52)
    page.y -= 30
    page.line("办理事项", sheet.matter_name)
    page.line("申请人", sheet.applicant)
    page.line("接收时间", sheet.received_at_local)
    page.line("已收材料", "、".join(f"{name} {count} 份" for name, count in sheet.materials))
    page.line("案件编号", sheet.case_id, latin=True)
    page.line("签名", "服务器签名有效" if sheet.check.signature_holds else "签名无法验证")
    page.y -= 8
    page.qr(verify_url, _MARGIN, page.y, 150)
    page.y -= 170
    page.text("扫描二维码或访问以下网址核验本回执：", 11)
    page.y -= 16
    for chunk in textwrap.wrap(verify_url, 80):
        page.text(chunk, 9, latin=True)
        page.y -= 13
    page.y -= 12
    page.text("本回执仅证明政务服务中心已收到上述申请材料，不代表审批结果。", 9)
    return _document("\n".join(page.ops).encode("ascii"))
