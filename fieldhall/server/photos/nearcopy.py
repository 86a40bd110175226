"""Is this photo the same photo, or a near copy, as one already used? Two stages.

1. ``find_similar`` on pHashes (64 bits, ≤ ``SIMILAR_PHASH_DISTANCE``): cheap, and it keeps
   every copy, but it also keeps every photo with the same layout, such as all the ID cards
   shot inside the app's framing guide.
2. The detail hash (``detail``): the candidate's stored 1024-bit hash against the 225 probes of
   the photo being checked; the smallest distance must be ≤ ``NEAR_COPY_DETAIL_DISTANCE``.

The hall runs it where the worker records a ``Derived`` outcome (a pool thread, never a
request): ``find_near_copies(probe(Image.open(derived.files["thumb"])), rows)``, with ``rows``
the ``(case or material id, PhotoHashes)`` of photos already recorded, and flags the case with
the other case named. An identical file is found too (distance 0), as is its own row.

How the thresholds were chosen (``bench/photos_bench.py --hashes`` prints this table; the
cases are ``tests/unit/photos/scenes.py``): 8 people's ID card, household-register page,
property certificate and signature sheet, each photographed twice at slightly different poses
inside the framing guide, and textured scenes, all through the real derivation pipeline.
Distances in bits, min / median / max:

    ====================================  ===== ============== ===============  =======
    case                                  pairs pHash (64)     detail (1024)    matched
    ====================================  ===== ============== ===============  =======
    copy: recompressed q50                64    0 / 0 / 2      2 / 14 / 36      all
    copy: recompressed q30                64    0 / 0 / 2      4 / 22 / 62      all
    copy: resized 50 %                    64    0 / 0 / 2      4 / 15 / 34      all
    copy: resized 25 %                    64    0 / 0 / 2      8 / 19 / 44      all
    copy: cropped 3 % each side           64    2 / 5 / 10     20 / 49 / 68     all
    copy: cropped 5 % one side            64    4 / 10 / 18    4 / 30 / 54      all
    copy: stored rotated, EXIF 6          64    0 / 0 / 2      2 / 12 / 28      all
    copy: stored rotated, EXIF 3          64    0 / 0 / 2      0 / 6 / 26       all
    copy: brighter 25 %                   64    0 / 4 / 18     8 / 32 / 62      all
    copy: darker 25 %                     64    0 / 0 / 4      8 / 21 / 44      all
    copy: contrast 80 %                   64    0 / 0 / 4      6 / 23 / 48      all
    copy: forwarded (60 %, +15 %, q60)    64    0 / 4 / 16     8 / 33 / 62      all
    copy: saved as PNG                    64    0 / 0 / 2      2 / 14 / 36      all
    other person's ID card                112   0 / 6 / 10     144 / 255 / 332  none
    other person's register page          112   6 / 20 / 32    312 / 406 / 458  none
    other person's certificate            112   6 / 18 / 30    206 / 319 / 420  none
    other person's signature              112   10 / 22 / 28   346 / 427 / 492  none
    same ID card, second shot             16    2 / 3 / 12     100 / 218 / 284  1
    same register page, second shot       16    10 / 22 / 30   130 / 219 / 332  none
    same certificate, second shot         16    6 / 16 / 22    124 / 212 / 278  none
    same signature, second shot           16    8 / 17 / 22    128 / 250 / 346  none
    different kinds of document           96    18 / 28 / 38   410 / 452 / 486  none
    unrelated scenes                      56    22 / 32 / 42   426 / 458 / 482  none
    ====================================  ===== ============== ===============  =======

Every copy must match and no other person's document may: the pHash alone cannot do it
(other people's ID cards, 0–10 bits, are closer than a cropped or brightened copy, up to 18),
the detail hash leaves a wide gap: copies ≤ 68, other documents ≥ 144. The threshold, 112,
sits a little nearer the other documents, since real copies can be rougher than these.
A second photo of the *same* document is neither case (1 of 16 matched, at 100 bits).

**Small photos are not compared at all** (``comparable``): the hashes are taken on the
thumbnail, which is never enlarged, and below ``MIN_COMPARED_SIDE`` pixels on its shorter side
they stop describing the picture. The detail hash projects its smallest probe region (72 % of a
side) onto 32 cosines per axis, so it needs at least 32 pixels there (a side of 45) before its
1024 bits are set by the image rather than by the window and interpolation, and the probes' 2 %
steps move a region's edges by less than a pixel below a side of 50; pHash, too, enlarges
anything under 32×32. Every threshold above was measured on 256 px thumbnails. With the
documents above (6 people × 4 kinds) shrunk to a shorter side of 32 / 48 / 64 / 96 / 192 px,
a copy saved at JPEG q50 is found against the q90 photo for 0 / 4 / 10 / 21 / 24 of 24
(other people's documents: none at any size), so below 64 near-copy matching finds almost
nothing it should. What it does find there is mostly wrong: of 200 distinct 16×4 consent
signatures (``consent_png`` in ``bench/field_bench.py``), which differ in a few pixels of a
white strip, 153 of 19,900 pairs "matched". So the hall (``material_photos``) neither
checks such a photo here nor offers it as a candidate: it matches it only as the same file
(its sha256). The price: a copy shrunk below 64 px is no longer found (an ID card shrunk to
84×63 was, at 38 bits from the original).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image

from .detail import grey, probe_details, unpack
from .hashes import SIMILAR_PHASH_DISTANCE, PhotoHashes
from .rendering import THUMBNAIL

__all__ = [
    "MIN_COMPARED_SIDE",
    "NEAR_COPY_DETAIL_DISTANCE",
    "NearCopy",
    "Probe",
    "comparable",
    "detail_distance",
    "find_near_copies",
    "find_near_copies_in",
    "probe",
]

# Of 1024 bits; see the table above.
NEAR_COPY_DETAIL_DISTANCE = 112
# Pixels on the thumbnail's shorter side below which a photo's hashes say nothing about it:
# the detail hash needs ≥ 32 pixels in its smallest (72 %) probe region and probe steps of
# at least a pixel (a side of ~50); 64 leaves a margin. See the docstring for the measurement.
MIN_COMPARED_SIDE = 64
# Candidates compared at once: 225 probes × 256 candidates × 16 words stay in cache.
_BATCH = 256

K = TypeVar("K")


@dataclass(frozen=True, slots=True, eq=False)
class Probe:
    """A photo ready to be checked: its pHash and its 225 probe detail hashes."""

    phash: str
    details: npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class NearCopy(Generic[K]):
    """A candidate that is the same photo or a near copy, with both distances in bits."""

    key: K
    phash_distance: int
    detail_distance: int


def comparable(width: int | None, height: int | None) -> bool:
    """Whether a photo of this size (the original's, as shown) is compared by its hashes,
    i.e. whether its thumbnail's shorter side is at least ``MIN_COMPARED_SIDE`` pixels. A
    photo that is not may only be matched as the same file."""
    if not width or not height:
        return False
    return min(THUMBNAIL.fit((width, height))) >= MIN_COMPARED_SIDE


def probe(image: Image.Image) -> Probe:
    """Prepare a photo for ``find_near_copies``; give it the stored thumbnail, as the worker
    hashed that."""
    return Probe(phash=str(imagehash.phash(image)), details=probe_details(grey(image)))


def find_near_copies(
    query: Probe,
    candidates: Iterable[tuple[K, PhotoHashes]],
    *,
    max_phash_distance: int = SIMILAR_PHASH_DISTANCE,
    max_detail_distance: int = NEAR_COPY_DETAIL_DISTANCE,
) -> list[NearCopy[K]]:
    """The candidates ``(key, hashes)`` that are near copies of ``query``, nearest first.

    The photo's own entry, if among the candidates, matches at distance 0: leave it out.
    Candidates that pass the pHash stage are compared in batches: 10⁴ same-layout ID cards
    take about a tenth of a second. Candidates kept in memory for many queries are better
    held as arrays and searched with :func:`find_near_copies_in`, which parses nothing.
    """
    wanted = int(query.phash, 16)
    keys: list[K] = []
    coarse: list[int] = []
    details: list[str] = []
    for key, hashes in candidates:
        distance = (wanted ^ int(hashes.phash, 16)).bit_count()
        if distance <= max_phash_distance:
            keys.append(key)
            coarse.append(distance)
            details.append(hashes.detail)
    if not keys:
        return []
    fine = _detail_distances(query, np.stack([unpack(detail) for detail in details]))
    return _nearest_first(zip(keys, coarse, fine, strict=True), max_detail_distance)


def find_near_copies_in(
    query: Probe,
    phashes: npt.NDArray[np.uint64],
    details: npt.NDArray[np.uint64],
    *,
    max_phash_distance: int = SIMILAR_PHASH_DISTANCE,
    max_detail_distance: int = NEAR_COPY_DETAIL_DISTANCE,
) -> list[NearCopy[int]]:
    """As :func:`find_near_copies`, for candidates held as arrays: ``phashes`` (n) and their
    unpacked detail hashes (n × 16, see ``detail.unpack``); a match's key is its row.

    The pHash stage is one vectorised pass (10⁵ candidates: about a millisecond)."""
    coarse = np.bitwise_count(phashes ^ np.uint64(int(query.phash, 16)))
    rows = np.flatnonzero(coarse <= max_phash_distance)
    if not rows.size:
        return []
    fine = _detail_distances(query, details[rows])
    candidates = zip(rows.tolist(), coarse[rows].tolist(), fine, strict=True)
    return _nearest_first(candidates, max_detail_distance)


def _detail_distances(query: Probe, details: npt.NDArray[np.uint64]) -> list[int]:
    distances: list[int] = []
    for start in range(0, len(details), _BATCH):
        distances.extend(_nearest(query.details, details[start : start + _BATCH]).tolist())
    return distances


def _nearest_first(
    candidates: Iterable[tuple[K, int, int]], max_detail_distance: int
) -> list[NearCopy[K]]:
    found = [
        NearCopy(key, int(coarse), int(fine))
        for key, coarse, fine in candidates
        if fine <= max_detail_distance
    ]
    found.sort(key=lambda match: (match.detail_distance, match.phash_distance))
    return found


def detail_distance(query: Probe, detail: str) -> int:
    """Bits between a stored detail hash and the nearest of the query's probes."""
    return int(_nearest(query.details, unpack(detail)[None, :])[0])


def _nearest(
    probes: npt.NDArray[np.uint64], details: npt.NDArray[np.uint64]
) -> npt.NDArray[np.int64]:
    """For each stored hash (rows of ``details``), the bits to the nearest probe."""
    differing = np.bitwise_count(probes[:, None, :] ^ details[None, :, :]).sum(axis=2)
    nearest: npt.NDArray[np.int64] = differing.min(axis=0).astype(np.int64)
    return nearest
