"""The schema's migrations on PostgreSQL, each test on a database of its own (the shared
test database already has tables): from empty to head, the migrated schema equal to the
models, adoption of a ``create_all`` database, a round trip, and concurrent upgrades
serialised by the advisory lock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from fieldhall.server.migrations import (
    MigrationResult,
    downgrade_database,
    head_revision,
    upgrade_database,
)
from fieldhall.sync.connection import create_store_engine
from tests.migration_checks import create_the_old_way, model_tables, schema_drift, table_names
from tests.pg.conftest import ADMIN_DSN

pytestmark = pytest.mark.pg


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    name = f"fieldhall_mig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(empty_pg_url: str) -> Iterator[Engine]:
    engine = create_store_engine(empty_pg_url)
    yield engine
    engine.dispose()


def test_upgrade_from_empty_matches_the_models(engine: Engine) -> None:
    result = upgrade_database(engine)
    assert (result.before, result.after, result.adopted) == (None, head_revision(), False)
    assert table_names(engine) == model_tables() | {"alembic_version"}
    assert schema_drift(engine) == []
    assert not upgrade_database(engine).changed


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    upgrade_database(engine)
    assert downgrade_database(engine, "base").after is None
    assert table_names(engine) & model_tables() == set()
    assert upgrade_database(engine).after == head_revision()
    assert schema_drift(engine) == []


def test_a_create_all_database_is_adopted(engine: Engine, tmp_path: Path) -> None:
    store = create_the_old_way(engine, tmp_path / "blobs")
    server_uuid = store.server_uuid()
    result = upgrade_database(engine)
    assert (result.after, result.adopted) == (head_revision(), True)
    assert schema_drift(engine) == []
    assert store.server_uuid() == server_uuid


def test_concurrent_upgrades_wait_for_the_advisory_lock(empty_pg_url: str) -> None:
    """Without the lock, two CREATE TABLEs of the same name race and one fails."""
    engines = [create_store_engine(empty_pg_url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    results: list[MigrationResult] = []
    errors: list[BaseException] = []

    def upgrade(engine: Engine) -> None:
        try:
            start.wait(timeout=30)
            results.append(upgrade_database(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        assert [r.after for r in results] == [head_revision()] * len(engines)
        assert sum(r.before is None for r in results) == 1  # one did the work
        assert schema_drift(engines[0]) == []
    finally:
        for engine in engines:
            engine.dispose()
