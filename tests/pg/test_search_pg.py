"""The inbox's text search on PostgreSQL (LIKE is case-sensitive there): the same proofs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from fieldhall.sync.connection import create_store_engine
from tests.unit.hall.test_search import (
    populate,
    test_a_hall_without_the_index_is_indexed_at_start,
    test_the_index_finds_exactly_what_a_substring_test_finds,
)

__all__ = [
    "test_a_hall_without_the_index_is_indexed_at_start",
    "test_the_index_finds_exactly_what_a_substring_test_finds",
]


@pytest.fixture
def engine(pg_schema: str) -> Iterator[Engine]:
    engine = create_store_engine(pg_schema)
    populate(engine)
    yield engine
    engine.dispose()
