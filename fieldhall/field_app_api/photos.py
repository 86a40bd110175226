"""Photo and document checks at the door: are these bytes a valid, safe file of their type?

The sync policy calls :func:`inspect_file` for every attachment before anything is stored.
The bytes are never changed here (they are signed); derivatives strip metadata later, in
``server/``. Every refusal is :class:`BadPhoto` with a precise detail that is stable for a
given kind of problem (the policy turns it into ``forbidden: "bad_photo: <detail>"``); no
other exception leaves this module for any input bytes.

The check is a pipeline of named steps; each passes or refuses:

1. **read** at most ``max_bytes`` (+1 to notice more); an empty file is refused.
2. **sniff** the type from magic numbers at offset 0, never from a name. Things that are not
   an accepted type are named in the detail (an ELF executable, a script, SVG, a ZIP…).
3. **declared** ``content_type`` must name the sniffed type (``image/jpg`` and
   ``image/heif`` are read as ``image/jpeg`` and ``image/heic``; parameters are ignored).
4. **structure**: our own walk of the container — JPEG markers, PNG chunks with their CRCs,
   RIFF chunks, ISO-BMFF boxes, the PDF header and ``%%EOF`` — finds where the format ends
   and reads the dimensions from the header. Width, height and pixel count are checked the
   moment the header gives them, before anything is decoded, against *our* limits.
5. **polyglots**: a PDF header inside an image, a ZIP central directory at the end of any
   file, or bytes after the format's end (after JPEG EOI, PNG IEND, the RIFF size, the last
   ISO-BMFF box, the last ``%%EOF``) are refused and the appended thing is named. Runs of
   0x00 or 0xFF padding are tolerated: they can carry nothing.
6. **decode**: Pillow, restricted to the sniffed format (``Image.open(formats=[…])``), must
   identify the same format, and the whole image is decoded. Animated PNG/WebP are refused;
   an MPO's extra images must be exactly the ones its index declares.
7. **metadata**: ``has_gps`` reports EXIF GPS coordinates (or XMP ones). Location is not a
   refusal: the signed original is kept whole and derivatives are stripped.

PDF (scanned documents) passes through unrendered but must be a real PDF: ``%PDF-x.y`` at
offset 0, only whitespace after the last ``%%EOF``, a cross-reference table and trailer that
pypdf parses with ``strict=True`` (no reconstruction of a broken xref; pypdf still repairs
a few local slips such as a misnumbered entry, and logs a warning when it does), not
encrypted (the hall must be able to read and archive the evidence), 1 to
``max_pdf_pages`` pages, and no active content: every object is read (names decoded, so
``/J#61vaScript`` does not hide; object streams included) and JavaScript, launch and
import actions, embedded files and file attachments, XFA forms and rich media are
refused. Links (URI actions) and forms that submit are not refused.

Decisions and their cost
------------------------
* **Global Pillow state is left alone.** Our pixel limits are checked on header values
  before Pillow opens the file, so ``Image.MAX_IMAGE_PIXELS`` is neither relied on nor
  changed (if another caller lowered it, its ``DecompressionBombError`` is still turned into
  a refusal; if it is ``None``, our check still holds). ``ImageFile.LOAD_TRUNCATED_IMAGES``
  is not touched either: truncation is found by the structure walk whatever its value, and
  when it is off (the default) Pillow's decoder refuses too. Warnings are not filtered:
  ``warnings.catch_warnings`` is process-global and not thread-safe, and the policy runs in
  worker threads. The one global change is ``pillow_heif.register_heif_opener()`` (no
  options): it adds the HEIF format to Pillow's registry, the same registration the
  derivatives in ``server/`` need, and changes nothing for other formats. pypdf's limits
  are tightened with ``apply_configuration``, which sets a context variable for this call.
* **JPEG is decoded in draft mode** (libjpeg DCT scaling to 1/8, grey output). Draft mode
  does not skip the entropy-coded data: libjpeg must Huffman-decode every coefficient to
  find where each block ends, so truncated and broken streams are still caught; what it
  skips is the full-size IDCT, upsampling and colour conversion. CPU time per 12 MP
  (4000x3000) JPEG on the development machine: a 2.9 MB quality-85 file 22 ms to inspect
  (full ``load()`` 32 ms); a 6 MB quality-90 file 38 ms (full 48 ms, of which the draft
  decode is 34 ms and our structure walk 2 ms); a 5.2 MB progressive file 137 ms (full
  182 ms: libjpeg buffers every coefficient before it scales). Progressive scans are
  capped at ``MAX_JPEG_SCANS`` because many-scan files are a known CPU bomb.
* PNG, WebP and HEIC have no cheaper complete decode and are decoded in full, in CPU time
  per 12 MP file: PNG (19.7 MB) 280 ms, WebP (1.9 MB) 208 ms, HEIC (2.4 MB, libde265)
  252 ms. Memory is bounded by ``max_pixels`` × 4 bytes (160 MB at the 40 MP default).
* **Files made to be slow are refused deterministically**, by counting, never by a clock
  (a refusal is final, so the same bytes must always get the same answer): JPEG segments
  and fill bytes, PNG and WebP chunks, ISO-BMFF boxes, PDF objects, inflated object-stream
  bytes, and pypdf's reads of the file (``PDF_READ_BUDGET``, ≈ 1 s of parsing).
* Motion photos (a video appended to a JPEG after EOI) are refused as trailing data: an
  appended file is exactly how polyglots are made, and the field app should send stills.
* EXIF that Pillow cannot parse is not a refusal, but ``has_gps`` is then ``True``
  (location cannot be ruled out).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pillow_heif
from PIL import ExifTags, Image, UnidentifiedImageError
from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
)

__all__ = ["ACCEPTED_TYPES", "BadPhoto", "FileInfo", "PhotoLimits", "inspect_file"]

pillow_heif.register_heif_opener()

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
PDF = "application/pdf"
ACCEPTED_TYPES = (JPEG, PNG, WEBP, HEIC, PDF)

_NAMES = {JPEG: "JPEG", PNG: "PNG", WEBP: "WebP", HEIC: "HEIC", PDF: "PDF"}
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/heif": HEIC}
# The Pillow opener to use, and the formats it may report (the JPEG opener returns MPO
# files as "MPO"; MPO has no opener of its own).
_PILLOW_OPENER = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", HEIC: "HEIF"}
_PILLOW_FORMATS = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",), WEBP: ("WEBP",), HEIC: ("HEIF",)}

# libjpeg-turbo encoders write ≤ 10 scans, mozjpeg's optimised ones ≤ ~20; thousands of tiny
# progressive scans make libjpeg redo the whole coefficient buffer each time (CPU bomb).
MAX_JPEG_SCANS = 100
# Segments (and standalone markers) outside the scans: a camera JPEG has ~20, a progressive
# one adds a few per scan. Each costs a Python step, so millions of tiny ones are refused.
MAX_JPEG_SEGMENTS = 2_000
# The spec allows any number of 0xFF fill bytes before a marker; encoders write none or one.
# Pillow reads header fill one byte per Python step (2 MB of it: 5 s), so a run is capped.
MAX_JPEG_FILL = 64
# An MPO from a camera holds 2–3 images (stereo pair, depth or preview).
MAX_MPO_IMAGES = 8
# libpng writes 8 KiB IDAT chunks: a 25 MB PNG has ~3,200. Each chunk costs Python work in
# our walk and in Pillow (~5 µs), so swarms of tiny chunks are refused.
MAX_PNG_CHUNKS = 20_000
# Chunks of a still WebP: VP8X, ICCP, ALPH, VP8/VP8L, EXIF, XMP; boxes of one HEIC container
# level: a handful at the top, tens of properties in ipco.
MAX_WEBP_CHUNKS = 1_000
MAX_HEIC_BOXES = 10_000
# A scanned 200-page PDF has ~1,000 objects and costs pypdf ~15,000 reads of the file; pypdf
# parses in Python at ~380,000 reads a second, so a file that needs more than the budget
# (≈ 1 s) is refused. The budget counts calls, so the same file always gets the same answer.
MAX_PDF_OBJECTS = 10_000
PDF_READ_BUDGET = 400_000
# Object streams are inflated and parsed whole: their total is capped (a 10,000-object
# document has ~1 MB of them), and so is every stream pypdf has to inflate.
MAX_PDF_OBJECT_STREAM_BYTES = 2 * 1024 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_PDF_WHITESPACE = b" \t\r\n\f\x00"
# In a JPEG scan, 0xFF is followed by 0x00 (stuffing), RSTn (0xD0–0xD7) or more 0xFF fill;
# anything else is the next marker.
_JPEG_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_NOT_FF = re.compile(rb"[^\xff]")
_PDF_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")

# Magic numbers of things that are not accepted, to name them in the refusal.
_FOREIGN_MAGIC = (
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable (MZ/PE)"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class"),
    (b"#!", "a script (#!)"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE document"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (_PNG_SIGNATURE, "a PNG image"),
    (b"%PDF-", "a PDF document"),
    (b"RIFF", "a RIFF file"),
)


class BadPhoto(Exception):
    """Raised when an attachment is not a valid, safe file of its declared type."""

    code = "bad_photo"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{self.code}: {detail}")

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class FileInfo:
    kind: str  # one of ACCEPTED_TYPES
    width: int | None  # images only
    height: int | None
    pages: int | None  # PDF only
    has_gps: bool = False  # EXIF/XMP location present (or unreadable EXIF)


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 12_000
    max_pdf_pages: int = 200

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_side", "max_pdf_pages"):
            if getattr(self, name) < 1:
                raise ValueError(f"PhotoLimits.{name} must be positive")


def inspect_file(
    data: bytes | bytearray | memoryview | BinaryIO,
    declared_content_type: str,
    limits: PhotoLimits = PhotoLimits(),
) -> FileInfo:
    """Check the bytes at the door; return what they are or raise :class:`BadPhoto`.

    A file object is read from its current position.
    """
    raw = _read(data, limits)
    declared = _normalise(declared_content_type)
    kind = _sniff(raw, declared)
    if declared != kind:
        raise BadPhoto(f"declared {declared or 'no content_type'} but the bytes are {_NAMES[kind]}")
    if kind == PDF:
        return _inspect_pdf(raw, limits)
    return _inspect_image(raw, kind, limits)


# -- read, sniff, declared ----------------------------------------------------------------


def _read(data: bytes | bytearray | memoryview | BinaryIO, limits: PhotoLimits) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        parts, wanted = [], limits.max_bytes + 1
        while wanted > 0:  # a raw stream may return less than asked before its end
            part = data.read(wanted)
            if not isinstance(part, bytes):
                raise TypeError("inspect_file needs bytes or a binary file")
            if not part:
                break
            parts.append(part)
            wanted -= len(part)
        raw = b"".join(parts)
    if not raw:
        raise BadPhoto("empty file (0 bytes)")
    if len(raw) > limits.max_bytes:
        raise BadPhoto(f"file is larger than the {limits.max_bytes} byte limit")
    return raw


# The bytes that _sniff needs for each type; a shorter file that starts like them is cut.
_SIGNATURES = {JPEG: b"\xff\xd8\xff", PNG: _PNG_SIGNATURE, WEBP: b"RIFF", PDF: b"%PDF-"}


def _sniff(raw: bytes, declared: str) -> str:
    if raw.startswith(b"\xff\xd8\xff"):
        return JPEG
    if raw.startswith(_PNG_SIGNATURE):
        return PNG
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return WEBP
    if raw[4:8] == b"ftyp":
        brands = _ftyp_brands(raw)
        if brands & _HEIC_BRANDS:
            return HEIC
        raise BadPhoto(f"the bytes are {_name_isobmff(brands)}, not JPEG, PNG, WebP, HEIC or PDF")
    if raw.startswith(b"%PDF-"):
        return PDF
    if len(raw) < 12 and (
        _SIGNATURES.get(declared, b"").startswith(raw[:8])
        if declared != HEIC
        else b"ftyp".startswith(raw[4:8])
    ):
        raise BadPhoto(f"truncated {_NAMES[declared]}: only {len(raw)} bytes")
    raise BadPhoto(f"the bytes are {_describe(raw)}, not JPEG, PNG, WebP, HEIC or PDF")


def _normalise(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def _ftyp_brands(raw: bytes) -> frozenset[bytes]:
    size = int.from_bytes(raw[:4], "big")
    box = raw[8 : min(max(size, 16), len(raw), 4096)]
    # major brand, minor version, then compatible brands
    return frozenset([box[:4], *(box[i : i + 4] for i in range(8, len(box) - 3, 4))])


def _name_isobmff(brands: frozenset[bytes]) -> str:
    if brands & {b"avif", b"avis"}:
        return "an AVIF image"
    if b"qt  " in brands:
        return "a QuickTime video"
    if brands & {b"isom", b"iso2", b"mp41", b"mp42", b"M4V ", b"M4A ", b"3gp4", b"3gp5"}:
        return "an MP4 file"
    return "an ISO-BMFF file of an unaccepted brand"


def _describe(raw: bytes | memoryview) -> str:
    """Name what some bytes are, for a refusal detail."""
    head = bytes(raw[:1024])
    for magic, name in _FOREIGN_MAGIC:
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return _name_isobmff(_ftyp_brands(head))
    if b"%PDF-" in head:
        return "a PDF document whose header is not at offset 0"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "an SVG document"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "an HTML document"
    if text.startswith(b"<?xml"):
        return "an XML document"
    if all(32 <= b < 127 or b in b"\t\r\n" for b in head[:256]):
        return "text"
    return f"an unrecognised format (first bytes {head[:8].hex()})"


# -- limits and polyglots -------------------------------------------------------------------


def _said(exc: BaseException) -> str:
    """A library's message on one line, bounded, for a refusal detail."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def _check_dimensions(width: int, height: int, limits: PhotoLimits, what: str) -> None:
    if width < 1 or height < 1:
        raise BadPhoto(f"corrupt {what}: image of {width}x{height} pixels")
    if max(width, height) > limits.max_side:
        raise BadPhoto(f"{what} of {width}x{height} has a side over the {limits.max_side} limit")
    if width * height > limits.max_pixels:
        raise BadPhoto(
            f"{what} of {width}x{height} is {width * height} pixels, over the "
            f"{limits.max_pixels} pixel limit"
        )


def _check_trailing(raw: bytes, end: int, after: str) -> None:
    rest = memoryview(raw)[end:]
    if not rest:
        return
    if not bytes(rest).strip(b"\x00") or not bytes(rest).strip(b"\xff"):
        return  # padding written by some cameras and scanners; it can carry nothing
    raise BadPhoto(
        f"trailing data: {len(rest)} bytes after the {after} at offset {end} ({_describe(rest)})"
    )


def _check_embedded_pdf(raw: bytes, end: int, what: str) -> None:
    at = raw.find(b"%PDF-", 0, end)  # after the end it is trailing data, named as such
    if at >= 0:
        raise BadPhoto(f"polyglot: a PDF header inside the {what} at offset {at}")


def _check_embedded_zip(raw: bytes, what: str) -> None:
    """A ZIP reader looks for its end record in the last 64 KiB; refuse one that it would use."""
    floor = max(0, len(raw) - 22 - 0xFFFF)
    at = raw.rfind(b"PK\x05\x06", floor)
    while at >= 0:
        if at + 22 <= len(raw):
            (cd_size,) = struct.unpack_from("<I", raw, at + 12)
            cd_start = at - cd_size
            zip64 = at >= 20 and raw[at - 20 : at - 16] == b"PK\x06\x07"
            if zip64 or (cd_start >= 0 and raw[cd_start : cd_start + 4] == b"PK\x01\x02"):
                raise BadPhoto(
                    f"polyglot: a ZIP archive inside the {what} "
                    f"(end of central directory at offset {at})"
                )
        at = raw.rfind(b"PK\x05\x06", floor, at)


# -- images ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """What the structure walk learnt: where the format ends, its size, its frames."""

    end: int
    width: int
    height: int
    frames: int = 1  # JPEG: images in the MPO chain; PNG/WebP: >1 when animated
    after: str = ""  # how the end is named in a trailing-data refusal


def _inspect_image(raw: bytes, kind: str, limits: PhotoLimits) -> FileInfo:
    name = _NAMES[kind]
    walk = {JPEG: _walk_jpeg_file, PNG: _walk_png, WEBP: _walk_webp, HEIC: _walk_heic}[kind]
    layout = walk(raw, limits)
    _check_embedded_pdf(raw, layout.end, name)
    _check_trailing(raw, layout.end, layout.after)
    _check_embedded_zip(raw, name)
    if kind in (PNG, WEBP) and layout.frames > 1:
        raise BadPhoto(f"animated {name} is not accepted")
    return _decode(raw, kind, layout, limits)


def _decode(raw: bytes, kind: str, layout: _Layout, limits: PhotoLimits) -> FileInfo:
    name = _NAMES[kind]
    try:
        with Image.open(io.BytesIO(raw), formats=[_PILLOW_OPENER[kind]]) as img:
            if img.format not in _PILLOW_FORMATS[kind]:
                raise BadPhoto(f"Pillow identifies the bytes as {img.format}, not {name}")
            width, height = img.size
            _check_dimensions(width, height, limits, name)
            frames = getattr(img, "n_frames", 1)
            if kind == JPEG and frames != layout.frames:
                raise BadPhoto(
                    f"corrupt JPEG: the MPO index declares {frames} image(s), "
                    f"the file holds {layout.frames}"
                )
            if kind in (PNG, WEBP) and frames > 1:
                raise BadPhoto(f"animated {name} is not accepted")
            if kind == JPEG:
                # Scale the DCT to 1/8 and skip colour work: every scan is still decoded.
                img.draft("L" if img.mode in ("RGB", "L") else img.mode, (1, 1))
            img.load()
            has_gps = _has_gps(img)
    except BadPhoto:
        raise
    except Image.DecompressionBombError as exc:
        raise BadPhoto(
            f"decompression bomb refused by Pillow's global limit: {_said(exc)}"
        ) from exc
    except UnidentifiedImageError as exc:
        raise BadPhoto(f"Pillow cannot identify the bytes as {name}") from exc
    except OSError as exc:
        if "truncated" in str(exc):
            raise BadPhoto(f"truncated {name}: Pillow: {_said(exc)}") from exc
        raise BadPhoto(f"corrupt {name}: Pillow: {_said(exc)}") from exc
    except Exception as exc:
        # Hostile bytes can make a decoder raise anything (SyntaxError, ValueError,
        # struct.error, EOFError, zlib.error, a warning turned into an error…); callers are
        # promised BadPhoto only.
        raise BadPhoto(f"corrupt {name}: Pillow: {type(exc).__name__}: {_said(exc)}") from exc
    return FileInfo(kind=kind, width=width, height=height, pages=None, has_gps=has_gps)


def _has_gps(img: Image.Image) -> bool:
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if isinstance(xmp, bytes) and (b"GPSLatitude" in xmp or b"GPSLongitude" in xmp):
        return True
    try:
        exif = img.getexif()
        if ExifTags.IFD.GPSInfo not in exif:
            return False
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        latitude, longitude = ExifTags.GPS.GPSLatitude, ExifTags.GPS.GPSLongitude
        return latitude in gps or longitude in gps
    except Exception:
        return True  # unreadable EXIF: location cannot be ruled out


# JPEG: SOI, then segments (marker, 16-bit length) until SOS; the entropy-coded scan runs to
# the next marker; repeated scans (progressive) until EOI. Frame headers are SOF0–SOF15
# except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _walk_jpeg_file(raw: bytes, limits: PhotoLimits) -> _Layout:
    end, width, height, mpf = _walk_jpeg(raw, 0, limits)
    images = 1
    if mpf:  # a multi-picture (MPO) file: its other images follow the first one's EOI
        while raw.startswith(b"\xff\xd8\xff", end) and images < MAX_MPO_IMAGES:
            end = _walk_jpeg(raw, end, limits)[0]
            images += 1
    return _Layout(end, width, height, images, "JPEG end-of-image marker")


def _walk_jpeg(raw: bytes, start: int, limits: PhotoLimits) -> tuple[int, int, int, bool]:
    """One JPEG from SOI at ``start``: (end after EOI, width, height, has an MPF segment)."""
    n = len(raw)
    pos = start + 2
    size: tuple[int, int] | None = None
    scans = 0
    mpf = False
    for _ in range(MAX_JPEG_SEGMENTS):
        if pos >= n:
            raise BadPhoto("truncated JPEG: no end-of-image marker")
        if raw[pos] != 0xFF:
            raise BadPhoto(f"corrupt JPEG: expected a marker at offset {pos}")
        found = _NOT_FF.search(raw, pos)  # a marker may be preceded by 0xFF fill bytes
        if found is None:
            raise BadPhoto("truncated JPEG: no end-of-image marker")
        if found.start() - pos > MAX_JPEG_FILL:
            raise BadPhoto(f"JPEG with more than {MAX_JPEG_FILL} fill bytes at offset {pos}")
        pos = found.start()
        marker = raw[pos]
        pos += 1
        if marker == 0xD9:
            if size is None or scans == 0:
                raise BadPhoto("corrupt JPEG: no image data before the end-of-image marker")
            return pos, size[0], size[1], mpf
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue  # standalone markers
        if marker in (0x00, 0xD8):
            raise BadPhoto(f"corrupt JPEG: invalid marker 0xFF{marker:02X} at offset {pos - 2}")
        if pos + 2 > n:
            raise BadPhoto("truncated JPEG: no end-of-image marker")
        length = int.from_bytes(raw[pos : pos + 2], "big")
        if length < 2:
            raise BadPhoto(f"corrupt JPEG: segment length {length} at offset {pos}")
        if pos + length > n:
            raise BadPhoto(
                f"truncated JPEG: segment 0xFF{marker:02X} at offset {pos - 2} "
                f"runs past the end of the file"
            )
        segment = raw[pos + 2 : pos + length]
        pos += length
        if marker in _SOF_MARKERS:
            if size is not None:
                raise BadPhoto("corrupt JPEG: more than one frame header")
            if len(segment) < 6:
                raise BadPhoto("corrupt JPEG: short frame header")
            height = int.from_bytes(segment[1:3], "big")
            width = int.from_bytes(segment[3:5], "big")
            _check_dimensions(width, height, limits, "JPEG")
            size = (width, height)
        elif marker == 0xE2 and segment.startswith(b"MPF\x00"):
            mpf = True
        elif marker == 0xDA:
            if size is None:
                raise BadPhoto("corrupt JPEG: scan before the frame header")
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise BadPhoto(f"JPEG bomb: more than {MAX_JPEG_SCANS} scans")
            found = _JPEG_MARKER_IN_SCAN.search(raw, pos)
            if found is None:
                raise BadPhoto("truncated JPEG: no end-of-image marker")
            pos = found.start()
    raise BadPhoto(f"JPEG with more than {MAX_JPEG_SEGMENTS} segments")


def _walk_png(raw: bytes, limits: PhotoLimits) -> _Layout:
    n = len(raw)
    view = memoryview(raw)
    pos = len(_PNG_SIGNATURE)
    size: tuple[int, int] | None = None
    animated = False
    chunks = 0
    while True:
        if pos + 8 > n:
            raise BadPhoto("truncated PNG: no IEND chunk")
        length = int.from_bytes(raw[pos : pos + 4], "big")
        ctype = raw[pos + 4 : pos + 8]
        if length > 0x7FFFFFFF or not ctype.isalpha():
            raise BadPhoto(f"corrupt PNG: invalid chunk header at offset {pos}")
        end = pos + 12 + length
        label = ctype.decode("ascii")
        if end > n:
            raise BadPhoto(f"truncated PNG: chunk {label} at offset {pos} runs past the end")
        crc = int.from_bytes(raw[end - 4 : end], "big")
        if zlib.crc32(view[pos + 4 : end - 4]) != crc:
            raise BadPhoto(f"corrupt PNG: CRC mismatch in chunk {label} at offset {pos}")
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise BadPhoto(f"PNG with more than {MAX_PNG_CHUNKS} chunks")
        if size is None:
            if ctype != b"IHDR" or length != 13:
                raise BadPhoto("corrupt PNG: the first chunk is not IHDR")
            width = int.from_bytes(raw[pos + 8 : pos + 12], "big")
            height = int.from_bytes(raw[pos + 12 : pos + 16], "big")
            _check_dimensions(width, height, limits, "PNG")
            size = (width, height)
        elif ctype == b"acTL":
            animated = True
        elif ctype == b"IEND":
            return _Layout(end, size[0], size[1], 2 if animated else 1, "PNG IEND chunk")
        pos = end


def _walk_webp(raw: bytes, limits: PhotoLimits) -> _Layout:
    declared = int.from_bytes(raw[4:8], "little") + 8
    if len(raw) < 12 + 8 or declared > len(raw):
        raise BadPhoto(f"truncated WebP: the RIFF header declares {declared} bytes")
    pos = 12
    size: tuple[int, int] | None = None
    animated = False
    chunks = 0
    while pos < declared:
        chunks += 1
        if chunks > MAX_WEBP_CHUNKS:
            raise BadPhoto(f"WebP with more than {MAX_WEBP_CHUNKS} chunks")
        if pos + 8 > declared:
            raise BadPhoto(f"corrupt WebP: chunk header at offset {pos} crosses the RIFF end")
        fourcc = raw[pos : pos + 4]
        length = int.from_bytes(raw[pos + 4 : pos + 8], "little")
        body = raw[pos + 8 : pos + 8 + min(length, 32)]
        end = pos + 8 + length + (length & 1)
        if end > declared:
            raise BadPhoto(f"corrupt WebP: chunk {fourcc!r} at offset {pos} crosses the RIFF end")
        if size is None:
            size = _webp_size(fourcc, body)
            _check_dimensions(size[0], size[1], limits, "WebP")
            animated = fourcc == b"VP8X" and bool(body[0] & 0x02)
        elif fourcc in (b"ANIM", b"ANMF"):
            animated = True
        pos = end
    if size is None:
        raise BadPhoto("corrupt WebP: no image chunk")
    return _Layout(declared, size[0], size[1], 2 if animated else 1, "WebP RIFF end")


def _webp_size(fourcc: bytes, body: bytes) -> tuple[int, int]:
    if fourcc == b"VP8X" and len(body) >= 10:
        return 1 + int.from_bytes(body[4:7], "little"), 1 + int.from_bytes(body[7:10], "little")
    if fourcc == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width = int.from_bytes(body[6:8], "little") & 0x3FFF
        height = int.from_bytes(body[8:10], "little") & 0x3FFF
        return width, height
    if fourcc == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    raise BadPhoto(f"corrupt WebP: the first chunk {fourcc!r} is not a valid image header")


def _boxes(raw: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO-BMFF boxes in raw[start:end] as (type, payload start, box end).

    A box that does not fit ends the walk with (type or b"", -1, its offset).
    """
    pos = start
    for _ in range(MAX_HEIC_BOXES):
        if pos >= end:
            return
        if pos + 8 > end:
            yield b"", -1, pos  # a cut header: the caller names the problem
            return
        size = int.from_bytes(raw[pos : pos + 4], "big")
        btype = raw[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > end:
                yield b"", -1, pos
                return
            size = int.from_bytes(raw[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos  # the box runs to the end of its parent
        if size < header or pos + size > end:
            yield btype, -1, pos  # the caller names the problem
            return
        yield btype, pos + header, pos + size
        pos += size
    if pos < end:
        raise BadPhoto(f"HEIC with more than {MAX_HEIC_BOXES} boxes in one container")


def _walk_heic(raw: bytes, limits: PhotoLimits) -> _Layout:
    """Top-level boxes must tile the file; the image sizes come from the ispe properties."""
    sizes: list[tuple[int, int]] = []
    end = 0
    for index, (btype, payload, box_end) in enumerate(_boxes(raw, 0, len(raw))):
        if payload < 0:
            if not btype:
                raise BadPhoto(f"truncated HEIC: the box header at offset {box_end} is cut short")
            if not (btype.isascii() and btype.decode("ascii").isprintable()):
                # Not a box at all: something was appended after the last one.
                raise BadPhoto(
                    f"trailing data: {len(raw) - box_end} bytes after the last HEIC box at "
                    f"offset {box_end} ({_describe(memoryview(raw)[box_end:])})"
                )
            raise BadPhoto(f"truncated HEIC: box {btype!r} at offset {box_end} runs past the end")
        if index == 0 and btype != b"ftyp":
            raise BadPhoto("corrupt HEIC: the first box is not ftyp")
        if btype == b"meta":
            sizes.extend(_heic_ispe(raw, payload + 4, box_end))  # meta is a FullBox
        end = box_end
    if not sizes:
        raise BadPhoto("corrupt HEIC: no image size (ispe) property")
    # The largest declared image bounds what any decode of this file can allocate.
    width, height = max(sizes, key=lambda s: s[0] * s[1])
    _check_dimensions(width, height, limits, "HEIC")
    return _Layout(end, width, height, 1, "last HEIC box")


def _heic_ispe(raw: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    for btype, payload, box_end in _boxes(raw, start, end):
        if payload < 0:
            raise BadPhoto(f"corrupt HEIC: a box at offset {box_end} overflows the meta box")
        if btype == b"iprp":
            for ptype, ppayload, pend in _boxes(raw, payload, box_end):
                if ptype != b"ipco" or ppayload < 0:
                    continue
                for itype, ipayload, iend in _boxes(raw, ppayload, pend):
                    if itype == b"ispe" and ipayload >= 0 and iend - ipayload >= 12:
                        width = int.from_bytes(raw[ipayload + 4 : ipayload + 8], "big")
                        height = int.from_bytes(raw[ipayload + 8 : ipayload + 12], "big")
                        yield width, height


# -- PDF ------------------------------------------------------------------------------------

# What a PDF may not carry: keys, action types (/S) and types/subtypes, each with its name.
_ACTIVE_KEYS = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/EmbeddedFiles": "embedded files",
    "/EF": "an embedded file",
    "/XFA": "an XFA form",
    "/RichMediaContent": "rich media",
}
_ACTIVE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "a launch action",
    "/ImportData": "an import-data action",
    "/RichMediaExecute": "rich media",
    "/GoToE": "a link into an embedded file",
}
_ACTIVE_TYPES = {
    "/EmbeddedFile": "an embedded file",
    "/FileAttachment": "a file attachment annotation",
    "/RichMedia": "rich media",
}


def _inspect_pdf(raw: bytes, limits: PhotoLimits) -> FileInfo:
    if not _PDF_HEADER.match(raw):
        raise BadPhoto("corrupt PDF: malformed %PDF- header")
    eof = raw.rfind(b"%%EOF")
    if eof < 0:
        raise BadPhoto("truncated PDF: no %%EOF marker")
    end = eof + len(b"%%EOF")
    if raw[end:].strip(_PDF_WHITESPACE):
        rest = memoryview(raw)[end:]
        raise BadPhoto(
            f"trailing data: {len(rest)} bytes after the last %%EOF at offset {end} "
            f"({_describe(bytes(rest).lstrip(_PDF_WHITESPACE))})"
        )
    _check_embedded_zip(raw, "PDF")
    stream = _CountedStream(raw, PDF_READ_BUDGET)
    try:
        # pypdf's limits live in a context variable: these apply to this parse only.
        with apply_configuration(None, **_PDF_LIMITS):
            reader = PdfReader(stream, strict=True, xref_stream_maximum_entries=MAX_PDF_OBJECTS)
            if reader.is_encrypted:
                raise BadPhoto("encrypted PDF is not accepted")
            pages = len(reader.pages)
            if pages < 1:
                raise BadPhoto("PDF has no pages")
            if pages > limits.max_pdf_pages:
                raise BadPhoto(f"PDF has {pages} pages, over the {limits.max_pdf_pages} page limit")
            _check_pdf_objects(reader)
    except BadPhoto:
        raise
    except Exception as exc:
        # pypdf raises PdfReadError, PdfStreamError, but also KeyError, ValueError,
        # RecursionError… on hostile input; callers are promised BadPhoto only.
        if stream.over_budget:
            raise _pdf_over_budget() from exc
        if isinstance(exc, LimitReachedError):
            raise BadPhoto(f"PDF too complex to check ({_said(exc)})") from exc
        raise BadPhoto(
            f"corrupt PDF: does not parse strictly ({type(exc).__name__}: {_said(exc)})"
        ) from exc
    if stream.over_budget:  # pypdf may have swallowed the error and carried on
        raise _pdf_over_budget()
    return FileInfo(kind=PDF, width=None, height=None, pages=pages)


# Only object and xref streams are ever inflated here (page images are not decoded), so
# pypdf's output limits can be as small as the object-stream cap.
_PDF_LIMITS = {
    name: MAX_PDF_OBJECT_STREAM_BYTES
    for name in (
        "zlib_maximum_output_length",
        "lzw_maximum_output_length",
        "run_length_maximum_output_length",
        "brotli_maximum_output_length",
    )
}


class _CountedStream(io.BytesIO):
    """The file as pypdf reads it, one budget unit per read: pypdf's parsing work."""

    def __init__(self, data: bytes, budget: int) -> None:
        super().__init__(data)
        self.budget = budget
        self.over_budget = False

    def _spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            self.over_budget = True
            raise LimitReachedError("PDF read budget exhausted")

    def read(self, size: int | None = -1, /) -> bytes:
        self._spend()
        return super().read(size)

    def readline(self, size: int | None = -1, /) -> bytes:
        self._spend()
        return super().readline(size)


def _pdf_over_budget() -> BadPhoto:
    return BadPhoto(f"PDF too complex to check: more than {PDF_READ_BUDGET} parsing steps")


def _check_pdf_objects(reader: PdfReader) -> None:
    refs = [(num, gen) for gen, table in reader.xref.items() for num in table]
    refs += [(num, 0) for num in reader.xref_objStm]
    if len(refs) > MAX_PDF_OBJECTS:
        raise BadPhoto(f"PDF has {len(refs)} objects, over the {MAX_PDF_OBJECTS} object limit")
    inflated = 0
    for stream_number in sorted({number for number, _ in reader.xref_objStm.values()}):
        object_stream = reader.get_object(int(stream_number))
        if not isinstance(object_stream, StreamObject):
            raise BadPhoto(f"corrupt PDF: object stream {stream_number} is not a stream")
        # get_data() inflates (within _PDF_LIMITS) and pypdf keeps the result for the parse.
        inflated += len(object_stream.get_data())
        if inflated > MAX_PDF_OBJECT_STREAM_BYTES:
            raise BadPhoto(f"PDF object streams hold more than {MAX_PDF_OBJECT_STREAM_BYTES} bytes")
    objects = ((num, reader.get_object(IndirectObject(num, gen, reader))) for num, gen in refs)
    for num, obj in [(0, reader.trailer), *objects]:
        found = _active_content(obj)
        if found:
            where = f"object {num}" if num else "the trailer"
            raise BadPhoto(f"PDF has active content: {found} ({where})")


def _active_content(obj: object) -> str | None:
    """Name the first active content in one object and its direct children (no recursion)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, DictionaryObject):
            for key, value in item.items():
                if key in _ACTIVE_KEYS:
                    return _ACTIVE_KEYS[key]
                if isinstance(value, NameObject):
                    if key == "/S" and value in _ACTIVE_ACTIONS:
                        return _ACTIVE_ACTIONS[value]
                    if key in ("/Type", "/Subtype") and value in _ACTIVE_TYPES:
                        return _ACTIVE_TYPES[value]
                if isinstance(value, (DictionaryObject, ArrayObject)):
                    stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(v for v in item if isinstance(v, (DictionaryObject, ArrayObject)))
    return None
