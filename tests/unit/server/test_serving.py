"""The servers fieldhall runs keep an idle connection open longer than HTTP clients reuse one,
so that a client's request on a connection it still considers alive never meets the
server's close (CI once failed the isolation test with "Server disconnected without sending
a response": httpx and uvicorn both gave up on idle connections at 5 s)."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx

from fieldhall.server.serving import serve_in_thread, uvicorn_config
from tests.servers import free_port

CLIENT_KEEPALIVE_S = httpx.Limits().keepalive_expiry  # httpx's default, 5 s


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _exchange(sock: socket.socket) -> bytes:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    reply = b""
    while not reply.endswith(b"\r\n\r\nok"):
        chunk = sock.recv(4096)
        if not chunk:
            return reply  # the server closed the connection
        reply += chunk
    return reply


def test_an_idle_connection_outlives_the_clients_keep_alive() -> None:
    assert CLIENT_KEEPALIVE_S is not None
    port = free_port()
    with (
        serve_in_thread(uvicorn_config(hello, "127.0.0.1", port, lifespan="off")),
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
    ):
        assert _exchange(sock).startswith(b"HTTP/1.1 200")
        time.sleep(CLIENT_KEEPALIVE_S + 0.5)
        assert _exchange(sock).startswith(b"HTTP/1.1 200")
