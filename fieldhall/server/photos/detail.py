"""The detail hash: pHash's algorithm at a finer grain, on the central part of a photo.

A 64-bit pHash sees a photo at 32×32 pixels: its layout. Two photos of different people's ID
cards taken inside the app's framing guide share that layout, so their pHashes are as close as
a photo's and its recompressed copy's. What tells a copy from another document is finer detail
(the text, the portrait), so the detail hash keeps 32×32 frequencies instead of 8×8:

    the region's luma, tapered to its edges by a Hann window, projected onto the lowest
    32×32 two-dimensional cosines (the low corner of its DCT-II) → 1 where a coefficient is
    above their median → 1024 bits (256 hex digits), exactly half of them ones

Fine detail is sensitive to framing: a copy cropped by a few percent no longer lines up. So a
photo's stored hash is that of its central 80 % (``_CANONICAL``), and a photo being checked is
*probed*: hashed over a grid of regions (5 widths × 5 heights × 3×3 shifts, ``probe_details``)
one of which lines up with the canonical region of a copy whose frame is 91–111 % of the
original's (cropped by ~4.5 % each side or ~5 % from one, or the other way round), shifted by
up to 2.5 %. The window matters: without it, what enters or leaves the region's hard edges
when it is 1 % too large flipped 34–56 bits (of 576, in the experiment); with it, the grid's
4 % steps are fine enough.

The projection is separable, so all 225 probes are two tensor contractions. They are written
with ``np.einsum`` rather than ``@`` on purpose: matrix products go to a multithreaded BLAS,
whose threads, one set per worker thread, made the probes 20× slower on a busy machine;
einsum's own loops stay on the calling thread.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["DETAIL_BITS", "detail_hash", "grey", "probe_details", "unpack"]

_FREQUENCIES = 32
DETAIL_BITS = _FREQUENCIES * _FREQUENCIES


@dataclass(frozen=True, slots=True)
class _Span:
    """A region along one axis: its length as a fraction of the image, its centre's shift."""

    scale: float
    shift: float


_CANONICAL = _Span(0.80, 0.0)
# From 0.72 to 0.88 of the image: a canonical 0.80 region is found again in a copy cropped to
# 0.80/0.88 ≈ 91 % or enlarged to 0.80/0.72 ≈ 111 % of the original, shifted by up to 2.5 %.
_PROBES = tuple(
    _Span(scale, shift)
    for scale, shift in itertools.product((0.72, 0.76, 0.80, 0.84, 0.88), (-0.025, 0.0, 0.025))
)
_K = np.arange(_FREQUENCIES, dtype=np.float64)

# float32: the einsums run 2.4× faster than in float64, and a hash needs no more precision.
Grey = npt.NDArray[np.float32]


def grey(image: Image.Image) -> Grey:
    """The image's luma as floats, the way imagehash sees it."""
    return np.asarray(image.convert("L"), dtype=np.float32)


def detail_hash(pixels: Grey) -> str:
    """The 1024-bit hash of the central 80 %, as 256 hex digits."""
    down = _projection(pixels.shape[0], _CANONICAL)
    across = _projection(pixels.shape[1], _CANONICAL)
    low = np.einsum("iw,jw->ij", np.einsum("ih,hw->iw", down, pixels), across)
    return bytes(_packed(low.reshape(1, -1))[0]).hex()


def probe_details(pixels: Grey) -> npt.NDArray[np.uint64]:
    """The 225 probe hashes, one row of 16 × 64 bits each."""
    height, width = pixels.shape
    down = np.stack([_projection(height, span) for span in _PROBES])  # (15, 24, H)
    across = np.stack([_projection(width, span) for span in _PROBES])  # (15, 24, W)
    count = len(_PROBES)
    rows = np.einsum("aih,hw->aiw", down, pixels)
    # Every height probe against every width probe.
    low = np.einsum("aiw,bjw->abij", rows, across)
    low = low.reshape(count * count, _FREQUENCIES * _FREQUENCIES)
    return _packed(low).view(np.uint64)


def unpack(detail: str) -> npt.NDArray[np.uint64]:
    """A stored detail hash as 16 × 64 bits, to compare with probes."""
    raw = bytes.fromhex(detail)
    if len(raw) * 8 != DETAIL_BITS:
        raise ValueError(f"a detail hash has {DETAIL_BITS // 4} hex digits, not {len(detail)}")
    return np.frombuffer(raw, dtype=np.uint64)


def _packed(low: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    above = low > np.median(low, axis=1, keepdims=True)
    return np.packbits(above, axis=1)


def _projection(length: int, span: _Span) -> npt.NDArray[np.float32]:
    """The 32 lowest cosines over the span, windowed, at its pixels (32 × ``length``).

    A pixel counts by how much of it lies in the span, at the middle of that part.
    """
    centre = length * (0.5 + span.shift)
    start = max(0.0, centre - length * span.scale / 2)
    stop = min(float(length), centre + length * span.scale / 2)
    left = np.arange(length, dtype=np.float64)
    inside_left = np.clip(left, start, stop)
    inside_right = np.clip(left + 1, start, stop)
    weight = inside_right - inside_left
    position = ((inside_left + inside_right) / 2 - start) / (stop - start)
    weight *= np.sin(np.pi * position) ** 2  # the Hann window
    cosines = np.cos(np.pi * _K[:, None] * position[None, :])
    projection: npt.NDArray[np.float32] = (cosines * weight[None, :]).astype(np.float32)
    return projection
