"""A corpus of hostile (and a few honest) files, made in code at test time.

Nothing binary is committed: every file is built from Pillow, pillow-heif, pypdf, zipfile
or by hand, then cut, patched or glued. Each :class:`Case` says what the door must do with
it: refuse it with a detail matching ``refused`` (a regular expression, matched in full), or
accept it as ``accepted``. Builders are registered by name so the tests can be parametrised
without building anything at collection time.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from PIL import ExifTags, Image
from pypdf import PdfWriter

from fieldhall.field_app_api.photos import FileInfo, PhotoLimits

JPEG, PNG, WEBP, HEIC, PDF = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
)
NOT_ACCEPTED = ", not JPEG, PNG, WebP, HEIC or PDF"


@dataclass(frozen=True)
class Case:
    data: bytes
    declared: str
    refused: str | None = None  # regex the BadPhoto detail must fullmatch
    accepted: FileInfo | None = None
    limits: PhotoLimits = field(default_factory=PhotoLimits)

    def __post_init__(self) -> None:
        assert (self.refused is None) != (self.accepted is None)


CASES: dict[str, Callable[[], Case]] = {}


def case(builder: Callable[[], Case]) -> Callable[[], Case]:
    CASES[builder.__name__] = builder
    return builder


# -- honest files, the raw material ----------------------------------------------------------


def picture(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """Something with detail in every channel, so encoders write real entropy-coded data."""
    grey = Image.linear_gradient("L").resize(size)
    return Image.merge(
        "RGB", (grey, grey.transpose(Image.Transpose.ROTATE_90).resize(size), grey.rotate(45))
    )


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@cache
def jpeg() -> bytes:
    return encode(picture(), "JPEG", quality=85)


@cache
def png() -> bytes:
    return encode(picture(), "PNG")


@cache
def webp() -> bytes:
    return encode(picture(), "WEBP", quality=80)


@cache
def heic() -> bytes:
    return encode(picture(), "HEIF", quality=60)


@cache
def gps_exif() -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 30.0)
    return exif.tobytes()


def pdf(*objects: bytes, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") -> bytes:
    """A hand-made PDF: object 1 is the catalog; the xref offsets are exact."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_pages(count: int, catalog_extra: bytes = b"", *extra: bytes) -> bytes:
    """Catalog (1), page tree (2), ``count`` pages (3…), then ``extra`` objects."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    pages = [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>" for _ in range(count)]
    return pdf(
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        *pages,
        *extra,
    )


def pdf_with_object_stream(*inner: bytes, catalog_extra: bytes = b"") -> bytes:
    """Catalog, pages and one page as plain objects (1–3); ``inner`` objects (4…) packed in a
    FlateDecode object stream; a cross-reference stream, as PDF 1.5 writers make them."""
    first = 4
    stm, xref_number = first + len(inner), first + len(inner) + 1
    bodies, offsets, at = [], [], 0
    for body in inner:
        offsets.append(at)
        bodies.append(body + b"\n")
        at += len(body) + 1
    index = b" ".join(b"%d %d" % (first + i, offset) for i, offset in enumerate(offsets)) + b"\n"
    packed = zlib.compress(index + b"".join(bodies))
    plain = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(inner), len(index), len(packed))
        + packed
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    where = {}
    for number, body in zip((1, 2, 3, stm), plain, strict=True):
        where[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    where[xref_number] = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for number in range(1, xref_number + 1):
        if number in where:
            rows.append(struct.pack(">BIH", 1, where[number], 0))
        else:
            rows.append(struct.pack(">BIH", 2, stm, number - first))
    table = b"".join(rows)
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % (
        xref_number,
        xref_number + 1,
        len(table),
    )
    out += table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % where[xref_number]
    return bytes(out)


def stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), entries, data)


@cache
def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.sh", "#!/bin/sh\necho pwned\n")
    return out.getvalue()


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def png_ihdr(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))


def patch_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    sof = re.search(rb"\xff[\xc0\xc2]", data)
    assert sof is not None
    at = sof.start() + 5  # marker (2), length (2), precision (1)
    return data[:at] + struct.pack(">HH", height, width) + data[at + 4 :]


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


# -- accepted ---------------------------------------------------------------------------------


def info(kind: str, w: int | None = 64, h: int | None = 48, **kw: object) -> FileInfo:
    return FileInfo(kind=kind, width=w, height=h, pages=None, **kw)  # type: ignore[arg-type]


@case
def jpeg_plain() -> Case:
    return Case(jpeg(), JPEG, accepted=info(JPEG))


@case
def jpeg_progressive() -> Case:
    return Case(encode(picture(), "JPEG", progressive=True), JPEG, accepted=info(JPEG))


@case
def jpeg_cmyk() -> Case:
    return Case(encode(picture().convert("CMYK"), "JPEG"), JPEG, accepted=info(JPEG))


@case
def jpeg_grey() -> Case:
    return Case(encode(picture().convert("L"), "JPEG"), JPEG, accepted=info(JPEG))


@case
def jpeg_exif_with_gps() -> Case:
    data = encode(picture(), "JPEG", exif=gps_exif())
    return Case(data, JPEG, accepted=info(JPEG, has_gps=True))


@case
def jpeg_zero_padding_after_eoi() -> Case:
    return Case(jpeg() + b"\x00" * 512, JPEG, accepted=info(JPEG))


@case
def jpeg_declared_with_alias_and_parameters() -> Case:
    return Case(jpeg(), "Image/JPG; name=photo.png", accepted=info(JPEG))


@case
def mpo_two_images() -> Case:
    data = encode(picture(), "MPO", save_all=True, append_images=[picture().rotate(180)])
    return Case(data, JPEG, accepted=info(JPEG))


@case
def png_plain() -> Case:
    return Case(png(), PNG, accepted=info(PNG))


@case
def png_interlaced_16bit_grey() -> Case:
    data = encode(picture().convert("I;16"), "PNG", interlace=True)
    return Case(data, PNG, accepted=info(PNG))


@case
def png_exif_with_gps() -> Case:
    return Case(encode(picture(), "PNG", exif=gps_exif()), PNG, accepted=info(PNG, has_gps=True))


@case
def webp_lossy() -> Case:
    return Case(webp(), WEBP, accepted=info(WEBP))


@case
def webp_lossless_with_gps() -> Case:
    data = encode(picture(), "WEBP", lossless=True, exif=gps_exif())
    return Case(data, WEBP, accepted=info(WEBP, has_gps=True))


@case
def heic_plain() -> Case:
    return Case(heic(), HEIC, accepted=info(HEIC))


@case
def heic_declared_heif_with_gps() -> Case:
    data = encode(picture(), "HEIF", quality=60, exif=gps_exif())
    return Case(data, "image/heif", accepted=info(HEIC, has_gps=True))


@case
def pdf_by_hand_two_pages() -> Case:
    return Case(pdf_pages(2), PDF, accepted=FileInfo(PDF, None, None, pages=2))


@case
def pdf_by_pypdf() -> Case:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return Case(out.getvalue(), PDF, accepted=FileInfo(PDF, None, None, pages=1))


@case
def pdf_scan_with_a_jpeg_inside() -> Case:
    image = stream(
        jpeg(),
        b"/Type /XObject /Subtype /Image /Width 64 /Height 48 /ColorSpace "
        b"/DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode",
    )
    return Case(pdf_pages(1, b"", image), PDF, accepted=FileInfo(PDF, None, None, pages=1))


@case
def pdf_scan_with_a_large_page_image() -> Case:
    # Page images are never decoded, so their size only counts against max_bytes.
    payload = random.Random(7).randbytes(3 * 1024 * 1024)
    image = stream(payload, b"/Type /XObject /Subtype /Image /Filter /DCTDecode")
    return Case(pdf_pages(1, b"", image), PDF, accepted=FileInfo(PDF, None, None, pages=1))


@case
def pdf_with_object_streams() -> Case:
    data = pdf_with_object_stream(b"<< /Title (scan) >>", b"[1 2 3]")
    return Case(data, PDF, accepted=FileInfo(PDF, None, None, pages=1))


# -- empty, too big, not a photo at all ----------------------------------------------------------


@case
def zero_bytes() -> Case:
    return Case(b"", JPEG, refused=r"empty file \(0 bytes\)")


@case
def over_the_byte_limit() -> Case:
    return Case(
        png(), PNG, refused=r"file is larger than the 100 byte limit", limits=PhotoLimits(100)
    )


@case
def elf_renamed_photo_jpg() -> Case:
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x00" * 100
    return Case(elf, JPEG, refused=re.escape("the bytes are an ELF executable" + NOT_ACCEPTED))


@case
def windows_exe_renamed() -> Case:
    exe = b"MZ\x90\x00" + b"\x00" * 56 + b"PE\x00\x00" + b"\x00" * 64
    return Case(
        exe, PNG, refused=re.escape("the bytes are a Windows executable (MZ/PE)" + NOT_ACCEPTED)
    )


@case
def shell_script_claimed_png() -> Case:
    script = b"#!/bin/sh\necho pwned > /tmp/x\n"
    return Case(script, PNG, refused=re.escape("the bytes are a script (#!)" + NOT_ACCEPTED))


@case
def html_claimed_png() -> Case:
    html = b"\xef\xbb\xbf\n  <!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    return Case(html, PNG, refused=re.escape("the bytes are an HTML document" + NOT_ACCEPTED))


@case
def svg_claimed_png() -> Case:
    svg = (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        b"<script>alert(2)</script></svg>"
    )
    return Case(svg, PNG, refused=re.escape("the bytes are an SVG document" + NOT_ACCEPTED))


@case
def zip_claimed_jpeg() -> Case:
    return Case(
        zip_archive(), JPEG, refused=re.escape("the bytes are a ZIP archive" + NOT_ACCEPTED)
    )


@case
def gif_claimed_png() -> Case:
    gif = encode(picture(), "GIF")
    return Case(gif, PNG, refused=re.escape("the bytes are a GIF image" + NOT_ACCEPTED))


@case
def avif_claimed_heic() -> Case:
    ftyp = struct.pack(">I", 28) + b"ftypavif" + b"\x00\x00\x00\x00" + b"avifmif1miaf"
    return Case(
        ftyp + b"\x00" * 64, HEIC, refused=re.escape("the bytes are an AVIF image" + NOT_ACCEPTED)
    )


@case
def pdf_header_not_at_offset_zero() -> Case:
    data = b"GARBAGE\n" + pdf_pages(1)
    return Case(
        data,
        PDF,
        refused=re.escape(
            "the bytes are a PDF document whose header is not at offset 0" + NOT_ACCEPTED
        ),
    )


# -- declared type does not match the bytes --------------------------------------------------


@case
def png_declared_jpeg() -> Case:
    return Case(png(), JPEG, refused="declared image/jpeg but the bytes are PNG")


@case
def jpeg_declared_pdf() -> Case:
    return Case(jpeg(), PDF, refused="declared application/pdf but the bytes are JPEG")


@case
def pdf_declared_jpeg() -> Case:
    return Case(pdf_pages(1), JPEG, refused="declared image/jpeg but the bytes are PDF")


@case
def webp_declared_gif() -> Case:
    return Case(webp(), "image/gif", refused="declared image/gif but the bytes are WebP")


@case
def heic_declared_nothing() -> Case:
    return Case(heic(), "", refused="declared no content_type but the bytes are HEIC")


# -- bombs: refused from the header, before any decoding ---------------------------------------


@case
def png_bomb_real_zlib_stream() -> Case:
    # 10000x10000 1-bit grey: 100 MP from a ~12 KB deflate stream of zero rows.
    rows = zlib.compressobj(9)
    body = b"".join(rows.compress(b"\x00" * 1251 * 1000) for _ in range(10)) + rows.flush()
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_ihdr(10_000, 10_000, depth=1, colour=0)
        + png_chunk(b"IDAT", body)
        + png_chunk(b"IEND", b"")
    )
    return Case(
        data, PNG, refused="PNG of 10000x10000 is 100000000 pixels, over the 40000000 pixel limit"
    )


@case
def png_huge_declared_dimensions() -> Case:
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_ihdr(100_000, 100_000)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )
    return Case(data, PNG, refused="PNG of 100000x100000 has a side over the 12000 limit")


@case
def png_huge_dimensions_then_truncated() -> Case:
    data = b"\x89PNG\r\n\x1a\n" + png_ihdr(0x7FFF_FFFF, 0x7FFF_FFFF)
    return Case(data, PNG, refused="PNG of 2147483647x2147483647 has a side over the 12000 limit")


@case
def jpeg_bomb_huge_frame_header() -> Case:
    data = patch_jpeg_size(jpeg(), 65_000, 65_000)
    return Case(data, JPEG, refused="JPEG of 65000x65000 has a side over the 12000 limit")


@case
def jpeg_bomb_too_many_pixels() -> Case:
    data = patch_jpeg_size(jpeg(), 11_000, 11_000)
    return Case(
        data, JPEG, refused="JPEG of 11000x11000 is 121000000 pixels, over the 40000000 pixel limit"
    )


@case
def jpeg_bomb_many_progressive_scans() -> Case:
    data = encode(picture(), "JPEG", progressive=True)
    last_scan = data.rindex(b"\xff\xda")
    scan = data[last_scan:-2]  # the last SOS segment and its entropy-coded data
    return Case(
        data[:-2] + scan * 150 + b"\xff\xd9", JPEG, refused="JPEG bomb: more than 100 scans"
    )


@case
def webp_huge_dimensions() -> Case:
    data = bytearray(webp())
    at = data.index(b"\x9d\x01\x2a") + 3  # the VP8 key frame start code, then 14-bit sizes
    data[at : at + 4] = struct.pack("<HH", 16_000, 16_000)
    return Case(bytes(data), WEBP, refused="WebP of 16000x16000 has a side over the 12000 limit")


@case
def heic_huge_image_size_property() -> Case:
    data = bytearray(heic())
    at = data.index(b"ispe") + 8  # box type (4), version and flags (4)
    data[at : at + 8] = struct.pack(">II", 30_000, 30_000)
    return Case(bytes(data), HEIC, refused="HEIC of 30000x30000 has a side over the 12000 limit")


@case
def pixel_limit_is_ours_not_pillows() -> Case:
    return Case(
        png(),
        PNG,
        refused="PNG of 64x48 is 3072 pixels, over the 3000 pixel limit",
        limits=PhotoLimits(max_pixels=3000),
    )


# -- truncated and corrupt --------------------------------------------------------------------


def _truncations(name: str, make: Callable[[], bytes], kind: str, detail: str) -> None:
    for label, cut in (("3", 3), ("30", 30), ("half", -2), ("minus_2", -3), ("minus_1", -4)):

        def build(cut: int = cut) -> Case:
            data = make()
            end = {-2: len(data) // 2, -3: len(data) - 2, -4: len(data) - 1}.get(cut, cut)
            return Case(data[:end], kind, refused=detail)

        CASES[f"{name}_truncated_at_{label}"] = build


_truncations("jpeg", jpeg, JPEG, r"truncated JPEG: .+")
_truncations(
    "jpeg_progressive", lambda: encode(picture(), "JPEG", progressive=True), JPEG, "truncated .*"
)
_truncations("png", png, PNG, r"truncated PNG: .+")
_truncations("webp", webp, WEBP, r"truncated WebP: .+")
_truncations("heic", heic, HEIC, r"truncated HEIC: .+")


@case
def png_only_signature_and_ihdr() -> Case:
    return Case(
        b"\x89PNG\r\n\x1a\n" + png_ihdr(64, 48), PNG, refused="truncated PNG: no IEND chunk"
    )


@case
def pdf_truncated_half() -> Case:
    data = pdf_pages(3)
    return Case(data[: len(data) // 2], PDF, refused="truncated PDF: no %%EOF marker")


@case
def png_bad_crc() -> Case:
    data = bytearray(png())
    data[20] ^= 0x01  # inside IHDR
    return Case(bytes(data), PNG, refused="corrupt PNG: CRC mismatch in chunk IHDR at offset 8")


@case
def png_corrupt_deflate_with_valid_crc() -> Case:
    header = b"\x89PNG\r\n\x1a\n" + png_ihdr(64, 48)
    garbage = png_chunk(b"IDAT", b"\x78\x9c" + bytes(range(200)))
    return Case(header + garbage + png_chunk(b"IEND", b""), PNG, refused=r"corrupt PNG: Pillow: .+")


@case
def png_first_chunk_not_ihdr() -> Case:
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"a\x00b") + png()[8:]
    return Case(data, PNG, refused="corrupt PNG: the first chunk is not IHDR")


@case
def jpeg_unsupported_precision() -> Case:
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 4] = 7  # sample precision 7 bits: libjpeg refuses the frame
    return Case(bytes(data), JPEG, refused="Pillow cannot identify the bytes as JPEG")


@case
def jpeg_bogus_huffman_table() -> Case:
    data = bytearray(jpeg())
    dht = data.index(b"\xff\xc4")
    data[dht + 5 : dht + 21] = b"\xff" * 16  # code counts summing far past 256
    return Case(
        bytes(data),
        JPEG,
        refused="corrupt JPEG: Pillow: broken data stream when reading image file",
    )


@case
def jpeg_scan_before_frame_header() -> Case:
    data = jpeg()
    sos = data.index(b"\xff\xda")
    length = struct.unpack(">H", data[sos + 2 : sos + 4])[0]
    data = b"\xff\xd8" + data[sos : sos + 2 + length] + b"\x00" * 16 + b"\xff\xd9"
    return Case(data, JPEG, refused="corrupt JPEG: scan before the frame header")


@case
def jpeg_zero_height() -> Case:
    return Case(patch_jpeg_size(jpeg(), 64, 0), JPEG, refused="corrupt JPEG: image of 64x0 pixels")


@case
def heic_corrupt_coded_data() -> Case:
    data = bytearray(heic())
    payload = data.index(b"mdat") + 4
    data[payload : payload + 4] = b"\xff\xff\xff\xff"  # the first NAL unit's length
    return Case(bytes(data), HEIC, refused=r"corrupt HEIC: Pillow: .+")


@case
def heic_extent_outside_the_file() -> Case:
    data = bytearray(heic())
    iloc = data.index(b"iloc")
    data[iloc + 16 : iloc + 20] = b"\x00\x00\xff\xff"  # the first item's extent offset
    return Case(bytes(data), HEIC, refused=r"corrupt HEIC: Pillow: .+")


@case
def heic_broken_decoder_configuration() -> Case:
    data = bytearray(heic())
    hvcc = data.index(b"hvcC")
    data[hvcc + 4 : hvcc + 30] = b"\xff" * 26
    return Case(bytes(data), HEIC, refused="Pillow cannot identify the bytes as HEIC")


@case
def heic_without_image_size() -> Case:
    data = heic().replace(b"ispe", b"ispX")
    return Case(data, HEIC, refused=r"corrupt HEIC: no image size \(ispe\) property")


@case
def webp_no_image_chunk() -> Case:
    body = b"WEBP" + b"EXIF" + struct.pack("<I", 4) + b"abcd"
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    return Case(data, WEBP, refused=r"corrupt WebP: the first chunk b'EXIF' is not .+")


# -- polyglots and appended data --------------------------------------------------------------


@case
def jpeg_with_zip_appended() -> Case:
    return Case(
        jpeg() + zip_archive(),
        JPEG,
        refused=r"trailing data: \d+ bytes after the JPEG end-of-image marker at offset \d+ "
        r"\(a ZIP archive\)",
    )


@case
def jpeg_with_pdf_appended() -> Case:
    return Case(
        jpeg() + pdf_pages(1),
        JPEG,
        refused=r"trailing data: \d+ bytes after the JPEG end-of-image marker at offset \d+ "
        r"\(a PDF document\)",
    )


@case
def jpeg_with_jpeg_appended_without_mpf() -> Case:
    return Case(
        jpeg() + jpeg(),
        JPEG,
        refused=r"trailing data: \d+ bytes after the JPEG end-of-image marker at offset \d+ "
        r"\(a JPEG image\)",
    )


@case
def jpeg_motion_photo_style_mp4_appended() -> Case:
    mp4 = struct.pack(">I", 24) + b"ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 100
    return Case(
        jpeg() + mp4,
        JPEG,
        refused=r"trailing data: \d+ bytes after the JPEG end-of-image marker at offset \d+ "
        r"\(an MP4 file\)",
    )


@case
def jpeg_and_pdf_polyglot() -> Case:
    # A PDF hidden in a JPEG comment segment, its %%EOF after the JPEG's EOI: opens as both.
    inner = pdf_pages(1)
    data = jpeg()
    polyglot = data[:2] + jpeg_segment(0xFE, inner) + data[2:] + b"\n%%EOF\n"
    return Case(polyglot, JPEG, refused="polyglot: a PDF header inside the JPEG at offset 6")


@case
def jpeg_with_zip_inside_a_comment() -> Case:
    data = jpeg()
    polyglot = data[:2] + jpeg_segment(0xFE, zip_archive()) + data[2:]
    return Case(
        polyglot,
        JPEG,
        refused=r"polyglot: a ZIP archive inside the JPEG \(end of central directory at offset "
        r"\d+\)",
    )


@case
def png_with_data_after_iend() -> Case:
    return Case(
        png() + b"<?php system($_GET['c']); ?>",
        PNG,
        refused=r"trailing data: 28 bytes after the PNG IEND chunk at offset \d+ \(text\)",
    )


@case
def png_with_zip_after_iend() -> Case:
    return Case(
        png() + zip_archive(),
        PNG,
        refused=r"trailing data: \d+ bytes after the PNG IEND chunk at offset \d+ "
        r"\(a ZIP archive\)",
    )


@case
def webp_with_data_after_riff() -> Case:
    return Case(
        webp() + b"\x7fELF" + b"\x01" * 60,
        WEBP,
        refused=r"trailing data: 64 bytes after the WebP RIFF end at offset \d+ "
        r"\(an ELF executable\)",
    )


@case
def heic_with_zip_appended() -> Case:
    return Case(
        heic() + zip_archive(),
        HEIC,
        refused=r"trailing data: \d+ bytes after the last HEIC box at offset \d+ \(a ZIP archive\)",
    )


@case
def pdf_with_trailing_garbage() -> Case:
    return Case(
        pdf_pages(1) + b"GARBAGE",
        PDF,
        refused=r"trailing data: 8 bytes after the last %%EOF at offset \d+ \(text\)",
    )


@case
def pdf_with_zip_appended() -> Case:
    return Case(
        pdf_pages(1) + zip_archive(),
        PDF,
        refused=r"trailing data: \d+ bytes after the last %%EOF at offset \d+ \(a ZIP archive\)",
    )


@case
def pdf_with_jpeg_appended() -> Case:
    return Case(
        pdf_pages(1) + jpeg(),
        PDF,
        refused=r"trailing data: \d+ bytes after the last %%EOF at offset \d+ \(a JPEG image\)",
    )


@case
def pdf_with_zip_inside() -> Case:
    data = pdf_pages(1, b"", stream(zip_archive()))
    return Case(
        data,
        PDF,
        refused=r"polyglot: a ZIP archive inside the PDF \(end of central directory at offset "
        r"\d+\)",
    )


# -- PDFs that parse loosely but not strictly, or carry active content ----------------------


@case
def pdf_malformed_header() -> Case:
    return Case(b"%PDF-X\n" + pdf_pages(1)[9:], PDF, refused="corrupt PDF: malformed %PDF- header")


@case
def pdf_xref_offsets_wrong() -> Case:
    data = pdf_pages(1).replace(b"%PDF-1.7\n", b"%PDF-1.7\n%%shifted%%\n", 1)
    return Case(data, PDF, refused=r"corrupt PDF: does not parse strictly \(.+\)")


@case
def pdf_startxref_points_nowhere() -> Case:
    data = re.sub(rb"startxref\n\d+", b"startxref\n999999", pdf_pages(1))
    return Case(data, PDF, refused=r"corrupt PDF: does not parse strictly \(.+\)")


@case
def pdf_no_pages() -> Case:
    return Case(pdf_pages(0), PDF, refused="PDF has no pages")


@case
def pdf_too_many_pages() -> Case:
    return Case(
        pdf_pages(3),
        PDF,
        refused="PDF has 3 pages, over the 2 page limit",
        limits=PhotoLimits(max_pdf_pages=2),
    )


@case
def pdf_javascript_open_action() -> Case:
    data = pdf_pages(1, b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
    return Case(data, PDF, refused=r"PDF has active content: JavaScript \(object 1\)")


@case
def pdf_javascript_with_escaped_names() -> Case:
    data = pdf_pages(1, b"/OpenAction 4 0 R", b"<< /S /J#61vaScript /#4A#53 (app.alert(1)) >>")
    return Case(data, PDF, refused=r"PDF has active content: JavaScript \(object 4\)")


@case
def pdf_launch_action() -> Case:
    data = pdf_pages(1, b"/OpenAction << /S /Launch /F (cmd.exe) >>")
    return Case(data, PDF, refused=r"PDF has active content: a launch action \(object 1\)")


@case
def pdf_embedded_file_by_hand() -> Case:
    data = pdf_pages(
        1,
        b"/Names << /EmbeddedFiles << /Names [(a.sh) 4 0 R] >> >>",
        b"<< /Type /Filespec /F (a.sh) /EF << /F 5 0 R >> >>",
        stream(b"#!/bin/sh\necho pwned\n", b"/Type /EmbeddedFile"),
    )
    return Case(data, PDF, refused=r"PDF has active content: embedded files \(object 1\)")


@case
def pdf_embedded_file_by_pypdf() -> Case:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment("payload.sh", b"#!/bin/sh\necho pwned\n")
    out = io.BytesIO()
    writer.write(out)
    return Case(
        out.getvalue(),
        PDF,
        refused=r"PDF has active content: (embedded files|an embedded file) \(object \d+\)",
    )


@case
def pdf_javascript_hidden_in_an_object_stream() -> Case:
    data = pdf_with_object_stream(
        b"<< /Producer (scanner) >>",
        b"<< /S /JavaScript /JS (app.alert(1)) >>",
        catalog_extra=b"/OpenAction 5 0 R",
    )
    return Case(data, PDF, refused=r"PDF has active content: JavaScript \(object 5\)")


@case
def pdf_object_stream_bomb() -> Case:
    # 3 MB of tokens inflated from a few kilobytes.
    data = pdf_with_object_stream(b"[" + b"0 " * 1_500_000 + b"]")
    return Case(data, PDF, refused=r"PDF too complex to check \(.+\)")


@case
def pdf_too_many_objects() -> Case:
    data = pdf_pages(1, b"", *([b"null"] * 10_000))
    return Case(data, PDF, refused="PDF has 10003 objects, over the 10000 object limit")


@case
def pdf_too_much_to_parse() -> Case:
    # Dense syntax in plain objects: ~1 s of pypdf at the read budget, then refused.
    dense = b"[" + b" ".join(b"%d" % i for i in range(90_000)) + b"]"
    data = pdf_pages(1, b"", dense, dense)
    return Case(data, PDF, refused="PDF too complex to check: more than 400000 parsing steps")


@case
def pdf_encrypted() -> Case:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt("", "owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return Case(out.getvalue(), PDF, refused="encrypted PDF is not accepted")


# -- files made to be slow ---------------------------------------------------------------


@case
def jpeg_many_tiny_segments() -> Case:
    data = jpeg()
    many = data[:2] + jpeg_segment(0xFE, b"x") * 3000 + data[2:]
    return Case(many, JPEG, refused="JPEG with more than 2000 segments")


@case
def jpeg_megabytes_of_fill_bytes() -> Case:
    data = jpeg()
    return Case(
        data[:2] + b"\xff" * 2_000_000 + data[2:],
        JPEG,
        refused="JPEG with more than 64 fill bytes at offset 2",
    )


@case
def png_swarm_of_empty_chunks() -> Case:
    data = png()
    swarm = data[:33] + png_chunk(b"tEXt", b"") * 25_000 + data[33:]
    return Case(swarm, PNG, refused="PNG with more than 20000 chunks")


# -- animation ----------------------------------------------------------------------------------


@case
def png_animated() -> Case:
    data = encode(picture(), "PNG", save_all=True, append_images=[picture().rotate(90)])
    return Case(data, PNG, refused="animated PNG is not accepted")


@case
def webp_animated() -> Case:
    data = encode(picture(), "WEBP", save_all=True, append_images=[picture().rotate(90)])
    return Case(data, WEBP, refused="animated WebP is not accepted")


def valid_files() -> dict[str, tuple[bytes, str]]:
    """One honest file of each kind, as raw material for mutation tests."""
    return {
        "jpeg": (jpeg(), JPEG),
        "jpeg_progressive": (encode(picture(), "JPEG", progressive=True), JPEG),
        "mpo": (
            encode(picture(), "MPO", save_all=True, append_images=[picture().rotate(180)]),
            JPEG,
        ),
        "png": (png(), PNG),
        "webp": (webp(), WEBP),
        "webp_lossless": (encode(picture(), "WEBP", lossless=True, exif=gps_exif()), WEBP),
        "heic": (heic(), HEIC),
        "pdf": (pdf_pages(2), PDF),
    }
