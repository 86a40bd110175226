"""What ``fieldhall demo`` decides from the data directory before it serves: seed a new
hall, keep a seeded one, serve a hall it did not make as it is, and start over after a seed
that was cut short — and what it prints in each case."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fieldhall.field_app_api.staff import add_staff
from fieldhall.server.demo.credentials import (
    DemoRecord,
    DeviceRecord,
    StaffLogin,
    credentials_path,
    read_record,
    seeding_marker,
    write_record,
)
from fieldhall.server.demo.seeding import DemoError
from fieldhall.server.demo.serve import banner, needs_seed, restart_interrupted
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_field

RECORD = DemoRecord(
    seed=7,
    seeded_at="2026-11-27T06:00:00Z",
    seconds=12.5,
    cases=73,
    states={"closed": 17, "received": 10},
    staff=[StaffLogin("clerk", "pw-clerk-123", "clerk", "综合窗口 孙丽")],
    devices=[
        DeviceRecord("agent-zhao-min", "赵敏", "dev-1", "hb-jiangbei-02", "wuyue-plaza", "/x.json")
    ],
)


def settings_for(tmp_path: Path) -> Settings:
    return Settings.from_env(data_dir=tmp_path / "data", database_url=None, port=18000)


def test_a_new_data_directory_needs_a_seed_and_a_hall_with_staff_does_not(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    assert needs_seed(settings)
    field = open_field(settings)
    with field.session() as session:
        add_staff(session, "alice", "alice-password", "admin")
    field.store.db.dispose()
    assert not needs_seed(settings)
    assert read_record(settings.data_dir) is None
    text = banner("http://127.0.0.1:18000", settings.data_dir, None, seeded=False)
    assert "not seeded by the demo" in text and "password" not in text
    assert "http://127.0.0.1:18000/health" in text


def test_the_record_is_kept_owner_only_and_read_back(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = write_record(settings.data_dir, RECORD)
    assert path == credentials_path(settings.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_record(settings.data_dir) == RECORD
    assert not needs_seed(settings)  # seeded before: kept
    text = banner("http://h:1", settings.data_dir, RECORD, seeded=False)
    assert "kept as it is" in text and "clerk" in text and "pw-clerk-123" in text
    assert "hb-jiangbei-02 + wuyue-plaza" in text
    fresh = banner("http://h:1", settings.data_dir, RECORD, seeded=True)
    assert "seeded in 12.5 s: 73 cases (closed 17, received 10)" in fresh
    path.write_text("{not json")
    assert read_record(settings.data_dir) is None


def test_an_interrupted_seed_is_removed_and_started_over(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert not restart_interrupted(settings)
    open_field(settings).store.db.dispose()
    root = settings.data_dir
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    mine = root / "notes.txt"
    mine.write_text("not the demo's")
    seeding_marker(root).parent.mkdir(parents=True)
    seeding_marker(root).touch()
    assert restart_interrupted(settings)
    assert not (root / "fieldhall.sqlite3").exists() and not (root / "blobs").exists()
    assert not (root / "demo").exists()
    assert mine.read_text() == "not the demo's"  # only what the hall and the demo make
    assert needs_seed(settings)


def test_an_interrupted_seed_in_another_database_is_left_to_the_operator(
    tmp_path: Path,
) -> None:
    other = tmp_path / "elsewhere.sqlite3"
    settings = Settings.from_env(data_dir=tmp_path / "data", database_url=f"sqlite:///{other}")
    seeding_marker(settings.data_dir).parent.mkdir(parents=True)
    seeding_marker(settings.data_dir).touch()
    with pytest.raises(DemoError, match="interrupted"):
        restart_interrupted(settings)
    assert seeding_marker(settings.data_dir).exists()
