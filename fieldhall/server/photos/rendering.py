"""From an original's bytes to metadata-free, orientation-corrected JPEG derivatives.

``render(data, content_type)`` decodes the original once and returns a thumbnail (256 px on
the long side) and a preview (1280 px), never larger than the original, plus the photo's
perceptual hashes (``hashes``), taken from the thumbnail as stored. It reads the bytes and
changes nothing: the signed original stays as it was uploaded. A PDF is not rendered
(``None``): the UI shows a PDF icon for it. A multi-frame file (MPO, animated WebP or PNG, a
HEIC collection) is shown by its first, primary image.

Choices, and why:

* **JPEG out, not WebP.** libjpeg-turbo encodes a 256 px thumbnail in 0.2–0.3 ms and a 1280 px
  preview in 2–4 ms; libwebp's default method took ~5 ms and ~80 ms here, most of the
  throughput budget, for files 8–40 % smaller on a hall LAN. Every browser and PDF tool reads
  JPEG. Transparency (signatures on PNG) is flattened onto white, as on paper. Resampling is
  Lanczos: the preview is where a clerk reads an ID number.
* **Draft mode.** A large JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling
  (``Image.draft``), the smallest scale still at least as large as the biggest derivative:
  a 12 MP photo's thumbnail costs a 1/8 decode (500×375), ~4× faster than a full decode.
  Formats without DCT scaling (PNG, WebP, HEIC) decode at full size and then shrink
  (``reducing_gap`` lets Pillow box-reduce first).
* **No metadata at all.** The derivatives are new images built from pixels with an empty
  ``info`` (Pillow would otherwise carry the JPEG comment over), written with no EXIF, GPS,
  XMP, IPTC, comment or ICC profile; a reader finds only the JFIF header. Embedded EXIF or
  HEIC thumbnails are never used: they need not show what the image shows.
* **Colour without a profile.** An ICC profile may name the device; the web's default colour
  space is sRGB. So pixels in another colour space (Display P3 from iPhones, Adobe RGB, CMYK
  scans) are converted to sRGB with LittleCMS and the profile is dropped: colours stay right
  in an untagged file. An sRGB profile is dropped without a conversion, and a profile that
  cannot be parsed is ignored rather than costing the picture.
* **Orientation** comes from the EXIF Orientation tag (Pillow also reads XMP's); the 8 values
  are applied after shrinking, where a transpose is cheap. pillow-heif applies a HEIC's
  ``irot``/``imir`` while decoding and reports orientation 1.
* Pillow is only offered the format the content type names, so hostile bytes meet one parser.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from .errors import TooManyPixels, UnreadableImage, UnsupportedType
from .hashes import PhotoHashes, hash_image

__all__ = [
    "DEFAULT_VARIANTS",
    "FORMATS",
    "MAX_PIXELS",
    "PREVIEW",
    "THUMBNAIL",
    "UNRENDERED",
    "Rendering",
    "Variant",
    "media_type",
    "render",
]

logger = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

# Above a 108 MP phone sensor at full resolution; the door's own limit comes first. A PNG or
# HEIC this large decodes at full size (~360 MB in RGB) per worker thread.
MAX_PIXELS = 120_000_000

# Content type → the one Pillow format allowed to parse it.
FORMATS: Mapping[str, str] = {
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
}
UNRENDERED = frozenset({"application/pdf"})

_WHITE = (255, 255, 255)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Pillow's reduce-then-resample: at 3 the result is indistinguishable from a full resample.
_REDUCING_GAP = 3.0
# Exceptions Pillow and its plugins raise on bytes they cannot decode.
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    RuntimeError,
)
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class Variant:
    """A derivative: its name, the long side it is shrunk to and its JPEG quality."""

    name: str
    long_side: int
    quality: int

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.long_side}.jpg"

    def fit(self, size: tuple[int, int]) -> tuple[int, int]:
        """The size of this derivative of an image of ``size`` (as shown)."""
        return _fit(size, self.long_side)


THUMBNAIL = Variant("thumb", 256, 80)
PREVIEW = Variant("preview", 1280, 85)
DEFAULT_VARIANTS = (THUMBNAIL, PREVIEW)


@dataclass(frozen=True, slots=True)
class Rendering:
    """What ``render`` made of an original.

    ``width`` and ``height`` are the original's size as shown (orientation applied);
    ``images`` maps each variant's name to its JPEG bytes.
    """

    width: int
    height: int
    images: Mapping[str, bytes]
    hashes: PhotoHashes


def render(
    data: bytes, content_type: str, variants: Sequence[Variant] = DEFAULT_VARIANTS
) -> Rendering | None:
    """The derivatives of an original, or ``None`` for a type shown as an icon (PDF)."""
    kind = media_type(content_type)
    if kind in UNRENDERED:
        return None
    fmt = FORMATS.get(kind)
    if fmt is None:
        raise UnsupportedType(f"no derivatives are made of {kind!r}")
    if not variants:
        raise ValueError("render needs at least one variant")
    largest_first = sorted(variants, key=lambda variant: variant.long_side, reverse=True)
    with _open(data, fmt) as image:
        stored = image.size
        orientation = _orientation(image)
        icc = image.info.get("icc_profile")
        image.draft(None, _fit(stored, largest_first[0].long_side))
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise TooManyPixels(str(exc)) from exc
        except _DECODE_ERRORS as exc:
            raise UnreadableImage(f"{fmt} does not decode: {exc}") from exc
        shown = (stored[1], stored[0]) if orientation in (5, 6, 7, 8) else stored
        # The largest derivative from the decoded pixels, each smaller one from the last.
        current = _finish(_shrink(_eight_bit(image), _fit(stored, largest_first[0].long_side)))
        current = _oriented(_in_srgb(current, icc), orientation)
        pictures = {largest_first[0].name: current}
        for variant in largest_first[1:]:
            current = _shrink(current, _fit(shown, variant.long_side))
            pictures[variant.name] = current
        images = {variant.name: _jpeg(pictures[variant.name], variant) for variant in variants}
    # Hashed as stored, so that whoever reads the smallest derivative gets the same hashes.
    with Image.open(io.BytesIO(images[largest_first[-1].name]), formats=["JPEG"]) as smallest:
        hashes = hash_image(smallest)
    return Rendering(width=shown[0], height=shown[1], images=images, hashes=hashes)


def media_type(content_type: str) -> str:
    """``image/JPEG; q=1`` → ``image/jpeg``."""
    return content_type.split(";", 1)[0].strip().lower()


def _open(data: bytes, fmt: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise UnreadableImage(f"not a readable {fmt} image: {exc}") from exc
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise UnreadableImage(f"{fmt} image of size {width}×{height}")
    if width * height > MAX_PIXELS:
        image.close()
        raise TooManyPixels(f"{width}×{height} is more than {MAX_PIXELS} pixels")
    return image


def _orientation(image: Image.Image) -> int:
    # A malformed EXIF block must not cost the picture, and Pillow's parser raises many types
    # on hostile input: anything unreadable counts as "not rotated".
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        logger.debug("unreadable EXIF; orientation taken as 1", exc_info=True)
        return 1
    return value if value in _TRANSPOSE else 1


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """``size`` shrunk so its long side is ``long_side``; never enlarged."""
    width, height = size
    scale = long_side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _eight_bit(image: Image.Image) -> Image.Image:
    """The image in a mode that resamples well: L, RGB, RGBA or CMYK."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA", "CMYK"):
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow's I;16 → L conversion clips at 255; 16-bit grey scans need scaling.
        wide = np.asarray(image, dtype=np.int64)
        return Image.fromarray((np.clip(wide, 0, 65535) >> 8).astype(np.uint8), "L")
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in ("LA", "La", "PA", "RGBa"):
        return image.convert("RGBA")
    return image.convert("RGB")


def _shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)


def _finish(image: Image.Image) -> Image.Image:
    """Transparency flattened onto white."""
    if image.mode != "RGBA":
        return image
    flat = Image.new("RGB", image.size, _WHITE)
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def _in_srgb(image: Image.Image, icc: object) -> Image.Image:
    """The pixels in sRGB (see the module docstring); grey stays grey."""
    if isinstance(icc, bytes) and icc and image.mode in ("RGB", "CMYK"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode == "CMYK" or "srgb" not in _description(profile):
                converted = ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
                if converted is not None:
                    return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            logger.debug("unusable ICC profile ignored", exc_info=True)
    if image.mode == "CMYK":
        return image.convert("RGB")
    return image


def _description(profile: ImageCms.ImageCmsProfile) -> str:
    return ImageCms.getProfileDescription(profile).lower()


def _oriented(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


def _jpeg(image: Image.Image, variant: Variant) -> bytes:
    # A fresh image with nothing but pixels: Pillow's JPEG writer takes the comment from
    # ``info``, and a derivative carries nothing of the original but what it shows.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=variant.quality, optimize=True)
    return out.getvalue()
