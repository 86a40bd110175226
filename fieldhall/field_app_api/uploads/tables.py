"""What the server keeps of uploads (SQLModel, on the shared database).

* ``field_upload``: one tus upload resource — whose it is, how long it will be, its raw
  ``Upload-Metadata``, when it expires and, once complete, the SHA-256 of its bytes. The
  bytes received so far live in a file under the blob store's tmp area; that file's size is
  the upload's offset.
* ``field_uploaded_blob``: the bytes a device has completed uploading, by SHA-256 — what a
  document's attachment stub may name (only the same device's), and what compaction must
  spare until ``expires_at``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

__all__ = ["UploadResource", "UploadedBlob"]


class UploadResource(SQLModel, table=True):
    __tablename__ = "field_upload"
    id: str = Field(primary_key=True, max_length=32)
    device_id: str = Field(max_length=64, index=True)
    length: int = Field(sa_column=Column(BigInteger, nullable=False))
    metadata_header: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime
    expires_at: datetime = Field(index=True)
    completed_at: datetime | None = None
    sha256: str | None = Field(default=None, max_length=64)


class UploadedBlob(SQLModel, table=True):
    __tablename__ = "field_uploaded_blob"
    device_id: str = Field(primary_key=True, max_length=64)
    sha256: str = Field(primary_key=True, max_length=64)
    length: int = Field(sa_column=Column(BigInteger, nullable=False))
    md5_digest: str = Field(max_length=40)  # CouchDB's "md5-<base64>", for the stored stub
    completed_at: datetime
    expires_at: datetime = Field(index=True)
