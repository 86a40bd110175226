"""Perceptual hashes of photos, and the Hamming-distance search over them.

A photo's hashes are computed on its thumbnail as stored (orientation applied, flattened onto
white, sRGB, decoded back from the JPEG file), so whoever reads a thumbnail gets exactly the
hashes the worker recorded:

* ``phash`` — imagehash's 64-bit pHash: the 8×8 lowest DCT frequencies of a 32×32 grey image
  against their median. It has exactly 32 ones, so distances are even.
* ``dhash`` — imagehash's 64-bit dHash (signs of horizontal gradients on a 9×8 grey image),
  kept for the hall's own use; the near-copy decision does not need it.
* ``detail`` — a 1024-bit DCT hash of the central 80 % (``detail``), the finer key that tells a
  copy of a document photo from a photo of another person's document of the same kind.

``find_similar`` is the first stage of the near-copy search (``nearcopy``): pHashes within
``SIMILAR_PHASH_DISTANCE`` bits, measured in ``nearcopy``'s docstring.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import imagehash
from PIL import Image

from .detail import detail_hash, grey

__all__ = [
    "SIMILAR_PHASH_DISTANCE",
    "PhotoHashes",
    "Similar",
    "find_similar",
    "hamming",
    "hash_image",
]

# Every edited copy in the experiment is within 18 bits of its original's pHash; unrelated
# photos are 32 ± 10 apart (see ``nearcopy``). Wide on purpose: this stage only gathers
# candidates for the detail hash, and a copy it leaves out is lost.
SIMILAR_PHASH_DISTANCE = 24

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class PhotoHashes:
    """A photo's perceptual hashes in lowercase hex: 64, 64 and 1024 bits."""

    phash: str
    dhash: str
    detail: str


@dataclass(frozen=True, slots=True)
class Similar(Generic[K]):
    """A candidate within the distance, with its Hamming distance in bits."""

    key: K
    distance: int


def hash_image(image: Image.Image) -> PhotoHashes:
    """The hashes of an image as it is shown (orientation already applied)."""
    return PhotoHashes(
        phash=str(imagehash.phash(image)),
        dhash=str(imagehash.dhash(image)),
        detail=detail_hash(grey(image)),
    )


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hashes of the same length, given in hex."""
    if len(a) != len(b):
        raise ValueError(f"hashes of different lengths: {len(a)} and {len(b)} hex digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def find_similar(
    target: str,
    candidates: Iterable[tuple[K, str]],
    max_distance: int = SIMILAR_PHASH_DISTANCE,
) -> list[Similar[K]]:
    """The candidates ``(key, hash)`` within ``max_distance`` bits of ``target``, nearest first.

    A linear scan over integers: 10⁵ pHashes take tens of milliseconds; a BK-tree or
    multi-index hashing can replace it behind this signature when halls grow.
    """
    wanted = int(target, 16)
    width = len(target)
    found: list[Similar[K]] = []
    for key, value in candidates:
        if len(value) != width:
            raise ValueError(f"hash {value!r} is not {width} hex digits like {target!r}")
        distance = (wanted ^ int(value, 16)).bit_count()
        if distance <= max_distance:
            found.append(Similar(key, distance))
    found.sort(key=lambda match: match.distance)
    return found
