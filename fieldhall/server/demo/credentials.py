"""What the demo keeps about itself in the data directory, in ``demo/credentials.json``
(mode 0600: it holds the staff passwords): the staff accounts and their passwords, the
simulated devices' state files, and how the seeding went. A second ``fieldhall demo`` on
the same data directory reads it to print the same credentials; nothing else does.

While seeding, ``demo/seeding`` exists: found on start, it means a seed was interrupted,
and the half-seeded hall is started over (see :mod:`~fieldhall.server.demo.serve`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DemoRecord",
    "DeviceRecord",
    "StaffLogin",
    "credentials_path",
    "demo_dir",
    "read_record",
    "seeding_marker",
    "write_record",
]


@dataclass(frozen=True, slots=True)
class StaffLogin:
    username: str
    password: str
    role: str
    display_name: str
    department: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    agent_id: str
    agent_name: str
    device_id: str
    grid_id: str | None
    station_id: str | None
    state_file: str


@dataclass
class DemoRecord:
    seed: int
    seeded_at: str
    seconds: float
    cases: int
    states: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)  # visit requests by state
    staff: list[StaffLogin] = field(default_factory=list)
    devices: list[DeviceRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> DemoRecord:
        return cls(
            seed=int(raw["seed"]),
            seeded_at=str(raw["seeded_at"]),
            seconds=float(raw["seconds"]),
            cases=int(raw["cases"]),
            states={str(k): int(v) for k, v in raw.get("states", {}).items()},
            visits={str(k): int(v) for k, v in raw.get("visits", {}).items()},
            staff=[StaffLogin(**s) for s in raw.get("staff", [])],
            devices=[DeviceRecord(**d) for d in raw.get("devices", [])],
        )


def demo_dir(data_dir: Path) -> Path:
    return data_dir / "demo"


def credentials_path(data_dir: Path) -> Path:
    return demo_dir(data_dir) / "credentials.json"


def seeding_marker(data_dir: Path) -> Path:
    return demo_dir(data_dir) / "seeding"


def write_record(data_dir: Path, record: DemoRecord) -> Path:
    """Write the record atomically, readable by its owner only."""
    path = credentials_path(data_dir)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(record.to_json(), handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def read_record(data_dir: Path) -> DemoRecord | None:
    """The record of a completed seed, or None (no demo here, or an unreadable file)."""
    try:
        raw = json.loads(credentials_path(data_dir).read_text(encoding="utf-8"))
        return DemoRecord.of(raw)
    except (OSError, ValueError, KeyError, TypeError):
        return None
