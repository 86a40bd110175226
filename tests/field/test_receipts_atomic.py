"""A device document and its signed receipt commit in one transaction (the store's companion
writer): a write whose receipt cannot be made is not stored at all, and it is answered with a
5xx — a temporary failure the device retries — never ``forbidden``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from fieldhall.field_app_api.client import DeviceClient
from tests.field.support import attach, field_hall, new_case, sync_client


def test_a_write_whose_receipt_fails_is_not_stored_and_can_be_retried(tmp_path: Path) -> None:
    with field_hall(tmp_path / "hall") as hall:
        bob: DeviceClient = hall.enroll("bob")
        doc, files = new_case(bob, 1)
        # No signing key: the receipt cannot be signed (rotation always leaves one; this is
        # the stand-in for any failure while the receipts are written).
        engine = create_engine(hall.database_url)
        with engine.begin() as connection:
            saved = connection.execute(text("SELECT * FROM field_server_key")).mappings().all()
            connection.execute(text("DELETE FROM field_server_key WHERE purpose = 'signing'"))
        body = {"docs": [attach(doc, files)], "new_edits": True}
        with sync_client(bob) as client:
            response = client.post("/_bulk_docs", json=body)
        assert response.status_code >= 500, response.text
        assert set(response.json()) >= {"error", "reason"}
        assert response.json()["error"] != "forbidden"
        hall.assert_nothing_stored(doc["_id"], device=bob)

        with engine.begin() as connection:  # the key is back: the same document goes in
            for row in saved:
                if row["purpose"] == "signing":
                    columns = ", ".join(row.keys())
                    values = ", ".join(f":{name}" for name in row)
                    connection.execute(
                        text(f"INSERT INTO field_server_key ({columns}) VALUES ({values})"),
                        dict(row),
                    )
        engine.dispose()
        with sync_client(bob) as client:
            response = client.post("/_bulk_docs", json=body)
        assert response.status_code == 201, response.text
        assert response.json()[0].get("ok") is True, response.text
        [receipt] = hall.receipts_for(doc["_id"])
        assert receipt["for"]["rev"] == response.json()[0]["rev"]
