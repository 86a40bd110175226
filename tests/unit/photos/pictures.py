"""Small test pictures: an asymmetric pattern, every kind of metadata, and a JPEG reader.

The pattern has four differently coloured quadrants on a 3:2 canvas, so each of the 8 EXIF
orientations shows it differently. ``stored_as`` lays it out the way a camera stores it for an
orientation, written from the EXIF definition of where row 0 and column 0 lie (not from the
transposes the code under test uses).
"""

from __future__ import annotations

import io
import struct

import numpy as np
import numpy.typing as npt
import pillow_heif
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

pillow_heif.register_heif_opener()

__all__ = [
    "QUADRANTS",
    "XMP",
    "encoded",
    "gps_exif",
    "jpeg_segments",
    "linear_rgb_icc",
    "pattern",
    "quadrant_colours",
    "stored_as",
    "with_segment",
]

# top-left, top-right, bottom-left, bottom-right
QUADRANTS = ((230, 20, 20), (20, 200, 20), (20, 20, 230), (240, 240, 30))
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="32,40.8N" '
    b'exif:GPSLongitude="109,1.8E"/></rdf:RDF></x:xmpmeta>'
)


def pattern(width: int = 90, height: int = 60) -> npt.NDArray[np.uint8]:
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[: height // 2, : width // 2] = QUADRANTS[0]
    pixels[: height // 2, width // 2 :] = QUADRANTS[1]
    pixels[height // 2 :, : width // 2] = QUADRANTS[2]
    pixels[height // 2 :, width // 2 :] = QUADRANTS[3]
    return pixels


def stored_as(shown: npt.NDArray[np.uint8], orientation: int) -> Image.Image:
    """The pixels a camera stores for ``shown`` with EXIF ``orientation``.

    EXIF names the side of the scene that stored row 0 and column 0 show: 1 top/left,
    2 top/right, 3 bottom/right, 4 bottom/left, 5 left/top, 6 right/top, 7 right/bottom,
    8 left/bottom.
    """
    turned = shown.transpose(1, 0, 2)  # turned[i, j] = shown[j, i]
    stored = {
        1: shown,
        2: shown[:, ::-1],
        3: shown[::-1, ::-1],
        4: shown[::-1, :],
        5: turned,
        6: turned[::-1, :],  # stored[i, j] = shown[j, w-1-i]
        7: turned[::-1, ::-1],
        8: turned[:, ::-1],  # stored[i, j] = shown[h-1-j, i]
    }[orientation]
    return Image.fromarray(np.ascontiguousarray(stored), "RGB")


def quadrant_colours(image: Image.Image) -> list[tuple[int, ...]]:
    rgb = image.convert("RGB")
    width, height = rgb.size
    points = [(width // 4, height // 4), (3 * width // 4, height // 4)]
    points += [(width // 4, 3 * height // 4), (3 * width // 4, 3 * height // 4)]
    return [tuple(rgb.getpixel(point)) for point in points]  # type: ignore[arg-type]


def gps_exif(orientation: int = 1) -> bytes:
    """EXIF with a camera, a capture time, a GPS position and an orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Field X1"
    exif[ExifTags.Base.DateTime] = "2026:03:14 10:20:30"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (32.0, 40.0, 48.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (109.0, 1.0, 48.0)
    return exif.tobytes()


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG" and "pnginfo" not in params:
        info = PngInfo()
        info.add_text("Comment", "taken at 32.68N 109.03E")
        info.add_text("Location", "Hanjiang ward 3", zip=True)
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        params["pnginfo"] = info
    image.save(out, fmt, **params)
    return out.getvalue()


def with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """``jpeg`` with an APPn/COM segment inserted right after SOI."""
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload + jpeg[2:]


def jpeg_segments(jpeg: bytes) -> list[tuple[int, bytes]]:
    """The (marker, payload) of every segment before the scan data."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    found = []
    offset = 2
    while offset < len(jpeg):
        assert jpeg[offset] == 0xFF, f"no marker at {offset}"
        marker = jpeg[offset + 1]
        (length,) = struct.unpack(">H", jpeg[offset + 2 : offset + 4])
        found.append((marker, jpeg[offset + 4 : offset + 2 + length]))
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        offset += 2 + length
    return found


def linear_rgb_icc() -> bytes:
    """A matrix/TRC ICC v2 profile: sRGB primaries with gamma 1.0 (linear light).

    Pixel value 128 in it is sRGB ≈ 188, so a conversion is easy to see.
    """

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    description = b"Linear RGB test"
    tags = [
        (
            b"desc",
            b"desc\0\0\0\0"
            + struct.pack(">I", len(description) + 1)
            + description
            + b"\0"
            + b"\0" * 8
            + b"\0" * 3
            + b"\0" * 67,
        ),
        (b"cprt", b"text\0\0\0\0No copyright\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"),
        (b"gTRC", b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"),
        (b"bTRC", b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, data = b"", b""
    for signature, body in tags:
        padded = body + b"\0" * (-len(body) % 4)
        entries += signature + struct.pack(">II", offset + len(data), len(body))
        data += padded
    size = 128 + table_size + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    profile = header + struct.pack(">I", len(tags)) + entries + data
    ImageCms.ImageCmsProfile(io.BytesIO(profile))  # LittleCMS accepts it
    return profile
