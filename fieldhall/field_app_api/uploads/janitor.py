"""The background job that cleans expired uploads: a Litestar lifespan hook.

Every process may run it: :meth:`Uploads.expire` is idempotent and works on the shared
database, so several workers sweeping at once only repeat each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread

from .service import Uploads

__all__ = ["SWEEP_SECONDS", "upload_janitor"]

SWEEP_SECONDS = 900.0

log = logging.getLogger("fieldhall.field_app_api.uploads")


async def _sweep(uploads: Uploads, every_seconds: float) -> None:
    while True:
        try:
            report = await anyio.to_thread.run_sync(uploads.expire)
            if report.uploads or report.orphan_parts:
                log.info("expired uploads: %s", report)
        except Exception:
            log.exception("cleaning expired uploads failed; trying again later")
        await asyncio.sleep(every_seconds)


def upload_janitor(
    uploads: Uploads, every_seconds: float = SWEEP_SECONDS
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """``Litestar(lifespan=[upload_janitor(uploads)])``: sweep while the app runs."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep(uploads, every_seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
