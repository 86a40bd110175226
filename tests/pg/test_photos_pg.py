"""The hall's photo worker on PostgreSQL: the same tests as on SQLite (tests/hall/
test_case_photos.py), on a fresh schema each: duplicates flagged on both cases naming each
other, thumbnails oriented and without metadata, originals untouched, a PDF passed through,
a restarted worker adding no row twice, an unreadable original retried, the background
worker following the projector, two workers (as two server processes) matching each
other's photos, and tiny photos matched only as the same file, by either worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hall import test_case_photos as photos
from tests.hall.support import LocalHall, local_hall

pytestmark = [pytest.mark.pg, pytest.mark.timeout(300)]


@pytest.fixture
def quiet_hall(pg_schema: str, tmp_path: Path) -> Iterator[LocalHall]:
    """No background projector or photo worker: the test drives them."""
    with local_hall(tmp_path / "hall", pg_schema, projector=False) as running:
        yield running


@pytest.fixture
def two_cases(quiet_hall: LocalHall) -> dict[str, Any]:
    return photos.file_two_cases(quiet_hall)


def test_duplicates_name_each_other(quiet_hall: LocalHall, two_cases: dict[str, Any]) -> None:
    photos.test_the_same_photo_and_a_near_copy_flag_both_cases_naming_each_other(
        quiet_hall, two_cases
    )
    photos.test_thumbnails_are_oriented_and_carry_no_metadata(quiet_hall, two_cases)
    photos.test_originals_stay_byte_identical(quiet_hall, two_cases)
    photos.test_a_pdf_passes_through_without_a_thumbnail(quiet_hall, two_cases)
    photos.test_derivatives_are_for_case_readers_only(quiet_hall, two_cases)


def test_restarted_worker(quiet_hall: LocalHall) -> None:
    photos.test_a_restarted_worker_resumes_without_duplicating_rows(quiet_hall)


def test_unreadable_original_retried(quiet_hall: LocalHall) -> None:
    photos.test_an_unreadable_original_is_retried_later(quiet_hall)


def test_background_worker(pg_schema: str, tmp_path: Path) -> None:
    with local_hall(tmp_path / "live", pg_schema) as live:
        photos.follow_in_the_background(live)


def test_copies_matched_across_workers(quiet_hall: LocalHall) -> None:
    photos.match_across_workers(quiet_hall)


def test_the_same_tiny_file_is_still_matched(quiet_hall: LocalHall) -> None:
    photos.same_tiny_file(quiet_hall)


def test_tiny_photos_across_workers(quiet_hall: LocalHall) -> None:
    photos.tiny_across_workers(quiet_hall)
