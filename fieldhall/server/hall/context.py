"""Who triggers a transition, and the transaction it happens in (its instant, the event
signer, the write-once rows and the audit entries written when it ends — the audit entries
last, as the audit log requires)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, bindparam, cast, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlmodel import Session

from fieldhall.field_app_api.tables import StaffAccount

from .audit import Actor, Entry, Subject, append_many
from .events import EventSigner

__all__ = ["Tx", "Who"]


@dataclass(frozen=True, slots=True)
class Who:
    """Who triggers a transition: a staff member, or a device's document (role ``system``)."""

    kind: Literal["staff", "device", "system"]
    id: str
    role: str
    department: str | None = None

    @classmethod
    def staff(cls, account: StaffAccount) -> Who:
        return cls("staff", account.username, account.role, account.department)

    @classmethod
    def device(cls, device_id: str) -> Who:
        return cls("device", device_id, "system")

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, self.id)


@dataclass
class Tx:
    """One workflow transaction: its session, its instant, the event signer, the write-once
    rows and the audit entries to write when it ends (audit entries last, see ``audit``)."""

    session: Session
    at: datetime
    signer: EventSigner
    audits: list[tuple[Actor, str, Subject, dict[str, Any]]] = field(default_factory=list)
    inserts: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)

    def audit(self, actor: Actor, action: str, subject: Subject, details: dict[str, Any]) -> None:
        self.audits.append((actor, action, subject, details))

    def insert_at_end(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` when the transaction ends, with the transaction's other rows of
        ``table`` (one statement for a projector batch, not one per case). Only for rows
        written once and not read back in the transaction: the search index, materials."""
        if rows:
            self.inserts.setdefault(table, []).extend(rows)

    def finish(self) -> None:
        """Write the rows, then the audit entries (last), and commit the session's part
        (``FieldService.session`` commits the database transaction when its block ends)."""
        self.session.flush()
        connection = self.session.connection()
        for table, rows in self.inserts.items():
            _insert_all(connection, table, rows)
        self.inserts.clear()
        append_many(self.session, [Entry(*audit) for audit in self.audits], at=self.at)
        self.audits.clear()
        self.session.commit()


def _insert_all(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table``. On PostgreSQL in one statement, the rows as one array
    per column unnested side by side (set-returning functions in a select list advance in
    lockstep, so the arrays zip back into the rows, in order): psycopg's executemany sends
    a statement per row, some ten thousand search terms for a projector batch."""
    names = list(rows[0])
    if connection.dialect.name != "postgresql" or any(row.keys() != rows[0].keys() for row in rows):
        connection.execute(insert(table), rows)
        return
    columns = [
        func.unnest(
            cast(
                bindparam(
                    f"column_{i}", [row[name] for row in rows], type_=ARRAY(table.c[name].type)
                ),
                ARRAY(table.c[name].type),
            )
        )
        for i, name in enumerate(names)
    ]
    connection.execute(insert(table).from_select(names, select(*columns)))
