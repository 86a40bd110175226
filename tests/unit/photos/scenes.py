"""Synthetic photos of documents and scenes, and the copies a near-duplicate must survive.

A "photo" is a document (ID card, household-register page, property certificate, signature
sheet) drawn for a person, laid on a table at a pose, lit unevenly and photographed with
sensor noise, saved as a camera JPEG. Agents photograph inside the app's framing guide, so two
photos of different people's ID cards have nearly the same layout: the hard case for a
perceptual hash. ``COPIES`` are what happens to one photo on its way to being reused
(recompressed, resized, cropped, rotated by EXIF, brightened…); the duplicate detector must
match those and must not match other people's documents of the same kind.
"""

from __future__ import annotations

import io
import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

__all__ = [
    "COPIES",
    "KINDS",
    "Photo",
    "exif_rotated",
    "photo",
    "scene",
]

KINDS = ("id_card", "register", "certificate", "signature")
FRAME = (1600, 1200)


@dataclass(frozen=True)
class Photo:
    kind: str
    person: int
    shot: int
    jpeg: bytes


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _person_text(rng: random.Random) -> dict[str, str]:
    letters = "ABCDEFGHJKLMNPQRSTWXYZ"
    name = "".join(rng.choice(letters) for _ in range(rng.randint(5, 9))).title()
    return {
        "name": f"{name} {rng.choice(letters)}.",
        "sex": rng.choice(["M", "F"]),
        "born": f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "address": f"{rng.randint(1, 999)} {rng.choice(['Hanjiang', 'Beimen', 'Renmin'])} Rd, "
        f"Bldg {rng.randint(1, 40)}, Unit {rng.randint(1, 6)}",
        "number": "".join(str(rng.randint(0, 9)) for _ in range(18)),
    }


def _id_card(person: int) -> Image.Image:
    rng = random.Random(1000 + person)
    text = _person_text(rng)
    card = Image.new("RGB", (856, 540), (226, 236, 240))
    draw = ImageDraw.Draw(card)
    for y in range(0, 540, 6):  # guilloche-like background waves, the same on every card
        draw.line(
            [(x, y + 4 * math.sin(x / 23 + y / 40)) for x in range(0, 856, 8)],
            fill=(200, 218, 228),
        )
    draw.rectangle((0, 0, 855, 70), fill=(170, 40, 40))
    draw.text((30, 14), "RESIDENT IDENTITY CARD", fill=(255, 240, 200), font=_font(40))
    labels = [("Name", "name"), ("Sex", "sex"), ("Born", "born"), ("Address", "address")]
    for row, (label, key) in enumerate(labels):
        draw.text((30, 100 + row * 70), label, fill=(90, 110, 130), font=_font(26))
        draw.text((160, 98 + row * 70), text[key], fill=(10, 10, 10), font=_font(30))
    draw.text((30, 460), "ID No.", fill=(90, 110, 130), font=_font(26))
    draw.text((160, 455), text["number"], fill=(10, 10, 10), font=_font(40))
    # The portrait: skin, hair and clothes differ from person to person.
    skin = tuple(rng.randint(150, 235) for _ in range(3))
    hair = tuple(rng.randint(10, 90) for _ in range(3))
    draw.rectangle((600, 90, 830, 420), fill=(235, 240, 245))
    head_w = rng.randint(70, 95)
    draw.ellipse((715 - head_w, 150, 715 + head_w, 330), fill=skin)
    draw.chord((715 - head_w - 6, 120, 715 + head_w + 6, 280), 180, 360, fill=hair)
    draw.ellipse((600, 330, 830, 520), fill=tuple(rng.randint(0, 200) for _ in range(3)))
    return card


def _register(person: int) -> Image.Image:
    rng = random.Random(2000 + person)
    page = Image.new("RGB", (1000, 1400), (244, 238, 222))
    draw = ImageDraw.Draw(page)
    draw.text((300, 40), "HOUSEHOLD REGISTER", fill=(120, 30, 30), font=_font(44))
    for row in range(14):
        y = 140 + row * 85
        draw.line((60, y, 940, y), fill=(150, 90, 90), width=2)
        draw.text((80, y + 25), f"Field {row + 1}", fill=(120, 60, 60), font=_font(24))
        value = _person_text(rng)[rng.choice(["name", "born", "address", "number"])]
        draw.text((300, y + 22), value, fill=(20, 20, 40), font=_font(28))
    draw.line((260, 140, 260, 1330), fill=(150, 90, 90), width=2)
    x, y = rng.randint(600, 820), rng.randint(900, 1180)
    draw.ellipse((x, y, x + 150, y + 150), outline=(210, 30, 30), width=8)
    return page


def _certificate(person: int) -> Image.Image:
    rng = random.Random(3000 + person)
    page = Image.new("RGB", (1400, 1000), (250, 246, 232))
    draw = ImageDraw.Draw(page)
    draw.rectangle((30, 30, 1370, 970), outline=(40, 110, 70), width=14)
    draw.text((420, 70), "REAL PROPERTY CERTIFICATE", fill=(40, 110, 70), font=_font(46))
    text = _person_text(rng)
    lines = [
        f"Owner: {text['name']}",
        f"Location: {text['address']}",
        f"Area: {rng.randint(40, 180)}.{rng.randint(0, 99):02d} m2",
        f"Certificate No. {text['number']}",
        f"Registered {text['born']}",
    ]
    for row, line in enumerate(lines):
        draw.text((120, 220 + row * 110), line, fill=(30, 30, 30), font=_font(40))
    x = rng.randint(900, 1150)
    draw.ellipse((x, 700, x + 190, 890), outline=(210, 30, 30), width=10)
    return page


def _signature(person: int) -> Image.Image:
    rng = random.Random(4000 + person)
    sheet = Image.new("RGB", (1200, 800), (252, 252, 250))
    draw = ImageDraw.Draw(sheet)
    draw.line((100, 620, 1100, 620), fill=(160, 160, 160), width=3)
    draw.text((100, 640), "Applicant's signature", fill=(120, 120, 120), font=_font(30))
    x, y = 160.0, 480.0
    points = []
    for _ in range(rng.randint(5, 9)):  # a few cursive strokes
        for t in range(40):
            points.append((x + t * 3.2, y + 90 * math.sin(t / rng.uniform(3, 7)) * rng.random()))
        x += 128
        y = 480 + rng.uniform(-60, 60)
    draw.line(points, fill=(20, 30, 120), width=7, joint="curve")
    return sheet


_DOCUMENTS: dict[str, Callable[[int], Image.Image]] = {
    "id_card": _id_card,
    "register": _register,
    "certificate": _certificate,
    "signature": _signature,
}


def _table(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    width, height = size
    grain = rng.normal(0, 1, (height // 8, width // 8)).cumsum(axis=1)
    grain = (grain - grain.min()) / (np.ptp(grain) + 1e-9)
    wood = Image.fromarray((grain * 255).astype(np.uint8), "L").resize(size)
    base = np.asarray(wood, dtype=np.float32)[..., None] / 255
    color = np.array([120, 86, 60], dtype=np.float32) + base * np.array([50, 35, 20])
    return Image.fromarray(color.astype(np.uint8), "RGB")


def photo(kind: str, person: int, shot: int = 0, *, quality: int = 92) -> Photo:
    """Person ``person``'s document of ``kind``, photographed in shot ``shot`` (a pose)."""
    rng = np.random.default_rng(zlib.crc32(f"{kind}/{person}/{shot}".encode()))
    document = _DOCUMENTS[kind](person)
    frame = _table(rng, FRAME)
    # Inside the app's framing guide: the document fills ~80 % of the frame, small jitter.
    scale = 0.8 * min(FRAME[0] / document.width, FRAME[1] / document.height)
    scale *= 1 + rng.uniform(-0.03, 0.03)
    size = (round(document.width * scale), round(document.height * scale))
    placed = document.resize(size, Image.Resampling.BICUBIC).convert("RGBA")
    placed = placed.rotate(rng.uniform(-2.0, 2.0), Image.Resampling.BICUBIC, expand=True)
    x = (FRAME[0] - placed.width) // 2 + int(rng.integers(-30, 31))
    y = (FRAME[1] - placed.height) // 2 + int(rng.integers(-30, 31))
    frame.paste(placed, (x, y), placed)
    pixels = np.asarray(frame, dtype=np.float32)
    # Uneven light (a lamp to one side) and sensor noise.
    ys, xs = np.mgrid[0 : FRAME[1], 0 : FRAME[0]].astype(np.float32)
    cx, cy = rng.uniform(0, FRAME[0]), rng.uniform(0, FRAME[1])
    light = 1.08 - 0.25 * np.hypot(xs - cx, ys - cy) / math.hypot(*FRAME)
    pixels = pixels * light[..., None] + rng.normal(0, 4, pixels.shape).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return Photo(kind, person, shot, _jpeg(image, quality))


def scene(seed: int, size: tuple[int, int] = FRAME) -> bytes:
    """A textured, colourful non-document photo."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    pixels = np.asarray(Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC))
    noisy = pixels.astype(np.float32) + rng.normal(0, 6, pixels.shape)
    return _jpeg(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB"), 90)


def _jpeg(image: Image.Image, quality: int, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, **params)
    return out.getvalue()


def _decoded(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    image.load()
    return image


def exif_rotated(jpeg: bytes, orientation: int) -> bytes:
    """The same picture stored rotated/flipped, with the EXIF tag that shows it upright."""
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    image = _decoded(jpeg)
    stored = image if inverse is None else image.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _jpeg(stored, 92, exif=exif.tobytes())


def _recompressed(jpeg: bytes, quality: int) -> bytes:
    return _jpeg(_decoded(jpeg), quality)


def _resized(jpeg: bytes, factor: float, quality: int = 85) -> bytes:
    image = _decoded(jpeg)
    size = (round(image.width * factor), round(image.height * factor))
    return _jpeg(image.resize(size, Image.Resampling.LANCZOS), quality)


def _cropped(jpeg: bytes, fraction: float) -> bytes:
    image = _decoded(jpeg)
    dx, dy = round(image.width * fraction), round(image.height * fraction)
    return _jpeg(image.crop((dx, dy, image.width - dx, image.height - dy)), 90)


def _cropped_one_side(jpeg: bytes, fraction: float) -> bytes:
    image = _decoded(jpeg)
    return _jpeg(image.crop((0, 0, round(image.width * (1 - fraction)), image.height)), 90)


def _brightness(jpeg: bytes, factor: float) -> bytes:
    return _jpeg(ImageEnhance.Brightness(_decoded(jpeg)).enhance(factor), 90)


def _contrast(jpeg: bytes, factor: float) -> bytes:
    return _jpeg(ImageEnhance.Contrast(_decoded(jpeg)).enhance(factor), 90)


def _forwarded(jpeg: bytes) -> bytes:
    """What a chat app does: shrink, recompress hard, and a phone's auto-brightening."""
    image = ImageEnhance.Brightness(_decoded(jpeg)).enhance(1.15)
    image = image.resize((image.width * 3 // 5, image.height * 3 // 5), Image.Resampling.BILINEAR)
    return _jpeg(image, 60)


def _as_png(jpeg: bytes) -> bytes:
    out = io.BytesIO()
    _decoded(jpeg).save(out, "PNG")
    return out.getvalue()


# name → (what it does to a photo's bytes, content type of the result)
COPIES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "recompressed q50": (lambda jpeg: _recompressed(jpeg, 50), "image/jpeg"),
    "recompressed q30": (lambda jpeg: _recompressed(jpeg, 30), "image/jpeg"),
    "resized 50%": (lambda jpeg: _resized(jpeg, 0.5), "image/jpeg"),
    "resized 25%": (lambda jpeg: _resized(jpeg, 0.25), "image/jpeg"),
    "cropped 3% each side": (lambda jpeg: _cropped(jpeg, 0.03), "image/jpeg"),
    "cropped 5% one side": (lambda jpeg: _cropped_one_side(jpeg, 0.05), "image/jpeg"),
    "EXIF orientation 6": (lambda jpeg: exif_rotated(jpeg, 6), "image/jpeg"),
    "EXIF orientation 3": (lambda jpeg: exif_rotated(jpeg, 3), "image/jpeg"),
    "brighter 25%": (lambda jpeg: _brightness(jpeg, 1.25), "image/jpeg"),
    "darker 25%": (lambda jpeg: _brightness(jpeg, 0.75), "image/jpeg"),
    "contrast 80%": (lambda jpeg: _contrast(jpeg, 0.8), "image/jpeg"),
    "forwarded (60%, +15%, q60)": (_forwarded, "image/jpeg"),
    "saved as PNG": (_as_png, "image/png"),
}
