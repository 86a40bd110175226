"""What a device keeps about itself: one JSON file readable only by its user (0600).

The file holds the device's identity from enrollment, its Ed25519 private key and bearer
token, the server's keys, and the head of its hash chain (``device_seq``, ``prev_hash``). It is
written atomically (a 0600 temporary file, fsynced, renamed over the old one), so a crash
leaves either the old head or the new one, never a torn file. Like ssh with a private key,
loading refuses a file that other users can read.

Next to it, ``<state file without suffix>.data/`` (0700) holds the local store (outbox, inbox,
catalog) and the lock that keeps two processes from moving the chain at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import NotEnrolled

__all__ = ["DEFAULT_STATE_FILE", "DeviceState", "data_dir_for", "exclusive"]

DEFAULT_STATE_FILE = "fieldhall-device.json"


@dataclass
class DeviceState:
    """What the device keeps on disk (0600): identity, key, token, chain head."""

    server: str
    device_id: str
    agent_id: str
    grid_id: str | None
    station_id: str | None
    token: str
    private_key: str  # unpadded base64url of the raw Ed25519 key
    sync_url: str
    server_signing_key: str
    server_key_id: str
    hall_encryption_key: str
    device_seq: int = 0
    prev_hash: str | None = None
    server_keys: dict[str, str] = field(default_factory=dict)  # key_id -> public key
    name: str = ""

    def save(self, path: Path) -> None:
        data = json.dumps(asdict(self), indent=2).encode()
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # an older temporary file may have other bits
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)

    @classmethod
    def load(cls, path: Path) -> DeviceState:
        try:
            mode = path.stat().st_mode
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotEnrolled(
                f"no device state at {path}: enroll first (fieldhall device enroll)"
            ) from None
        except (OSError, ValueError) as exc:
            raise NotEnrolled(f"cannot read the device state {path}: {exc}") from exc
        if stat.S_IMODE(mode) & 0o077:
            raise NotEnrolled(
                f"{path} holds the device's private key and token but other users may read "
                f"it (mode {stat.S_IMODE(mode):04o}); fix it with: chmod 600 {path}"
            )
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError as exc:
            raise NotEnrolled(f"{path} is not a device state file: {exc}") from exc


def data_dir_for(state_path: Path) -> Path:
    """``fieldhall-device.json`` → ``fieldhall-device.data``: the device's local store."""
    return state_path.with_suffix(".data")


@contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Hold the device's lock: one process at a time signs (moves the chain) or syncs, so
    two ``fieldhall device case`` runs can never give two documents one ``device_seq``."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(data_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
