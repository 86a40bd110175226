"""What a replication has done so far: counters (:class:`Stats`) and state (:class:`Progress`).

The counters are CouchDB's, with CouchDB's meaning, so tools that read a CouchDB replication's
statistics read ours the same way:

* ``missing_checked`` — revisions the source's changes listed and ``_revs_diff`` asked about;
* ``missing_found`` — of those, revisions the target did not have;
* ``docs_read`` — document revisions fetched from the source;
* ``docs_written`` — revisions the target stored;
* ``doc_write_failures`` — revisions the target refused (``forbidden``, ``unauthorized``,
  too large…): skipped for good, as CouchDB does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from .checkpoint import Seq

__all__ = ["Progress", "State", "Stats"]


@dataclass(frozen=True, slots=True)
class Stats:
    docs_read: int = 0
    docs_written: int = 0
    doc_write_failures: int = 0
    missing_checked: int = 0
    missing_found: int = 0

    def __add__(self, other: Stats) -> Stats:
        return Stats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def to_json(self) -> dict[str, int]:
        return asdict(self)


class State(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    IDLE = "idle"  # continuous, caught up, waiting for changes
    RETRYING = "retrying"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (State.COMPLETED, State.CANCELLED, State.FAILED)


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a replication; every change makes a new one."""

    state: State = State.STARTING
    stats: Stats = Stats()
    replication_id: str | None = None
    session_id: str | None = None
    start_last_seq: Seq | None = None  # where this run started (its first checkpoint lookup)
    end_last_seq: Seq | None = None  # the last sequence checkpointed (or reached)
    source_seq: Seq | None = None  # the source's update_seq when the session started
    retries: int = 0  # transient failures survived
    error: str | None = None  # the last failure, one line
    checkpoint: dict[str, Any] | None = None  # the last checkpoint written (CouchDB's shape)

    def evolve(self, **changes: Any) -> Progress:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The final statistics as ``fieldhall replicate --json`` prints them."""
        return {
            "ok": self.state is not State.FAILED,
            "state": self.state.value,
            **self.stats.to_json(),
            "start_last_seq": self.start_last_seq,
            "end_last_seq": self.end_last_seq,
            "replication_id": self.replication_id,
            "session_id": self.session_id,
            "retries": self.retries,
            **({"error": self.error} if self.error else {}),
        }
