"""``render``: derivatives carry no metadata, stand upright, keep colours, refuse bad bytes."""

from __future__ import annotations

import hashlib
import io
import warnings

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms, JpegImagePlugin

from fieldhall.server.photos import render
from fieldhall.server.photos.errors import TooManyPixels, UnreadableImage, UnsupportedType
from fieldhall.server.photos.rendering import PREVIEW, THUMBNAIL

from .pictures import (
    QUADRANTS,
    XMP,
    encoded,
    gps_exif,
    jpeg_segments,
    linear_rgb_icc,
    pattern,
    quadrant_colours,
    stored_as,
    with_segment,
)

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
# Only these segments may precede the scan: JFIF, quantisation and Huffman tables, frame.
ALLOWED_SEGMENTS = {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}


def photo_with_everything(fmt: str, size: tuple[int, int] = (640, 480)) -> bytes:
    """A picture in ``fmt`` carrying EXIF with GPS, XMP, an ICC profile and text."""
    image = Image.fromarray(
        np.random.default_rng(7).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    )
    params: dict[str, object] = {"exif": gps_exif(), "icc_profile": SRGB}
    if fmt == "JPEG":
        params |= {"xmp": XMP, "comment": b"ward 3, bed 12", "quality": 90}
    elif fmt in ("WEBP", "HEIF"):
        params |= {"xmp": XMP, "quality": 90}
    data = encoded(image, fmt, **params)
    if fmt == "JPEG":  # an IPTC block, as photo apps write them
        data = with_segment(data, 0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x00")
    return data


def read_back(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=["JPEG"])
    image.load()
    return image


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_source_pictures_really_carry_the_metadata(fmt: str) -> None:
    with Image.open(io.BytesIO(photo_with_everything(fmt))) as image:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitude] == (32.0, 40.0, 48.0)
        assert image.info.get("icc_profile")


@pytest.mark.parametrize("fmt", FORMATS)
def test_derivatives_carry_no_exif_gps_xmp_iptc_icc_or_comment(fmt: str) -> None:
    rendering = render(photo_with_everything(fmt), FORMATS[fmt])
    assert rendering is not None
    for name in (THUMBNAIL.name, PREVIEW.name):
        data = rendering.images[name]
        markers = {marker for marker, _ in jpeg_segments(data)}
        assert markers <= ALLOWED_SEGMENTS, f"{name}: segments {sorted(hex(m) for m in markers)}"
        assert [payload[:5] for marker, payload in jpeg_segments(data) if marker == 0xE0] == [
            b"JFIF\0"
        ]
        image = read_back(data)
        assert not image.getexif()
        assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
        for needle in (b"Exif", b"GPS", b"xmpmeta", b"8BIM", b"ward 3", b"PhoneCo", b"acsp"):
            assert needle not in data


def test_png_text_chunks_do_not_reach_the_derivatives() -> None:
    data = photo_with_everything("PNG")
    assert b"Hanjiang" in data or b"zTXt" in data
    rendering = render(data, "image/png")
    assert rendering is not None
    for derivative in rendering.images.values():
        assert b"32.68N" not in derivative and b"Location" not in derivative


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(fmt: str, orientation: int) -> None:
    shown = pattern(90, 60)
    data = encoded(
        stored_as(shown, orientation),
        fmt,
        exif=gps_exif(orientation),
        **({} if fmt == "PNG" else {"quality": 95}),
    )
    rendering = render(data, FORMATS[fmt])
    assert rendering is not None
    assert (rendering.width, rendering.height) == (90, 60)
    for name in (THUMBNAIL.name, PREVIEW.name):
        image = read_back(rendering.images[name])
        assert image.size == (90, 60)
        for seen, expected in zip(quadrant_colours(image), QUADRANTS, strict=True):
            assert max(abs(a - b) for a, b in zip(seen, expected, strict=True)) < 40, (
                f"orientation {orientation}: quadrants {quadrant_colours(image)}"
            )


def test_sizes_follow_the_long_side_and_never_enlarge() -> None:
    big = encoded(Image.new("RGB", (1600, 1200), "grey"), "JPEG")
    rendering = render(big, "image/jpeg")
    assert rendering is not None
    assert read_back(rendering.images["thumb"]).size == (256, 192)
    assert read_back(rendering.images["preview"]).size == (1280, 960)
    tall = encoded(Image.new("RGB", (900, 3000), "grey"), "JPEG")
    rendering = render(tall, "image/jpeg")
    assert rendering is not None
    assert read_back(rendering.images["thumb"]).size == (77, 256)
    small = encoded(Image.new("RGB", (120, 40), "grey"), "PNG")
    rendering = render(small, "image/png")
    assert rendering is not None
    assert read_back(rendering.images["thumb"]).size == (120, 40)
    assert read_back(rendering.images["preview"]).size == (120, 40)


def test_a_large_jpeg_is_decoded_in_draft_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded_sizes = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: object) -> object:
        result = original_draft(self, mode, size)  # type: ignore[arg-type]
        decoded_sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    data = encoded(Image.new("RGB", (4000, 3000), "grey"), "JPEG")
    assert render(data, "image/jpeg", (THUMBNAIL,)) is not None
    assert render(data, "image/jpeg") is not None
    # 1/8 scale for a thumbnail alone, 1/2 for the 1280 px preview.
    assert decoded_sizes == [(500, 375), (2000, 1500)]


def test_the_original_bytes_are_not_touched() -> None:
    data = photo_with_everything("JPEG")
    before = hashlib.sha256(data).hexdigest()
    view = bytearray(data)
    render(bytes(view), "image/jpeg")
    assert hashlib.sha256(view).hexdigest() == before


def test_rendering_is_deterministic() -> None:
    data = photo_with_everything("JPEG")
    assert render(data, "image/jpeg") == render(data, "image/jpeg")


def test_a_multi_picture_jpeg_shows_its_first_image() -> None:
    first = Image.new("RGB", (800, 600), (200, 30, 30))
    second = Image.new("RGB", (800, 600), (30, 30, 200))
    mpo = encoded(first, "MPO", save_all=True, append_images=[second])
    rendering = render(mpo, "image/jpeg")
    assert rendering is not None
    red, _, blue = read_back(rendering.images["thumb"]).getpixel((10, 10))  # type: ignore[misc]
    assert red > 180 and blue < 60
    assert {marker for marker, _ in jpeg_segments(rendering.images["preview"])} <= ALLOWED_SEGMENTS


def test_transparency_is_flattened_onto_white() -> None:
    signature = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    signature.paste((20, 20, 120, 255), (80, 40, 120, 60))
    rendering = render(encoded(signature, "PNG"), "image/png")
    assert rendering is not None
    image = read_back(rendering.images["thumb"]).convert("RGB")
    assert min(image.getpixel((10, 10))) > 245  # type: ignore[arg-type]
    assert image.getpixel((100, 50))[2] > 80  # type: ignore[index]
    palette = signature.convert("P")
    palette.info["transparency"] = 0
    assert render(encoded(palette, "PNG", transparency=0), "image/png") is not None


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    scan = Image.new("I;16", (64, 64), 40000)
    rendering = render(encoded(scan, "PNG"), "image/png")
    assert rendering is not None
    value = read_back(rendering.images["thumb"]).getpixel((32, 32))
    assert abs(value - 40000 / 256) < 4  # type: ignore[operator]


def test_cmyk_jpeg_becomes_rgb() -> None:
    rendering = render(encoded(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG"), "image/jpeg")
    assert rendering is not None
    image = read_back(rendering.images["thumb"])
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((32, 32))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_another_colour_space_is_converted_to_srgb_and_its_profile_dropped() -> None:
    grey = Image.new("RGB", (64, 64), (128, 128, 128))
    linear = render(encoded(grey, "JPEG", icc_profile=linear_rgb_icc(), quality=95), "image/jpeg")
    srgb = render(encoded(grey, "JPEG", icc_profile=SRGB, quality=95), "image/jpeg")
    assert linear is not None and srgb is not None
    converted = read_back(linear.images["thumb"])
    assert "icc_profile" not in converted.info
    # Linear 128 is sRGB ≈ 188; an sRGB-tagged picture keeps its values.
    assert abs(converted.getpixel((32, 32))[0] - 188) <= 4  # type: ignore[index]
    assert abs(read_back(srgb.images["thumb"]).getpixel((32, 32))[0] - 128) <= 3  # type: ignore[index]


def test_an_unusable_icc_profile_is_ignored() -> None:
    data = encoded(Image.new("RGB", (64, 64), "grey"), "JPEG", icc_profile=b"not a profile")
    rendering = render(data, "image/jpeg")
    assert rendering is not None
    assert "icc_profile" not in read_back(rendering.images["thumb"]).info


def test_a_pdf_is_not_rendered() -> None:
    assert render(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf") is None


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(UnsupportedType) as caught:
        render(b"GIF89a", "image/gif")
    assert caught.value.code == "photo.unsupported_type"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", "image/jpeg"),
        (b"\xff\xd8\xff\xe0 this is not really a JPEG", "image/jpeg"),
        (encoded(Image.new("RGB", (64, 64)), "PNG"), "image/jpeg"),  # another format
        (encoded(Image.new("RGB", (64, 64)), "JPEG"), "image/png"),
        (encoded(Image.new("RGB", (640, 480), "red"), "JPEG")[:400], "image/jpeg"),  # truncated
        (encoded(Image.new("RGB", (640, 480), "red"), "PNG")[:200], "image/png"),
        (encoded(Image.new("RGB", (64, 64)), "WEBP")[:60], "image/webp"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "image/heic"),
    ],
)
def test_corrupt_bytes_are_unreadable(data: bytes, content_type: str) -> None:
    with pytest.raises(UnreadableImage) as caught:
        render(data, content_type)
    assert caught.value.code == "photo.unreadable"


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    # A valid PNG header claiming 11000 × 11000 pixels, with almost no data.
    bomb = encoded(Image.new("1", (11000, 11000)), "PNG", optimize=True)
    assert len(bomb) < 100_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(TooManyPixels):
            render(bomb, "image/png")
    huge = encoded(Image.new("1", (20000, 20000)), "PNG", optimize=True)
    with pytest.raises(TooManyPixels):
        render(huge, "image/png")


def test_a_corrupt_exif_block_does_not_cost_the_picture() -> None:
    data = with_segment(
        encoded(Image.new("RGB", (64, 48), "grey"), "JPEG"), 0xE1, b"Exif\0\0MM\0*\xff\xff"
    )
    rendering = render(data, "image/jpeg")
    assert rendering is not None
    assert read_back(rendering.images["thumb"]).size == (64, 48)
