"""CouchDB's replication protocol, against any CouchDB-protocol peer.

The protocol's steps, one module each: :mod:`.peers` (verify peers, get their info),
:mod:`.ids` (replication id), :mod:`.checkpoint` (find where to resume, record progress),
:mod:`.changes` (read the source's changes), :mod:`.revs_diff` (what the target lacks),
:mod:`.fetch` (``_bulk_get`` or ``open_revs``, with :mod:`.attachments` only where needed),
:mod:`.write` (``_bulk_docs`` ``new_edits=false``, large documents as ``multipart/related``);
:mod:`.job` runs them batch after batch, with retries (:mod:`.backoff`) and cancellation.

Use::

    rep = Replication.between("http://u:p@a:5984/db", "http://u:p@b:5984/db", create_target=True)
    progress = await replicate(rep)              # one-shot: runs to the end
    job = ReplicationJob(rep).start()            # or in the background:
    job.progress; job.cancel(); await job.wait()
"""

from .backoff import RetryPolicy
from .endpoint import Endpoint
from .errors import (
    DatabaseNotFound,
    PeerProtocolError,
    PeerUnauthorized,
    PeerUnreachable,
    ReplicationError,
    TransientError,
)
from .job import ReplicationJob, replicate
from .progress import Progress, State, Stats
from .registry import JobRegistry
from .replication import Replication

__all__ = [
    "DatabaseNotFound",
    "Endpoint",
    "JobRegistry",
    "PeerProtocolError",
    "PeerUnauthorized",
    "PeerUnreachable",
    "Progress",
    "Replication",
    "ReplicationError",
    "ReplicationJob",
    "RetryPolicy",
    "State",
    "Stats",
    "TransientError",
    "replicate",
]
