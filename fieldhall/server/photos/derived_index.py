"""The hashes of every derived photo, held in memory: what a newly derived photo is compared with.

Recording a photo compares it with every photo derived before (``nearcopy``). Reading those
rows from the database for each photo made recording cost grow with the hall, quadratically
in total, and it was done while holding the write lock. This index reads them once, keeps
what the search needs as arrays (the pHash as an integer, the detail hash unpacked: 144 bytes
a photo, so 10⁵ photos take ~14 MB), and afterwards reads only the rows recorded since: a
derived row's ``derived_seq`` is allocated under the photo checkpoint's lock, so numbers
commit in increasing order and "the rows above the highest number held" is all that is new.
It holds only the photos large enough to compare (``nearcopy.comparable``, from the stored
width and height): a tiny one is read past, never a candidate, so it costs nothing to search.

The index is a cache, never the record: a process may hold it stale for a moment, and
:class:`~fieldhall.server.photos.material_photos.MaterialPhotos` covers that gap under the
lock (see its docstring). Thread-safe: the pool's threads refresh and search concurrently.
"""

from __future__ import annotations

import threading
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlmodel import Session, col

from .detail import DETAIL_BITS, unpack
from .nearcopy import NearCopy, Probe, comparable, find_near_copies_in
from .tables import HallPhoto, PhotoStatus

__all__ = ["DerivedIndex"]

_WORDS = DETAIL_BITS // 64
_INITIAL_CAPACITY = 256
_T = TypeVar("_T", bound=np.generic)


class DerivedIndex:
    """Derived photos' ids, pHashes and detail hashes, appended in ``derived_seq`` order;
    only the photos large enough to compare (``comparable``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._size = 0
        self._ids: npt.NDArray[np.int64] = np.empty(_INITIAL_CAPACITY, np.int64)
        self._phashes: npt.NDArray[np.uint64] = np.empty(_INITIAL_CAPACITY, np.uint64)
        self._details: npt.NDArray[np.uint64] = np.empty((_INITIAL_CAPACITY, _WORDS), np.uint64)
        self._seq: int | None = None  # the highest derived_seq held; None: not loaded yet

    def __len__(self) -> int:
        return self._size

    def refresh(self, session: Session) -> int:
        """Read the photos derived since the last refresh (every one, the first time); returns
        the highest ``derived_seq`` now held (0: none)."""
        with self._lock:
            query = select(
                col(HallPhoto.id),
                col(HallPhoto.phash),
                col(HallPhoto.detail_hash),
                col(HallPhoto.width),
                col(HallPhoto.height),
                col(HallPhoto.derived_seq),
            ).where(col(HallPhoto.status) == PhotoStatus.DERIVED)
            if self._seq is not None:
                query = query.where(col(HallPhoto.derived_seq) > self._seq)
            rows = session.execute(query.order_by(col(HallPhoto.derived_seq))).all()
            held = [
                (int(i), str(p), str(d))
                for i, p, d, w, h, _ in rows
                if p and d and comparable(w, h)
            ]
            self._append(held)
            self._seq = max([self._seq or 0, *(int(s) for *_, s in rows if s is not None)])
            return self._seq

    def search(self, query: Probe) -> tuple[list[NearCopy[int]], int]:
        """The photos held that are near copies of ``query`` (keyed by photo id, nearest
        first), and the ``derived_seq`` up to which the index held every photo."""
        with self._lock:
            size, seq = self._size, self._seq or 0
            ids, phashes, details = self._ids, self._phashes, self._details
        # Appends write past ``size`` or into new arrays: this snapshot does not change.
        found = find_near_copies_in(query, phashes[:size], details[:size])
        return [NearCopy(int(ids[m.key]), m.phash_distance, m.detail_distance) for m in found], seq

    def _append(self, rows: list[tuple[int, str, str]]) -> None:
        needed = self._size + len(rows)
        if needed > len(self._ids):
            capacity = max(needed, 2 * len(self._ids))
            self._ids = _grown(self._ids, capacity)
            self._phashes = _grown(self._phashes, capacity)
            self._details = _grown(self._details, capacity)
        for offset, (photo_id, phash, detail) in enumerate(rows, start=self._size):
            self._ids[offset] = photo_id
            self._phashes[offset] = int(phash, 16)
            self._details[offset] = unpack(detail)
        self._size = needed


def _grown(array: npt.NDArray[_T], capacity: int) -> npt.NDArray[_T]:
    grown = np.empty((capacity, *array.shape[1:]), array.dtype)
    grown[: len(array)] = array
    return grown
