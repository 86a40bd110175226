"""How fieldhall's ASGI apps are served by uvicorn: one configuration for ``fieldhall serve``,
``fieldhall couch serve``, the demo and every server the tests and benchmarks start."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = [
    "GC_YOUNG_THRESHOLD",
    "GRACEFUL_SHUTDOWN_S",
    "KEEP_ALIVE_S",
    "START_TIMEOUT_S",
    "ServerDidNotStart",
    "ThreadedServer",
    "serve_in_thread",
    "tune_garbage_collector",
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

# Container objects allocated (net) before the youngest generation is collected; CPython's
# default, 700, is crossed by every batch a replication sends (its parsed documents), though
# they are freed by reference counting moments later.
GC_YOUNG_THRESHOLD = 10_000


def tune_garbage_collector() -> None:
    """Move the objects built at start-up (modules, the app, SQLAlchemy's tables) out of the
    cyclic garbage collector's sight — otherwise every full collection walks them all again,
    ~100 ms of CPU each, several per replication of 10,000 documents; they live as long as
    the process anyway — and collect the youngest generation less often. For a process that
    serves one app for its life (``fieldhall serve``, ``couch serve``, the door's benchmark):
    what is frozen is never collected, even once it is garbage."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def uvicorn_config(app: Any, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "timeout_keep_alive": KEEP_ALIVE_S,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    return uvicorn.Config(app, host=host, port=port, **{**options, **overrides})


class ThreadedServer:
    """A uvicorn server in a daemon thread of this process."""

    def __init__(self, config: uvicorn.Config, name: str = "fieldhall-server") -> None:
        self.config = config
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self) -> None:
        """Return once the server has bound its socket and finished start-up; raise
        :class:`ServerDidNotStart` if it stops first or takes too long."""
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServerDidNotStart(
                    f"the server could not listen on {self.config.host}:{self.config.port}"
                )
            time.sleep(0.02)

    def wait(self) -> None:
        """Until the server stops (Ctrl-C reaches the calling thread meanwhile)."""
        while self.thread.is_alive():
            self.thread.join(0.5)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(GRACEFUL_SHUTDOWN_S + 10)


class ServerDidNotStart(RuntimeError):
    pass


@contextmanager
def serve_in_thread(config: uvicorn.Config, name: str = "fieldhall-server") -> Iterator[None]:
    """Run ``config``'s server in a thread while the block runs; it has bound its socket and
    finished start-up when the block begins."""
    server = ThreadedServer(config, name)
    try:
        server.start()
        yield
    finally:
        server.stop()
