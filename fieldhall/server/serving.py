"""How fieldhall's ASGI apps are served by uvicorn: one configuration for ``fieldhall serve``,
``fieldhall couch serve``, the demo and every server the tests and benchmarks start."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = [
    "GRACEFUL_SHUTDOWN_S",
    "KEEP_ALIVE_S",
    "START_TIMEOUT_S",
    "serve_in_thread",
    "uvicorn_config",
]

# Live replications hold `_changes` feeds open indefinitely; on SIGTERM they get this long.
GRACEFUL_SHUTDOWN_S = 2

# How long an idle keep-alive connection stays open. HTTP clients (httpx, Node's agent under
# PouchDB, browsers for fresh sockets) reuse an idle connection for about 5 s; uvicorn's own
# default is 5 s too, and its clock starts before the client's, so a request sent on a
# connection idle for just under 5 s meets the server's close and fails with "server
# disconnected". Outlasting the clients lets them close first. nginx's default, 75 s.
KEEP_ALIVE_S = 75

START_TIMEOUT_S = 60.0


def uvicorn_config(app: Any, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    return uvicorn.Config(app, host=host, port=port, **{**options, **overrides})


@contextmanager
def serve_in_thread(config: uvicorn.Config, name: str = "fieldhall-server") -> Iterator[None]:
    """Run ``config``'s server in a daemon thread of this process while the block runs; it has
    bound its socket and finished start-up when the block begins."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {config.port} did not start")
            time.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        thread.join(GRACEFUL_SHUTDOWN_S + 10)
