"""The two receipt pages as zh-CN HTML: the applicant's printable sheet and the public check.

Plain HTML with inline CSS and an inline SVG QR code: nothing is fetched from elsewhere, and
the sheet prints on one A5/A4 page.
"""

from __future__ import annotations

from html import escape

from .qr import qr_svg
from .views import ReceiptCheck, ReceiptSheet, short_id

__all__ = ["check_page", "not_found_page", "sheet_page"]

_STYLE = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
sans-serif;margin:0;padding:24px;color:#111;background:#fff}
main{max-width:720px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}
.sub{color:#555;font-size:13px;margin:0 0 18px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}
th,td{border:1px solid #999;padding:6px 10px;text-align:left;vertical-align:top;font-size:15px}
th{width:8em;background:#f3f3f3;font-weight:600}
.qr{display:flex;gap:16px;align-items:center;margin-top:8px}
.qr p{font-size:13px;color:#333;margin:0;word-break:break-all}
code{font-family:"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all}
.ok{color:#0a6b2d;font-weight:700}.bad{color:#b00020;font-weight:700}
.note{font-size:12px;color:#555;margin-top:18px}
.actions{margin:16px 0}
@media print{.actions{display:none}body{padding:0}@page{size:A5;margin:12mm}}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def sheet_page(sheet: ReceiptSheet, verify_url: str, pdf_url: str) -> str:
    materials = "、".join(f"{escape(name)} {count} 份" for name, count in sheet.materials) or "—"
    verdict = (
        '<span class="ok">服务器签名有效</span>'
        if sheet.check.signature_holds
        else '<span class="bad">签名无法验证</span>'
    )
    body = f"""
<h1>政务服务受理回执</h1>
<p class="sub">回执编号 {escape(short_id(sheet.receipt_id))}</p>
<table>
<tr><th>办理事项</th><td>{escape(sheet.matter_name)}</td></tr>
<tr><th>申请人</th><td>{escape(sheet.applicant)}</td></tr>
<tr><th>接收时间</th><td>{escape(sheet.received_at_local)}</td></tr>
<tr><th>已收材料</th><td>{materials}</td></tr>
<tr><th>案件编号</th><td><code>{escape(sheet.case_id)}</code></td></tr>
<tr><th>签名</th><td>{verdict}</td></tr>
</table>
<div class="qr">{qr_svg(verify_url)}
<p>扫描二维码或访问以下网址，核验本回执是否由政务服务中心签发、所收材料是否被改动：<br>
<code>{escape(verify_url)}</code></p></div>
<p class="actions"><button onclick="window.print()">打印回执</button>
<a href="{escape(pdf_url)}">下载 PDF</a></p>
<p class="note">本回执仅证明政务服务中心已收到上述申请材料，不代表审批结果。请妥善保管。</p>
"""
    return _page("受理回执", body)


def check_page(check: ReceiptCheck) -> str:
    if check.signature_holds:
        verdict = '<span class="ok">✔ 签名有效：本回执由政务服务中心签发，内容未被改动。</span>'
    else:
        verdict = '<span class="bad">✘ 签名无效：本回执不能证明任何事项。</span>'
    status = {"current": "现行密钥", "retired": "已轮换的历史密钥", "unknown": "未知密钥"}
    on_file = {True: "一致", False: "不一致", None: "存档中无此文件"}[check.on_file]
    files = "".join(f"<li><code>{escape(h)}</code></li>" for h in check.file_sha256) or "<li>—</li>"
    body = f"""
<h1>回执核验</h1>
<p class="sub">回执编号 {escape(short_id(check.receipt_id))}</p>
<p>{verdict}</p>
<table>
<tr><th>接收时间</th><td>{escape(check.received_at)}</td></tr>
<tr><th>签名密钥</th><td><code>server:{escape(check.key_id or "—")}</code>
（{status[check.key_status]}）</td></tr>
<tr><th>文书摘要</th><td><code>{escape(check.document_sha256)}</code></td></tr>
<tr><th>文件摘要</th><td><ul>{files}</ul></td></tr>
<tr><th>与存档比对</th><td>{on_file}</td></tr>
</table>
<p class="note">摘要为 SHA-256。本页不显示任何个人信息；密钥列表见 /api/v1/keys。</p>
"""
    return _page("回执核验", body)


def not_found_page() -> str:
    return _page("未找到回执", "<h1>未找到该回执</h1><p>请核对回执编号或二维码。</p>")
