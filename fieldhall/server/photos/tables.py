"""The hall's record of its photos: one row per material, the duplicates found, a checkpoint.

* ``hall_photo`` — one row per ``hall_material`` row (same id): the queue of derivations
  (``status`` ``pending``) and their outcome: ``derived`` (size and perceptual hashes; the
  files are in the ``DerivativeStore`` under the original's sha256), ``not_derived`` (a PDF,
  shown as an icon), ``failed`` (a stable ``photo.*`` code; ``retry_at`` when a retry may help);
  a derived row's ``derived_seq`` numbers it in the order derived rows were recorded (allocated
  under the checkpoint lock, so they commit in that order: the worker's in-memory index of
  hashes catches up by asking for the rows after the last number it holds);
* ``hall_photo_match`` — a pair of photos in different cases that are the same photo or a near
  copy, stored once (``photo_id < other_photo_id``) and shown on both cases;
* ``hall_photo_checkpoint`` — the highest ``hall_material`` id already queued.

Written only by :class:`~fieldhall.server.photos.material_photos.MaterialPhotos`; the projector
knows nothing of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "PHOTO_TABLES",
    "HallPhoto",
    "HallPhotoMatch",
    "PhotoCheckpoint",
    "PhotoStatus",
]


class PhotoStatus:
    PENDING = "pending"
    DERIVED = "derived"
    NOT_DERIVED = "not_derived"
    FAILED = "failed"


def _instant(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class HallPhoto(SQLModel, table=True):
    __tablename__ = "hall_photo"
    __table_args__ = (
        Index("ix_hall_photo_status_retry", "status", "retry_at"),
        Index("ix_hall_photo_derived_seq", "derived_seq", unique=True),
    )
    id: int = Field(primary_key=True)  # the hall_material row's id
    case_id: str = Field(max_length=200, index=True)
    doc_id: str = Field(max_length=200)
    name: str = Field(max_length=255)
    sha256: str = Field(max_length=64, index=True)
    content_type: str = Field(max_length=200)
    status: str = Field(max_length=16)
    attempts: int = 0
    retry_at: datetime | None = _instant()
    error_code: str | None = Field(default=None, max_length=64)
    error_detail: str | None = Field(default=None, sa_column=Column(Text))
    width: int | None = None
    height: int | None = None
    phash: str | None = Field(default=None, max_length=16)
    dhash: str | None = Field(default=None, max_length=16)
    detail_hash: str | None = Field(default=None, max_length=256)
    derived_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    queued_at: datetime = _instant(nullable=False)
    done_at: datetime | None = _instant()


class HallPhotoMatch(SQLModel, table=True):
    """The same photo (``identical``: the same bytes) or a near copy, in two cases."""

    __tablename__ = "hall_photo_match"
    __table_args__ = (UniqueConstraint("photo_id", "other_photo_id"),)
    id: int | None = Field(default=None, primary_key=True)
    photo_id: int = Field(index=True)
    other_photo_id: int = Field(index=True)
    case_id: str = Field(max_length=200, index=True)
    other_case_id: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=16)  # identical | near_copy
    phash_distance: int
    detail_distance: int
    found_at: datetime = _instant(nullable=False)


class PhotoCheckpoint(SQLModel, table=True):
    __tablename__ = "hall_photo_checkpoint"
    name: str = Field(primary_key=True, max_length=64)
    material_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _instant(nullable=False)


PHOTO_TABLES = (HallPhoto, HallPhotoMatch, PhotoCheckpoint)
