"""The two hooks the layers above plug into the store: who is asking, and may they write this.

A :class:`Principal` is resolved per request by the HTTP layer's authenticator. Its
``channels`` restrict every read path to documents in those channels (``None``: everything).
A :class:`WritePolicy` sees each document before it is stored, inside the write transaction,
and refuses it by raising :class:`~fieldhall.sync.errors.Forbidden` — reported per document
in ``_bulk_docs`` exactly as CouchDB reports a ``validate_doc_update`` failure. A policy whose
checks are costly and do not depend on what is stored (signatures, schemas, the bytes of
attachments) also implements :class:`PreparingWritePolicy`: those run before the transaction
begins, outside the database's write lock, and the transaction only consults their outcome.
A policy that reads or writes rows of its own per document implements
:class:`BatchWritePolicy` too, to read them for a whole batch at once and write them in one
statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import Connection

from .documents import IncomingAttachment, StoredAttachment

__all__ = [
    "ADMIN",
    "BatchPreparingWritePolicy",
    "BatchWritePolicy",
    "ChannelFunction",
    "PreparingWritePolicy",
    "Principal",
    "StubResolver",
    "Unchanged",
    "WriteContext",
    "WritePolicy",
]

ChannelFunction = Callable[[Mapping[str, Any]], frozenset[str]]
"""Pure: a document (with ``_id``) to the channels it belongs to; evaluated at write time."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    channels: frozenset[str] | None = None  # None: may read everything
    is_admin: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)  # the policy's own data

    def may_see(self, doc_channels: frozenset[str]) -> bool:
        return self.channels is None or not self.channels.isdisjoint(doc_channels)


ADMIN = Principal("admin", None, is_admin=True)


@dataclass(frozen=True, slots=True)
class WriteContext:
    """What a policy may use besides the documents: the open write transaction."""

    connection: Connection
    database: str
    new_edits: bool
    # What PreparingWritePolicy.prepare_write returned for this document (None: not prepared).
    prepared: object = None
    # The same for every document of one write: a BatchWritePolicy's own state for the batch.
    batch: dict[str, Any] = field(default_factory=dict)


class Unchanged(Exception):
    """Raised by a policy when a write repeats what is already stored (a client's retry):
    the write succeeds with the current revision and stores nothing."""


class WritePolicy(Protocol):
    def check_write(
        self,
        principal: Principal,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None,
        context: WriteContext,
    ) -> None:
        """Raise ``Forbidden(reason)`` to refuse ``new_doc``, ``Unchanged`` for a retry;
        ``old_doc`` is the current winner (whoever may see it). Called before the store's own
        conflict checks; must not write anything."""

    def after_write(
        self, principal: Principal, new_doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        """Called inside the same transaction once ``new_doc`` is going to be stored."""


@runtime_checkable
class PreparingWritePolicy(WritePolicy, Protocol):
    def prepare_write(
        self, principal: Principal, database: str, new_doc: Mapping[str, Any]
    ) -> object:
        """Called for every document of a write before its transaction begins, from the
        writer's thread and outside any lock: the checks that do not depend on stored state.
        Returns their outcome — a refusal too, which ``check_write`` raises in its turn — and
        ``check_write`` finds it as ``context.prepared``. ``new_doc`` has a ``_rev`` only
        with ``new_edits=false`` (the revision it is to be stored under), and
        ``_attachments`` lists the attachments whose bytes came with the write (those bytes
        under ``data``, as the blob store may still be writing them) and the stubs the store's
        stub resolver names (in the transaction a stub resolves from the document's ancestors
        first): whatever differs in the document ``check_write`` gets must be checked again
        there. Must not write anything."""


@runtime_checkable
class BatchPreparingWritePolicy(PreparingWritePolicy, Protocol):
    def prepare_writes(
        self, principal: Principal, database: str, new_docs: Sequence[Mapping[str, Any] | None]
    ) -> list[object]:
        """``prepare_write`` for the documents of a batch at once, in their order (``None``
        where an item of the batch is not a document, and for it), so that the policy may
        share the work out; the same outcomes as one call per document."""


@runtime_checkable
class BatchWritePolicy(WritePolicy, Protocol):
    def begin_batch(
        self,
        principal: Principal,
        bodies: Sequence[Mapping[str, Any]],
        context: WriteContext,
    ) -> None:
        """Called inside the write transaction before ``check_write`` sees the first of these
        documents (their bodies, in order): the policy may read at once into
        ``context.batch`` what it would read per document. Must not write anything."""

    def end_batch(self, principal: Principal, context: WriteContext) -> None:
        """Called in the same transaction after the last ``after_write`` of the batch (also
        when nothing was stored): the policy writes what its ``after_write`` calls left in
        ``context.batch``."""


StubResolver = Callable[[Principal, str, str, IncomingAttachment], StoredAttachment | None]
"""``(principal, doc_id, attachment name, the stub as sent)`` to the attachment the stub
names, for a stub the document's ancestor revisions do not have; ``None`` leaves CouchDB's
``missing_stub``. May raise ``Forbidden`` to refuse the document. Runs inside the write
transaction (from its own connection), and before it for a preparing policy: it must not
write."""
