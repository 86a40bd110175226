"""tests/pg run against the real PostgreSQL server on 127.0.0.1:5432: a fresh database per
run, dropped afterwards. An unreachable server is a failure, never a skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

ADMIN_DSN = os.environ.get(
    "FIELDHALL_PG_ADMIN_DSN", "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    name = f"fieldhall_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required for tests/pg: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_schema(pg_database_url: str) -> Iterator[str]:
    """A clean schema state for one test: every table emptied afterwards."""
    yield pg_database_url
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_database_url)
    with engine.begin() as conn:
        tables = (
            conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            .scalars()
            .all()
        )
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()
