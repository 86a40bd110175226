"""Near copies of a photo are found; other people's documents of the same kind are not.

The cases are those of the threshold experiment (``scenes.py``, ``bench/photos_bench.py
--hashes``), on fewer people so the suite stays quick.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from functools import cache

import pytest
from PIL import Image

from fieldhall.server.photos import (
    PhotoHashes,
    find_near_copies,
    find_similar,
    probe,
    render,
)
from fieldhall.server.photos.hashes import SIMILAR_PHASH_DISTANCE, hamming
from fieldhall.server.photos.nearcopy import MIN_COMPARED_SIDE, Probe, comparable, detail_distance
from fieldhall.server.photos.rendering import THUMBNAIL

from .scenes import COPIES, photo, scene

KINDS = ("id_card", "certificate")
PEOPLE = range(3)


@dataclass(frozen=True)
class Seen:
    """A photo as the hall holds it: stored hashes, and its probe when it is checked."""

    hashes: PhotoHashes
    probe: Probe


def seen(data: bytes, content_type: str = "image/jpeg") -> Seen:
    rendering = render(data, content_type, (THUMBNAIL,))
    assert rendering is not None
    with Image.open(io.BytesIO(rendering.images[THUMBNAIL.name])) as thumb:
        return Seen(rendering.hashes, probe(thumb))


@cache
def original(kind: str, person: int, shot: int = 0) -> bytes:
    return photo(kind, person, shot).jpeg


@cache
def seen_original(kind: str, person: int, shot: int = 0) -> Seen:
    return seen(original(kind, person, shot))


def matches(query: Seen, stored: Seen) -> bool:
    return bool(find_near_copies(query.probe, [("stored", stored.hashes)]))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("copy", COPIES)
def test_a_near_copy_is_found_whichever_arrives_first(kind: str, copy: str) -> None:
    make, content_type = COPIES[copy]
    copied = seen(make(original(kind, 0)), content_type)
    first = seen_original(kind, 0)
    assert matches(copied, first), distances(copied, first)
    assert matches(first, copied), distances(first, copied)
    # …and is still no copy of another person's document.
    assert not matches(copied, seen_original(kind, 1))


@pytest.mark.parametrize("kind", KINDS)
def test_other_peoples_documents_of_the_same_kind_are_not_copies(kind: str) -> None:
    for one, other in itertools.permutations(PEOPLE, 2):
        for shots in ((0, 0), (0, 1), (1, 0)):
            query = seen_original(kind, one, shots[0])
            stored = seen_original(kind, other, shots[1])
            assert not matches(query, stored), (kind, one, other, distances(query, stored))


def test_the_phash_alone_cannot_tell_id_cards_apart() -> None:
    # Why the detail hash exists: inside the framing guide every ID card looks alike.
    query = seen_original("id_card", 0)
    others = [(person, seen_original("id_card", person).hashes.phash) for person in (1, 2)]
    assert [match.key for match in find_similar(query.hashes.phash, others)] != []


def test_different_documents_and_scenes_are_not_copies() -> None:
    scenes = [seen(scene(seed)) for seed in range(3)]
    documents = [seen_original(kind, 0) for kind in KINDS]
    for query, stored in itertools.permutations(scenes + documents, 2):
        assert not matches(query, stored)


def test_matches_are_named_and_nearest_first() -> None:
    make, _ = COPIES["recompressed q30"]
    query = seen_original("id_card", 0)
    candidates = [
        ("case-2/other-person", seen_original("id_card", 1).hashes),
        (
            "case-7/forwarded",
            seen(COPIES["forwarded (60%, +15%, q60)"][0](original("id_card", 0))).hashes,
        ),
        ("case-3/recompressed", seen(make(original("id_card", 0))).hashes),
    ]
    found = find_near_copies(query.probe, candidates)
    assert [match.key for match in found] == ["case-3/recompressed", "case-7/forwarded"]
    assert found[0].detail_distance <= found[1].detail_distance


def test_a_probe_of_the_stored_thumbnail_gives_the_recorded_hashes() -> None:
    rendering = render(original("certificate", 2), "image/jpeg")
    assert rendering is not None
    with Image.open(io.BytesIO(rendering.images["thumb"])) as thumb:
        again = probe(thumb)
    assert again.phash == rendering.hashes.phash
    assert detail_distance(again, rendering.hashes.detail) == 0


def test_find_similar_returns_keys_within_the_distance_nearest_first() -> None:
    target = "ffff0000ffff0000"
    candidates = [
        ("far", "0000ffff0000ffff"),
        ("two bits", "ffff0000ffff0003"),
        ("same", target),
        ("eight bits", "ffff0000ffff00ff"),
    ]
    found = find_similar(target, candidates, max_distance=8)
    assert [(match.key, match.distance) for match in found] == [
        ("same", 0),
        ("two bits", 2),
        ("eight bits", 8),
    ]
    assert find_similar(target, candidates, max_distance=0)[0].key == "same"
    assert SIMILAR_PHASH_DISTANCE == 24
    with pytest.raises(ValueError):
        find_similar(target, [("short", "ffff")])
    assert hamming("f0", "0f") == 8


def distances(query: Seen, stored: Seen) -> str:
    coarse = hamming(query.hashes.phash, stored.hashes.phash)
    return f"pHash {coarse}, detail {detail_distance(query.probe, stored.hashes.detail)}"


@pytest.mark.parametrize(
    ("size", "compared"),
    [
        ((16, 4), False),  # the bench's consent signatures
        ((63, 200), False),
        ((64, 64), True),
        ((200, 64), True),
        ((4000, 1000), True),  # its thumbnail is 256 × 64
        ((4000, 900), False),  # 256 × 58: the hashes see the thumbnail, not the original
        ((0, 0), False),
        ((None, 300), False),
    ],
)
def test_only_photos_whose_thumbnail_is_large_enough_are_compared(
    size: tuple[int | None, int | None], compared: bool
) -> None:
    assert MIN_COMPARED_SIDE == 64
    assert comparable(*size) is compared
