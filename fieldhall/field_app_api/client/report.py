"""What a device can tell its user: the state of each document it queued, what a sync did,
and whether what the server sent verifies. Plain values with a ``to_json()`` each (the
``--json`` output of ``fieldhall device …``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["DocState", "DocumentStatus", "Invalid", "SyncReport", "VerifyReport"]


class DocState(StrEnum):
    ACKNOWLEDGED = "acknowledged"  # a receipt that verifies names exactly these bytes
    PENDING = "pending"  # queued; not yet acknowledged (never synced, or in flight)
    REFUSED = "refused"  # the server refused it for good (``reason``)
    RECEIPT_INVALID = "receipt_invalid"  # receipts came, but none verifies for it


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    doc_id: str
    type: str
    device_seq: int
    state: DocState
    receipt_id: str | None = None
    received_at: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.doc_id,
            "type": self.type,
            "device_seq": self.device_seq,
            "state": self.state.value,
            "receipt_id": self.receipt_id,
            "received_at": self.received_at,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Invalid:
    """A server document that does not verify (it stays in the inbox, flagged)."""

    doc_id: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.doc_id, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class VerifyReport:
    verified: int  # server-signed documents whose signature verifies
    invalid: tuple[Invalid, ...]
    foreign: int  # documents signed by other devices of the agent: no key here to check
    documents: tuple[DocumentStatus, ...] = ()  # the outbox, judged by its receipts

    @property
    def ok(self) -> bool:
        return not self.invalid and all(
            d.state is not DocState.RECEIPT_INVALID for d in self.documents
        )

    def counts(self) -> dict[str, int]:
        counts = {state.value: 0 for state in DocState}
        for doc in self.documents:
            counts[doc.state.value] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verified": self.verified,
            "invalid": [i.to_json() for i in self.invalid],
            "foreign": self.foreign,
            "outbox": self.counts(),
            "problems": [
                d.to_json() for d in self.documents if d.state is DocState.RECEIPT_INVALID
            ],
        }


@dataclass(frozen=True, slots=True)
class SyncReport:
    pushed: int  # documents the server stored in this sync
    pulled: int  # documents that came into the inbox in this sync
    catalog_pulled: int
    verification: VerifyReport  # of what was pulled in this sync, and of the outbox
    # This sync's news per queued document: acknowledged or refused now, or still pending.
    documents: tuple[DocumentStatus, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.verification.ok

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "pushed": self.pushed,
            "refused": sum(d.state is DocState.REFUSED for d in self.documents),
            "pulled": self.pulled,
            "catalog_pulled": self.catalog_pulled,
            "verified": self.verification.verified,
            "invalid": [i.to_json() for i in self.verification.invalid],
            "foreign": self.verification.foreign,
            "outbox": self.verification.counts(),
            "documents": [d.to_json() for d in self.documents],
        }
