"""Running replications by job id, so that a later request can find and cancel them
(``POST /_replicate`` with ``"cancel": true``), as CouchDB's transient replications.

A registry belongs to one process and one event loop: jobs are tasks of that loop and are
not persisted (CouchDB's ``_replicator`` database is the persistent kind).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .job import ReplicationJob
from .replication import Replication

__all__ = ["JobRegistry"]


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, ReplicationJob] = {}

    def start(
        self,
        job_id: str,
        replication: Replication,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> tuple[ReplicationJob, bool]:
        """The running job with this id, or a new one started now; ``(job, started)``."""
        running = self._jobs.get(job_id)
        if running is not None and not running.done:
            return running, False
        job = ReplicationJob(replication, transport=transport).start()
        self._jobs[job_id] = job
        job.add_done_callback(self._forget(job_id))
        return job, True

    def _forget(self, job_id: str) -> Callable[[ReplicationJob], None]:
        def forget(job: ReplicationJob) -> None:
            if self._jobs.get(job_id) is job:
                del self._jobs[job_id]

        return forget

    def get(self, job_id: str) -> ReplicationJob | None:
        return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> bool:
        """Cancel a running job; ``False`` when there is none with this id."""
        job = self._jobs.pop(job_id, None)
        if job is None:
            return False
        job.cancel()
        return True

    def jobs(self) -> dict[str, ReplicationJob]:
        return dict(self._jobs)

    def cancel_all(self) -> None:
        for job_id in list(self._jobs):
            self.cancel(job_id)
