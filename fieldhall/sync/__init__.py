"""A CouchDB-replication-compatible document store, its HTTP router and replicator.

Knows nothing of cases, agents or halls: the hooks in :mod:`fieldhall.sync.policy`
(principals with channels, a write policy, a channel function) let the layers above decide
who may read and write what.
"""

from .blobs import BlobStore
from .changes import ChangeNotifier, PostgresListener
from .connection import Database, create_store_engine
from .documents import IncomingDoc, parse_incoming
from .errors import CouchError
from .policy import ADMIN, ChannelFunction, Principal, Unchanged, WriteContext, WritePolicy
from .store import Store

__all__ = [
    "ADMIN",
    "BlobStore",
    "ChangeNotifier",
    "ChannelFunction",
    "CouchError",
    "Database",
    "IncomingDoc",
    "PostgresListener",
    "Principal",
    "Store",
    "Unchanged",
    "WriteContext",
    "WritePolicy",
    "create_store_engine",
    "parse_incoming",
]
