"""The door's check of every attached file's bytes (the policy's step 7, ``bad_photo``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldhall.sync.blobs import BlobStore

from .photos import BadPhoto, inspect_file
from .policy import refuse

__all__ = ["DoorFileCheck"]


@dataclass(frozen=True, slots=True)
class DoorFileCheck:
    """A file that is not a valid, safe file of its declared type is refused as
    ``bad_photo``. The bytes that came with the document are checked as they are (the blob
    store may still be writing them); the others, such as uploaded files, as stored. Pickles,
    for the door's worker processes."""

    blobs: BlobStore

    def __call__(self, doc_id: str, name: str, attachment: Mapping[str, Any]) -> None:
        content_type = str(attachment.get("content_type", ""))
        try:
            data = attachment.get("data")
            if isinstance(data, bytes):
                inspect_file(data, content_type)
                return
            with self.blobs.open(str(attachment["sha256"])) as handle:
                inspect_file(handle, content_type)
        except BadPhoto as exc:
            raise refuse("bad_photo", f"{name}: {exc.detail}") from exc
