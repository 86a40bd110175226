"""The inbox's text search: the bigram index finds exactly what a substring test finds."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fieldhall.server.hall.queries import CaseFilter, list_cases
from fieldhall.server.hall.search import (
    ensure_search_index,
    index_case,
    query_terms,
    terms_of,
)
from fieldhall.server.hall.tables import HallCase, HallCaseTerm, create_hall_tables
from fieldhall.sync.connection import create_store_engine

NOW = datetime(2026, 3, 2, tzinfo=UTC)
NAMES = ["张桂兰", "王芳", "李德福", "王建国", "刘秀英", "陈静", "张伟", "欧阳娜娜"]
PLACES = ["汉滨区新城街道南环社区3号楼", "江北街道滨江花园12栋", "关庙镇老街9号", "新城街道"]


def case(order: int, name: str, address: str) -> HallCase:
    case_id = f"case:01JZ{order:022d}"
    return HallCase(
        id=case_id,
        received_order=order,
        rev="1-a",
        matter_id="senior_citizen_card",
        catalog_version="2026.1",
        channel="home_visit",
        agent_id="agent-1",
        device_id="device-1",
        applicant_name=name,
        applicant_address=address,
        search_text=f"{case_id} {name} {address} senior_citizen_card".lower(),
        filed_at=NOW,
        received_at=NOW,
        state="received",
        state_changed_at=NOW,
    )


def populate(engine: Engine) -> None:
    """300 indexed cases (shared with tests/pg)."""
    create_hall_tables(engine)
    rng = random.Random(5)
    with Session(engine) as session:
        for order in range(1, 301):
            row = case(order, rng.choice(NAMES), rng.choice(PLACES))
            session.add(row)
            index_case(session, row)
        session.commit()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    populate(engine)
    yield engine
    engine.dispose()


def search(engine: Engine, text: str, limit: int = 200) -> list[str]:
    found: list[str] = []
    cursor = None
    with Session(engine) as session:
        while True:
            rows, cursor = list_cases(
                session, CaseFilter(text=text), NOW, limit=limit, cursor=cursor
            )
            found += [row.id for row in rows]
            if cursor is None:
                return found


def brute_force(engine: Engine, text: str) -> list[str]:
    needle = text.strip().lower()
    with Session(engine) as session:
        rows = session.exec(select(HallCase).order_by(HallCase.received_order.desc())).all()  # type: ignore[call-overload,union-attr]
        return [row[0].id for row in rows if needle in row[0].search_text]


def test_terms_are_bigrams_of_chinese_words_and_whole_ascii_words() -> None:
    assert terms_of("case:01ab 王芳 新城街道") == {"=case:01ab", "王芳", "新城", "城街", "街道"}
    assert query_terms("桂兰") == {"桂兰"}
    assert query_terms("张") is None  # one character: no bigram, the LIKE scan answers
    assert query_terms("senior") is None  # part of an ASCII word may be anywhere in it
    assert query_terms("王芳 新城") is None


@pytest.mark.parametrize(
    "text",
    [
        "桂兰",  # inside a name
        "张桂兰",
        "欧阳娜娜",
        "南环社区3号",  # inside an address
        "滨江花园12栋",
        "张",  # one character
        "case:01jz0000000000000000000017",  # a whole case id
        "CASE:01JZ0000000000000000000017",  # as the clerk pasted it
        "case:01jz00000000000000000001",  # part of case ids
        "senior",
        "王芳 新城",  # two words: one substring
        "不存在",  # nothing
        "100%_",  # LIKE wildcards are literal
    ],
)
def test_the_index_finds_exactly_what_a_substring_test_finds(engine: Engine, text: str) -> None:
    assert search(engine, text) == brute_force(engine, text)
    assert search(engine, text, limit=7) == brute_force(engine, text)  # across pages


def test_a_hall_without_the_index_is_indexed_at_start(engine: Engine) -> None:
    with Session(engine) as session:
        session.connection().execute(HallCaseTerm.__table__.delete())  # type: ignore[attr-defined]
        session.commit()
    assert ensure_search_index(engine) == 300
    assert ensure_search_index(engine) == 0  # once
    with Session(engine) as session:
        terms = (
            session.connection()
            .execute(select(func.count()).select_from(HallCaseTerm))
            .scalar_one()
        )
    assert terms > 300
    assert search(engine, "桂兰") == brute_force(engine, "桂兰")
