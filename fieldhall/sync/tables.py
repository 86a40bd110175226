"""The store's tables (SQLAlchemy Core; the same schema on SQLite and PostgreSQL).

* ``sync_database``: one row per database; its ``update_seq`` is the sequence counter. A
  writer locks this row for the whole transaction, so sequence numbers are handed out in
  commit order and a ``since`` never skips a committed row.
* ``sync_document``: one row per document — its revision tree, winner and latest ``seq``
  (``(db_id, seq)`` is the by-sequence index the changes feed reads).
* ``sync_revision``: one row per stored revision body; attachment *metadata* only, the bytes
  are in the blob store.
* ``sync_channel``: ``(db_id, channel, seq) -> doc_id``, so a feed restricted to channels costs
  what it returns.
* ``sync_local``: ``_local/`` documents, which have no revision tree and never appear in feeds.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["channel", "database", "document", "local", "metadata", "revision"]

metadata = MetaData()

# Byte-order ids, as CouchDB's `_all_docs` orders them, on both engines.
DocId = Text().with_variant(Text(collation="C"), "postgresql")

database = Table(
    "sync_database",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("update_seq", BigInteger, nullable=False, default=0),
    Column("revs_limit", Integer, nullable=False, default=1000),
    Column("doc_count", BigInteger, nullable=False, default=0),
    Column("doc_del_count", BigInteger, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
)

document = Table(
    "sync_document",
    metadata,
    Column("db_id", Integer, primary_key=True),
    Column("doc_id", DocId, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("winner", String(200), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("tree", Text, nullable=False),
    Column("channels", Text, nullable=True),
    Index("ix_sync_document_seq", "db_id", "seq", unique=True),
)

revision = Table(
    "sync_revision",
    metadata,
    Column("db_id", Integer, primary_key=True),
    Column("doc_id", DocId, primary_key=True),
    Column("rev", String(200), primary_key=True),
    Column("deleted", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", Text, nullable=True),
)

channel = Table(
    "sync_channel",
    metadata,
    Column("db_id", Integer, primary_key=True),
    Column("channel", String(200), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("doc_id", DocId, nullable=False),
    Index("ix_sync_channel_doc", "db_id", "doc_id"),
)

local = Table(
    "sync_local",
    metadata,
    Column("db_id", Integer, primary_key=True),
    Column("doc_id", DocId, primary_key=True),
    Column("rev", Integer, nullable=False),
    Column("body", Text, nullable=False),
)

server = Table(
    "sync_server",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)
