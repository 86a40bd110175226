"""The schema's migrations on SQLite: from empty to head, the migrated schema equal to the
models (so a table changed without a migration fails here), adoption of a database made
by the old ``create_all`` path, a downgrade/upgrade round trip, concurrent upgrades from
several processes, and the ``fieldhall db`` commands."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import fieldhall
from fieldhall.field_app_api.tables import StaffAccount
from fieldhall.server.db_cmd import db
from fieldhall.server.migrations import (
    UnknownRevision,
    current_revision,
    downgrade_database,
    head_revision,
    schema_metadata,
    upgrade_database,
)
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_field
from fieldhall.sync import tables as sync_tables
from fieldhall.sync.connection import create_store_engine
from tests.migration_checks import (
    create_the_old_way,
    model_tables,
    schema_drift,
    session,
    table_names,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'data' / 'fieldhall.sqlite3'}")
    yield engine
    engine.dispose()


def test_upgrade_from_empty_creates_every_table_and_records_head(engine: Engine) -> None:
    result = upgrade_database(engine)
    assert (result.before, result.after, result.adopted) == (None, head_revision(), False)
    assert table_names(engine) == model_tables() | {"alembic_version"}
    # Every layer's tables are there: sync store, field side, uploads, hall, audit.
    for name in ("sync_document", "field_device", "field_upload", "hall_case", "hall_audit_entry"):
        assert name in table_names(engine)
    again = upgrade_database(engine)
    assert not again.changed and again.after == head_revision()


def test_migrated_schema_matches_the_models_exactly(engine: Engine) -> None:
    upgrade_database(engine)
    assert schema_drift(engine) == []


def test_a_model_change_without_a_migration_is_detected(engine: Engine) -> None:
    """The drift check above is not vacuous: a column the migrations lack shows up."""
    upgrade_database(engine)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE sync_server ADD COLUMN stray TEXT"))
    drift = schema_drift(engine)
    assert [d[0] for d in drift] == ["remove_column"]
    assert drift[0][3].name == "stray"


def test_every_table_declared_in_fieldhall_is_covered_by_the_migrations() -> None:
    """A new module with a table must be added to ``schema_metadata`` (and a migration
    written), or the drift check would not see it."""
    for info in pkgutil.walk_packages(fieldhall.__path__, "fieldhall."):
        if info.name == "fieldhall.server.migrations.env":  # runs only inside Alembic
            continue
        importlib.import_module(info.name)
    covered = {name for metadata in schema_metadata() for name in metadata.tables}
    declared = set(SQLModel.metadata.tables) | set(sync_tables.metadata.tables)
    for module in list(sys.modules.values()):
        if (getattr(module, "__name__", "") or "").startswith("fieldhall."):
            for value in vars(module).values():
                if isinstance(value, MetaData):
                    declared |= set(value.tables)
    # Tables that tests declare on SQLModel's metadata are not fieldhall's.
    declared = {name for name in declared if not name.startswith("test")}
    assert declared - covered == set()


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    upgrade_database(engine)
    down = downgrade_database(engine, "base")
    assert (down.before, down.after) == (head_revision(), None)
    assert table_names(engine) & model_tables() == set()
    up = upgrade_database(engine)
    assert (up.before, up.after, up.adopted) == (None, head_revision(), False)
    assert schema_drift(engine) == []


def _add_clerk(engine: Engine) -> None:
    with session(engine) as s:
        s.add(
            StaffAccount(
                username="carol",
                password_hash="x",
                role="clerk",
                display_name="Carol",
                created_at=datetime.now(UTC),
            )
        )
        s.commit()


def test_a_database_made_by_create_all_is_adopted_with_its_data(
    engine: Engine, tmp_path: Path
) -> None:
    store = create_the_old_way(engine, tmp_path / "blobs")
    uuid = store.server_uuid()
    _add_clerk(engine)
    assert current_revision(engine) is None

    result = upgrade_database(engine)

    assert (result.before, result.after, result.adopted) == (None, head_revision(), True)
    assert schema_drift(engine) == []
    assert store.server_uuid() == uuid
    with session(engine) as s:
        assert s.exec(select(StaffAccount.username)).all() == [("carol",)]  # type: ignore[call-overload]
    assert not upgrade_database(engine).changed


def test_a_partial_old_database_gains_its_missing_tables(engine: Engine, tmp_path: Path) -> None:
    """A data directory from before the hall tables existed (or one `couch serve` made)."""
    create_the_old_way(engine, tmp_path / "blobs", hall=False)
    assert "hall_case" not in table_names(engine)
    result = upgrade_database(engine)
    assert result.adopted
    assert table_names(engine) == model_tables() | {"alembic_version"}
    assert schema_drift(engine) == []


def test_an_old_database_holding_some_later_tables_is_adopted(engine: Engine) -> None:
    """create_all of a build between two revisions (or a test helper) made tables of later
    revisions but not all of them: every revision creates only what is missing."""
    from fieldhall.server.hall.tables import create_hall_tables  # hall + visits + stations

    create_hall_tables(engine)
    assert "hall_visit_request" in table_names(engine)
    assert "hall_photo" not in table_names(engine)
    result = upgrade_database(engine)
    assert result.adopted
    assert table_names(engine) == model_tables() | {"alembic_version"}
    assert schema_drift(engine) == []


def test_the_server_path_adopts_an_old_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "old"
    settings = Settings.from_env(data_dir=data_dir)
    engine = create_store_engine(settings.database_url)
    create_the_old_way(engine, settings.blob_dir)
    _add_clerk(engine)
    engine.dispose()

    field = open_field(settings)
    try:
        assert current_revision(field.engine) == head_revision()
        with field.read_session() as s:
            assert s.get(StaffAccount, "carol") is not None
    finally:
        field.store.db.dispose()


def test_a_database_from_a_newer_fieldhall_is_refused(engine: Engine) -> None:
    upgrade_database(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(UnknownRevision, match="9999"):
        upgrade_database(engine)
    assert current_revision(engine) == "9999"  # untouched


UPGRADE = """
import sys
from fieldhall.server.migrations import upgrade_database
from fieldhall.sync.connection import create_store_engine
engine = create_store_engine(sys.argv[1])
result = upgrade_database(engine)
print(result.before, result.after)
"""


def test_concurrent_upgrades_from_several_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fieldhall.sqlite3'}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        outcomes.append(out.split())
    head = head_revision()
    # Each ended at head; exactly one did the work, the others found it done.
    assert all(after == head for _, after in outcomes)
    assert sorted(before for before, _ in outcomes) == sorted(["None", head, head])
    engine = create_store_engine(url)
    try:
        assert schema_drift(engine) == []
    finally:
        engine.dispose()


def test_db_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data"), "--json"]
    current = json.loads(runner.invoke(db, ["current", *args], catch_exceptions=False).output)
    assert current == {"current": None, "head": head_revision(), "up_to_date": False}
    upgraded = json.loads(runner.invoke(db, ["upgrade", *args], catch_exceptions=False).output)
    assert upgraded == {"before": None, "after": head_revision(), "adopted": False}
    current = json.loads(runner.invoke(db, ["current", *args], catch_exceptions=False).output)
    assert current["up_to_date"] is True
    refused = runner.invoke(db, ["downgrade", "base", *args], input="n\n")
    assert refused.exit_code == 1
    assert json.loads(runner.invoke(db, ["current", *args]).output)["up_to_date"] is True
    down = json.loads(runner.invoke(db, ["downgrade", "base", "--yes", *args]).output)
    assert down == {"before": head_revision(), "after": None}


def test_db_upgrade_refuses_a_newer_database_with_one_line(tmp_path: Path) -> None:
    settings = Settings.from_env(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    engine = create_store_engine(settings.database_url)
    upgrade_database(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    result = CliRunner().invoke(db, ["upgrade", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 1
    assert "9999" in result.output and "newer" in result.output


def test_the_scripts_ship_as_package_data() -> None:
    """An installed wheel must carry the revisions: pyproject's package-data covers them."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["fieldhall.server.migrations"]
    here = REPO / "fieldhall" / "server" / "migrations"
    shipped = {p for pattern in patterns for p in here.glob(pattern)}
    assert here / "script.py.mako" in shipped
    assert set((here / "versions").glob("*.py")) <= shipped
    assert schema_metadata()  # env.py's target is importable
