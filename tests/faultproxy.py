"""A TCP proxy for tests that misbehaves on purpose: it cuts connections at random byte
offsets and delays data, reproducibly (seeded), on 127.0.0.1 only.

    with FaultProxy(upstream_port, seed=7, cut_rate=0.5) as proxy:
        url = proxy.url  # http://127.0.0.1:<port>; put it between two peers

Each accepted connection draws its fate from the seeded generator, in accept order: with
probability ``cut_rate`` it is cut (both sides aborted, no FIN) once ``cut_after`` bytes —
uniform in ``[0, max_cut_bytes]``, counted over both directions — have gone through, which
lands anywhere: in a request line, a header, a body, a response. Independently, each chunk
forwarded to the client is held back ``uniform(0, max_delay)`` seconds with probability
``delay_rate``. ``stats`` counts connections, cuts, delays and bytes.

The proxy runs its own event loop in a thread, so synchronous and asynchronous tests can use
it alike.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass
from types import TracebackType

__all__ = ["FaultProxy", "ProxyStats"]

_CHUNK = 64 * 1024


@dataclass
class ProxyStats:
    connections: int = 0
    cuts: int = 0
    delays: int = 0
    bytes_up: int = 0  # client -> upstream
    bytes_down: int = 0  # upstream -> client


class _Cut(Exception):
    pass


class FaultProxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        seed: int = 0,
        cut_rate: float = 0.0,
        max_cut_bytes: int = 64 * 1024,
        delay_rate: float = 0.0,
        max_delay: float = 0.05,
        upstream_host: str = "127.0.0.1",
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.cut_rate = cut_rate
        self.max_cut_bytes = max_cut_bytes
        self.delay_rate = delay_rate
        self.max_delay = max_delay
        self.stats = ProxyStats()
        self._random = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.port = future.result(timeout=10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_faults(self, *, cut_rate: float | None = None, delay_rate: float | None = None) -> None:
        """Change the fault rates for connections accepted from now on."""
        if cut_rate is not None:
            self.cut_rate = cut_rate
        if delay_rate is not None:
            self.delay_rate = delay_rate

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---------------------------------------------------------------- proxying

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # the proxy is stopping; asyncio's stream callback must not see a cancellation
        finally:
            self._tasks.discard(task)

    async def _serve(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.stats.connections += 1
        rng = random.Random(self._random.random())
        budget = [rng.randint(0, self.max_cut_bytes)] if rng.random() < self.cut_rate else None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        pipes = [
            asyncio.create_task(self._pipe(client_reader, up_writer, budget, rng, down=False)),
            asyncio.create_task(self._pipe(up_reader, client_writer, budget, rng, down=True)),
        ]
        try:
            done, _ = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            cut = any(isinstance(t.exception(), _Cut) for t in done if not t.cancelled())
            if cut:
                self.stats.cuts += 1
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            client_writer.transport.abort()
            up_writer.transport.abort()

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        budget: list[int] | None,
        rng: random.Random,
        *,
        down: bool,
    ) -> None:
        while True:
            try:
                data = await reader.read(_CHUNK)
            except (ConnectionError, OSError):
                return
            if not data:
                return
            if down and self.delay_rate and rng.random() < self.delay_rate:
                self.stats.delays += 1
                await asyncio.sleep(rng.uniform(0, self.max_delay))
            if budget is not None and len(data) >= budget[0]:
                data = data[: budget[0]]
                budget[0] = 0
                await self._send(writer, data, down)
                raise _Cut()
            if budget is not None:
                budget[0] -= len(data)
            await self._send(writer, data, down)

    async def _send(self, writer: asyncio.StreamWriter, data: bytes, down: bool) -> None:
        if not data:
            return
        if down:
            self.stats.bytes_down += len(data)
        else:
            self.stats.bytes_up += len(data)
        writer.write(data)
        try:
            await writer.drain()
        except (ConnectionError, OSError):
            return
