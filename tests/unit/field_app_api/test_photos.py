"""The photo checks at the door, proven on a corpus of hostile files made at test time."""

from __future__ import annotations

import io
import os
import random
import re
import time

import pytest
from PIL import Image, ImageFile

from fieldhall.field_app_api import photos
from fieldhall.field_app_api.photos import BadPhoto, FileInfo, PhotoLimits, inspect_file

from .hostile_corpus import CASES, JPEG, PNG, Case, encode, picture, valid_files

BEFORE_DECODING = [
    name for name in CASES if "bomb" in name or "huge" in name or name.endswith("_limit")
]


def refusal(case: Case) -> BadPhoto:
    with pytest.raises(BadPhoto) as caught:
        inspect_file(case.data, case.declared, case.limits)
    return caught.value


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus(name: str) -> None:
    case = CASES[name]()
    if case.accepted is not None:
        assert inspect_file(case.data, case.declared, case.limits) == case.accepted
        return
    assert case.refused is not None
    error = refusal(case)
    assert re.fullmatch(case.refused, error.detail), error.detail
    assert error.code == "bad_photo"
    assert error.reason == str(error) == f"bad_photo: {error.detail}"


@pytest.mark.parametrize("name", BEFORE_DECODING)
def test_bombs_are_refused_from_the_header_before_pillow_opens_them(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]()
    opened: list[object] = []
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args))
    started = time.perf_counter()
    refusal(case)
    assert opened == []
    assert time.perf_counter() - started < 0.5


def test_our_limits_hold_when_pillows_global_limit_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert "over the 40000000 pixel limit" in refusal(CASES["png_bomb_real_zlib_stream"]()).detail


def test_a_stricter_global_pillow_limit_is_still_a_bad_photo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    error = refusal(CASES["png_plain"]())
    assert error.detail.startswith("decompression bomb refused by Pillow's global limit")


def test_truncation_is_refused_even_if_someone_loads_truncated_images(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    for name in [n for n in CASES if "_truncated_at_" in n]:
        assert refusal(CASES[name]()).detail.startswith("truncated"), name


def test_global_pillow_state_is_left_alone() -> None:
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    for name in ("jpeg_plain", "png_bomb_real_zlib_stream", "jpeg_truncated_at_half"):
        case = CASES[name]()
        try:
            inspect_file(case.data, case.declared)
        except BadPhoto:
            pass
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


def test_reads_a_file_object_from_its_position_and_no_further_than_the_limit() -> None:
    data = CASES["png_plain"]().data
    stream = io.BytesIO(b"prefix" + data)
    stream.seek(6)
    assert inspect_file(stream, PNG).kind == PNG

    endless = io.BytesIO(data + b"\x00" * 10_000)
    with pytest.raises(BadPhoto, match="larger than the 1000 byte limit"):
        inspect_file(endless, PNG, PhotoLimits(max_bytes=1000))
    assert endless.tell() == 1001


def test_bytearray_and_memoryview_are_bytes_too() -> None:
    data = CASES["jpeg_plain"]().data
    assert inspect_file(bytearray(data), JPEG) == inspect_file(memoryview(data), JPEG)


@pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO file")
@pytest.mark.parametrize("kind", sorted(valid_files()))
def test_mutations_of_valid_files_raise_nothing_but_bad_photo(kind: str) -> None:
    data, declared = valid_files()[kind]
    rng = random.Random(f"fieldhall-{kind}")
    for _ in range(40):
        mutated = bytearray(data)
        how = rng.randrange(4)
        at = rng.randrange(len(mutated))
        if how == 0:
            del mutated[at:]
        elif how == 1:
            for _ in range(rng.randint(1, 8)):
                mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        elif how == 2:
            mutated[at:at] = rng.randbytes(rng.randint(1, 64))
        else:
            mutated[at : at + 16] = rng.randbytes(16)
        try:
            result = inspect_file(bytes(mutated), declared)
        except BadPhoto:
            continue
        assert isinstance(result, FileInfo)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        PhotoLimits(max_pixels=0)


def test_public_names() -> None:
    assert set(photos.__all__) == {
        "ACCEPTED_TYPES",
        "BadPhoto",
        "FileInfo",
        "PhotoLimits",
        "inspect_file",
    }


def test_a_12_megapixel_jpeg_is_checked_quickly() -> None:
    # Camera-like content: noise upscaled, so the entropy-coded data is ~6 MB.
    small = Image.frombytes("RGB", (1000, 750), os.urandom(1000 * 750 * 3))
    data = encode(small.resize((4000, 3000), Image.Resampling.BICUBIC), "JPEG", quality=90)
    inspect_file(data, JPEG)  # warm up
    started = time.perf_counter()
    info = inspect_file(data, JPEG)
    elapsed = time.perf_counter() - started
    assert (info.width, info.height) == (4000, 3000)
    assert elapsed < 1.0, f"{elapsed * 1000:.0f} ms for a 12 MP JPEG"


def test_a_picture_made_here_is_what_the_corpus_expects() -> None:
    assert picture().size == (64, 48)
