"""new_row builds the row its model's constructor builds, and the database stores it alike."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from fieldhall.server.hall.rows import new_row
from fieldhall.server.hall.tables import HallCase, HallDocument, create_hall_tables
from fieldhall.sync.connection import create_store_engine

NOW = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
CASE = {
    "id": "case:01JZ0000000000000000000001",
    "received_order": 7,
    "rev": "1-a",
    "matter_id": "senior_citizen_card",
    "catalog_version": "2026.1",
    "channel": "home_visit",
    "agent_id": "agent-1",
    "device_id": "device-1",
    "applicant_name": "王芳",
    "search_text": "case:01jz0000000000000000000001 王芳 senior_citizen_card",
    "filed_at": NOW,
    "received_at": NOW,
    "state": "",
    "state_changed_at": NOW,
}


def test_a_new_row_is_the_constructors_row_defaults_included() -> None:
    built, made = HallCase(**CASE), new_row(HallCase, **CASE)
    assert made.model_dump() == built.model_dump()
    assert made.model_fields_set == built.model_fields_set
    made.state = "received"  # later assignments go through the instrumentation
    assert made.state == "received"


def test_unknown_or_missing_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="has no colour"):
        new_row(HallCase, **CASE, colour="red")
    with pytest.raises(TypeError, match="needs agent_id"):
        new_row(HallCase, **{k: v for k, v in CASE.items() if k != "agent_id"})


def test_a_new_row_is_inserted_and_updated_like_any_other(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    create_hall_tables(engine)
    with Session(engine) as session:
        case = new_row(HallCase, **CASE)
        session.add(case)
        case.events = 1  # changed while pending: inserted with the change
        session.add(
            new_row(
                HallDocument,
                doc_id=CASE["id"],
                type="case",
                case_id=CASE["id"],
                rev="1-a",
                seq=3,
                agent_id="agent-1",
                device_id="device-1",
                device_seq=1,
                signed_sha256="0" * 64,
                received_at=NOW,
            )
        )
        session.commit()
        case.state = "received"  # and updated once stored
        session.commit()
    with Session(engine) as session:
        stored = session.get(HallCase, CASE["id"])
        assert stored is not None
        assert stored.model_dump() == {
            **HallCase(**CASE).model_dump(),
            "events": 1,
            "state": "received",
            # SQLite hands back naive UTC instants
            **{k: v.replace(tzinfo=None) for k, v in CASE.items() if isinstance(v, datetime)},
        }
        document = session.get(HallDocument, CASE["id"])
        assert document is not None and document.receipt_id is None and document.seq == 3
    engine.dispose()
