"""Receipts signed ahead of a replicated batch's write, on PostgreSQL: the signing key is read
on the driver's connection (keys.signing_key_bytes), and a rotation holds from the next batch
on (on SQLite, tests/field/test_enrollment_api.py rotates with the CLI, another process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldhall.field_app_api.keys import (
    existing_signing_key,
    list_signing_keys,
    rotate_signing_key,
    signing_key_bytes,
)
from fieldhall.schemas.keys import b64url_decode
from fieldhall.schemas.signatures import verify_document
from tests.field.support import bulk, field_hall, new_case, replicated

pytestmark = pytest.mark.pg


def test_a_replicated_batchs_receipts_are_signed_ahead_with_the_current_key(
    pg_schema: str, tmp_path: Path
) -> None:
    with field_hall(tmp_path / "hall", database_url=pg_schema) as hall:
        app = hall.hall.app
        assert app is not None
        receipts = app.state.hall.receipts
        device = hall.enroll("韩梅", grid="grid-pg")
        used = receipts.presigned_used
        found = signing_key_bytes(hall.store.db)
        assert found is not None
        key_id, private_key = found
        assert isinstance(private_key, bytes) and len(private_key) == 32

        before = new_case(device, 1)
        assert bulk(device, replicated([before]), new_edits=False) == []
        with app.state.field.session() as session:  # the CLI's rotation, on this database
            rotated = rotate_signing_key(session).key_id
        after = new_case(device, 2)
        assert bulk(device, replicated([after]), new_edits=False) == []

        with app.state.field.session() as session:  # the ORM's read agrees
            by_orm = existing_signing_key(session)
        assert by_orm is not None and by_orm[0] == rotated
        assert signing_key_bytes(hall.store.db) == (rotated, by_orm[1].private_bytes_raw())

        assert receipts.presigned_used == used + 2
        [first] = hall.receipts_for(before[0]["_id"])
        [second] = hall.receipts_for(after[0]["_id"])
        assert first["signature"]["kid"] == f"server:{key_id}"
        assert second["signature"]["kid"] == f"server:{rotated}" != f"server:{key_id}"
        device.verify_receipt(first, *before)
        with app.state.field.session() as session:
            [new_key] = [k for k in list_signing_keys(session) if k.key_id == rotated]
        verify_document(second, b64url_decode(new_key.public_key))
