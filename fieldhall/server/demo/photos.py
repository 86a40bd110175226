"""The demo's photos: small, real JPEGs drawn with Pillow, deterministic for a seed — an ID
card photographed on a desk, a portrait, a page of the household register (户口簿), a bank
card, a stamped paper document, and handwritten signatures.

Every image says SPECIMEN / DEMO across it. Text is drawn with Pillow's bundled font, which
has no Chinese glyphs: Chinese fields are drawn as the grey and black bars of text seen from
afar, digits (ID numbers, dates, card numbers) as digits. Each image is a few kilobytes and
takes a few milliseconds; the door inspects them like any phone photo.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from functools import cache
from itertools import pairwise

from PIL import Image, ImageDraw, ImageFont

from .people import Person

__all__ = [
    "bank_card",
    "document_page",
    "household_register",
    "id_card",
    "pdf_document",
    "portrait",
    "signature",
]

Color = tuple[int, int, int]
INK: Color = (34, 34, 40)
STAMP_RED: Color = (200, 40, 40)
JPEG_QUALITY = 80


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _rng(*parts: object) -> random.Random:
    return random.Random("/".join(str(p) for p in parts))


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _text_bars(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    x: int,
    y: int,
    chars: int,
    *,
    height: int = 9,
    color: Color = INK,
) -> int:
    """``chars`` characters of Chinese text as seen in a photo: one blot per character."""
    for _ in range(chars):
        width = height - rng.randint(0, 2)
        lift = rng.randint(0, 40)
        shade = (min(255, color[0] + lift), min(255, color[1] + lift), min(255, color[2] + lift))
        draw.rectangle((x, y + rng.randint(0, 1), x + width, y + height), fill=shade)
        x += height + 3
    return x


def _watermark(image: Image.Image, text: str = "SPECIMEN / DEMO") -> Image.Image:
    size = max(14, image.width // 12)
    font = _font(size)
    _, _, right, bottom = font.getbbox(text)
    mask = Image.new("L", (int(right) + 4, int(bottom) + 4), 0)
    ImageDraw.Draw(mask).text((2, 2), text, fill=110, font=font)
    mask = mask.rotate(18, expand=True, resample=Image.Resampling.BILINEAR)
    out = image.convert("RGB")
    where = ((out.width - mask.width) // 2, (out.height - mask.height) // 2)
    out.paste(Image.new("RGB", mask.size, STAMP_RED), where, mask)
    return out


def _stamp(draw: ImageDraw.ImageDraw, cx: int, cy: int, radius: int) -> None:
    """A red round seal: the ring, the star and the word DEMO."""
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=STAMP_RED, width=3)
    points = []
    for i in range(10):
        r = radius * (0.32 if i % 2 == 0 else 0.13)
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + r * math.cos(angle), cy - radius * 0.1 + r * math.sin(angle)))
    draw.polygon(points, fill=STAMP_RED)
    size = max(9, radius // 3)
    draw.text((cx, cy + radius * 0.5), "DEMO", fill=STAMP_RED, font=_font(size), anchor="mm")


def _on_desk(card: Image.Image, rng: random.Random, margin: int = 26) -> Image.Image:
    """The card as a phone photographs it: on a desk, a little askew."""
    wood: Color = (rng.randint(150, 185), rng.randint(110, 135), rng.randint(70, 95))
    width, height = card.width + 2 * margin, card.height + 2 * margin
    desk = Image.new("RGB", (width, height), wood)
    draw = ImageDraw.Draw(desk)
    for y in range(0, height, 3):  # wood grain
        shade = rng.randint(-12, 12)
        draw.line((0, y, width, y + rng.randint(-4, 4)), fill=tuple(c + shade for c in wood))
    tilted = card.convert("RGBA").rotate(
        rng.uniform(-4, 4), expand=True, resample=Image.Resampling.BILINEAR
    )
    desk.paste(tilted, ((width - tilted.width) // 2, (height - tilted.height) // 2), tilted)
    return desk


def _head(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], rng: random.Random) -> None:
    """A head and shoulders in ``box`` (an ID photo's silhouette)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    skin: Color = (rng.randint(205, 235), rng.randint(170, 200), rng.randint(140, 170))
    hair = rng.choice([(30, 30, 30), (70, 70, 70), (200, 200, 200), (150, 150, 150)])
    cloth = rng.choice([(40, 60, 110), (90, 40, 40), (50, 50, 50), (60, 90, 70)])
    draw.ellipse((x0 + w * 0.05, y0 + h * 0.68, x1 - w * 0.05, y1 + h * 0.4), fill=cloth)
    draw.rectangle((x0 + w * 0.42, y0 + h * 0.55, x0 + w * 0.58, y0 + h * 0.75), fill=skin)
    draw.ellipse((x0 + w * 0.26, y0 + h * 0.14, x0 + w * 0.74, y0 + h * 0.66), fill=skin)
    draw.chord((x0 + w * 0.24, y0 + h * 0.1, x0 + w * 0.76, y0 + h * 0.5), 180, 360, fill=hair)
    eye_y = y0 + h * 0.4
    for ex in (0.4, 0.6):
        draw.ellipse((x0 + w * ex - 3, eye_y - 2, x0 + w * ex + 3, eye_y + 2), fill=INK)
    draw.arc((x0 + w * 0.42, y0 + h * 0.47, x0 + w * 0.58, y0 + h * 0.57), 20, 160, fill=INK)


def id_card(person: Person, seed: int) -> bytes:
    """The front of a resident ID card (居民身份证) photographed on a desk."""
    rng = _rng("id", seed)
    card = Image.new("RGB", (428, 270), (236, 240, 232))
    draw = ImageDraw.Draw(card)
    for i in range(0, 428, 6):  # the guilloche background
        y = 135 + 60 * math.sin(i / 37 + seed)
        draw.arc((i - 80, y - 80, i + 80, y + 80), 200, 340, fill=(214, 226, 214))
    label = (130, 150, 170)
    rows = [(26, 2, len(person.name)), (62, 2, 1), (98, 2, 0), (134, 2, 14)]
    for y, label_chars, value_chars in rows:
        x = _text_bars(draw, rng, 24, y, label_chars, height=10, color=label) + 14
        if value_chars:
            _text_bars(draw, rng, x, y - 1, value_chars, height=12)
    draw.text((74, 94), f"{person.birth:%Y   %m   %d}", fill=INK, font=_font(15))
    _text_bars(draw, rng, 74, 156, 10, height=12)  # the address's second line
    _head(draw, (296, 22, 396, 158), rng)
    _text_bars(draw, rng, 24, 222, 6, height=10, color=label)
    draw.text((124, 217), person.id_number, fill=INK, font=_font(19))
    return _jpeg(_watermark(_on_desk(card, rng)))


def portrait(person: Person, seed: int) -> bytes:
    """A two-inch ID photo (二寸照) on a plain background."""
    rng = _rng("portrait", seed)
    background = rng.choice([(255, 255, 255), (67, 142, 219), (210, 40, 40)])
    image = Image.new("RGB", (180, 240), background)
    _head(ImageDraw.Draw(image), (0, 10, 180, 240), rng)
    return _jpeg(_watermark(image))


def household_register(person: Person, seed: int) -> bytes:
    """The holder's page of the household register (常住人口登记卡) on a desk."""
    rng = _rng("hukou", seed)
    page = Image.new("RGB", (500, 340), (246, 236, 226))
    draw = ImageDraw.Draw(page)
    brown = (150, 90, 70)
    _text_bars(draw, rng, 170, 14, 7, height=14, color=brown)
    top, rows, bottom = 44, 8, 326
    step = (bottom - top) // rows
    draw.rectangle((14, top, 486, bottom), outline=brown, width=2)
    for r in range(1, rows):
        y = top + r * step
        draw.line((14, y, 486, y), fill=brown)
    for x in (88, 250, 324):
        draw.line((x, top, x, bottom), fill=brown)
    for r in range(rows):
        y = top + r * step + step // 2 - 5
        _text_bars(draw, rng, 22, y, 4, height=10, color=brown)
        _text_bars(draw, rng, 258, y, 4, height=10, color=brown)
        if r == 3:
            draw.text((96, y - 4), f"{person.birth:%Y.%m.%d}", fill=INK, font=_font(14))
        elif r == 6:
            draw.text((96, y - 4), person.id_number[:9], fill=INK, font=_font(13))
            draw.text((332, y - 4), person.id_number[9:], fill=INK, font=_font(13))
        else:
            _text_bars(draw, rng, 96, y, rng.randint(2, 8), height=11)
            _text_bars(draw, rng, 332, y, rng.randint(2, 8), height=11)
    _stamp(draw, 420, 270, 42)
    return _jpeg(_watermark(_on_desk(page, rng, margin=20)))


def bank_card(seed: int) -> bytes:
    """A debit card, its number partly hidden as agents are taught to photograph it."""
    rng = _rng("bank", seed)
    top: Color = (rng.randint(20, 60), rng.randint(60, 120), rng.randint(120, 180))
    card = Image.new("RGB", (428, 270), top)
    draw = ImageDraw.Draw(card)
    for y in range(270):
        fade = y / 270
        draw.line((0, y, 428, y), fill=tuple(int(c + (230 - c) * fade * 0.5) for c in top))
    draw.rounded_rectangle((40, 90, 100, 135), radius=6, fill=(212, 180, 90))
    number = f"6222 0{rng.randrange(1000):03d} **** {rng.randrange(10_000):04d}"
    draw.text((40, 170), number, fill=(245, 245, 245), font=_font(24))
    _text_bars(draw, rng, 40, 30, 6, height=16, color=(245, 245, 245))
    return _jpeg(_watermark(_on_desk(card, rng)))


def document_page(kind: str, seed: int, *, lines: int = 14) -> bytes:
    """A stamped paper document (a certificate, contract, proof or record) on a desk."""
    rng = _rng("doc", kind, seed)
    return _jpeg(_watermark(_on_desk(_page(rng, lines), rng, margin=18)))


def pdf_document(kind: str, seed: int, *, lines: int = 14) -> bytes:
    """A stamped document as the one-page PDF a scanner or an office exports."""
    page = _watermark(_page(_rng("pdf", kind, seed), lines))
    out = io.BytesIO()
    page.save(out, "PDF", resolution=72.0, title=f"{kind} (SPECIMEN / DEMO)")
    return out.getvalue()


def _page(rng: random.Random, lines: int) -> Image.Image:
    page = Image.new("RGB", (360, 500), (250, 250, 246))
    draw = ImageDraw.Draw(page)
    _text_bars(draw, rng, 120, 28, rng.randint(4, 8), height=16)
    y = 76
    for i in range(lines):
        indent = 24 if i == 0 or rng.random() < 0.15 else 0
        _text_bars(draw, rng, 30 + indent, y, rng.randint(12, 22) - indent // 12, height=9)
        y += 24
    draw.text(
        (180, y + 10),
        f"{2026 - rng.randrange(6)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d}",
        font=_font(14),
        fill=INK,
    )
    _stamp(draw, 270, y + 4, 44)
    return page


def _strokes(
    rng: random.Random, x: float, width: float, height: float
) -> list[list[tuple[float, float]]]:
    """The pen strokes of one handwritten character, as polylines."""
    strokes = []
    for _ in range(rng.randint(3, 6)):
        points = []
        px, py = x + rng.uniform(0, width), rng.uniform(0.15, 0.85) * height
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(rng.randint(3, 7)):
            points.append((px, py))
            angle += rng.uniform(-0.9, 0.9)
            length = rng.uniform(4, width / 2.5)
            px = min(max(px + length * math.cos(angle), x), x + width)
            py = min(max(py + length * math.sin(angle), 8), height - 8)
        strokes.append(points)
    return strokes


def signature(name: str, seed: int) -> bytes:
    """``name`` signed by hand on the device's screen (one scrawl per character)."""
    rng = _rng("signature", name, seed)
    image = Image.new("RGB", (320, 120), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    ink = rng.choice([(20, 20, 30), (20, 30, 110)])
    x = 24.0
    cell = (320 - 48) / max(3, len(name))
    for _ in name:
        for points in _strokes(rng, x, cell * 0.85, 120):
            draw.line(_smooth(points), fill=ink, width=rng.randint(2, 4), joint="curve")
        x += cell
    draw.text((6, 104), "DEMO", fill=(200, 200, 200), font=_font(11))
    return _jpeg(image)


def _smooth(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Chaikin's corner cutting, twice: a pen's curve through the polyline."""
    out = list(points)
    for _ in range(2):
        if len(out) < 3:
            return out
        cut = [out[0]]
        for (ax, ay), (bx, by) in pairwise(out):
            cut += [(0.75 * ax + 0.25 * bx, 0.75 * ay + 0.25 * by)]
            cut += [(0.25 * ax + 0.75 * bx, 0.25 * ay + 0.75 * by)]
        out = [*cut, out[-1]]
    return out
