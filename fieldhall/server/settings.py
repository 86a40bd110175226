"""Settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fieldhall.field_app_api.door_workers import default_processes

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    sqlite_synchronous: str = "FULL"
    blob_grace_seconds: float = 3600.0
    # Notifications go to the log unless a webhook is configured (hall.notifications.config).
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout: float = 5.0
    webhook_max_attempts: int = 8
    # Worker processes that check shares of a large device batch (0: the writer's thread alone).
    door_processes: int = field(default_factory=default_processes)

    @classmethod
    def from_env(
        cls,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> Settings:
        root = Path(data_dir or os.environ.get("FIELDHALL_DATA_DIR", "./fieldhall-data")).resolve()
        url = (
            database_url
            or os.environ.get("FIELDHALL_DATABASE_URL")
            or f"sqlite:///{root / 'fieldhall.sqlite3'}"
        )
        return cls(
            data_dir=root,
            database_url=url,
            host=host or os.environ.get("FIELDHALL_HOST", "127.0.0.1"),
            port=port or int(os.environ.get("FIELDHALL_PORT", "8000")),
            sqlite_synchronous=os.environ.get("FIELDHALL_SQLITE_SYNCHRONOUS", "FULL"),
            blob_grace_seconds=float(os.environ.get("FIELDHALL_BLOB_GRACE_SECONDS", "3600")),
            webhook_url=os.environ.get("FIELDHALL_WEBHOOK_URL") or None,
            webhook_secret=os.environ.get("FIELDHALL_WEBHOOK_SECRET") or None,
            webhook_timeout=float(os.environ.get("FIELDHALL_WEBHOOK_TIMEOUT", "5")),
            webhook_max_attempts=int(os.environ.get("FIELDHALL_WEBHOOK_MAX_ATTEMPTS", "8")),
            door_processes=int(
                os.environ.get("FIELDHALL_DOOR_PROCESSES", str(default_processes()))
            ),
        )

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
