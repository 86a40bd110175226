"""Answers a peer may give besides success: 5xx and 429 are retried (with backoff, resuming
from the checkpoint); a source without ``_bulk_get`` is read with ``open_revs``; a ``_bulk_docs``
too large for the target is split; a failure that never ends gives up with one line."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from fieldhall.sync.replicator import (
    Replication,
    RetryPolicy,
    State,
    TransientError,
    replicate,
)
from tests.servers import CouchServer

from .conftest import FAST_RETRY
from .dataset import assert_same, load, make_dataset, snapshot


class Injected(httpx.AsyncBaseTransport):
    """A real transport, except for requests whose ``METHOD path`` matches a rule: those get
    the rule's statuses, one per matching request, then pass through (``forever``: always)."""

    def __init__(self, rules: list[tuple[str, list[int]]], *, forever: bool = False) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.rules = [(re.compile(pattern), statuses) for pattern, statuses in rules]
        self.forever = forever
        self.injected: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        line = f"{request.method} {request.url.path}"
        for pattern, statuses in self.rules:
            if pattern.search(line) and statuses:
                status = statuses[0] if self.forever else statuses.pop(0)
                self.injected.append(f"{status} {line}")
                headers = {"retry-after": "0"} if status == 429 else {}
                return httpx.Response(
                    status, json={"error": "injected", "reason": "test"}, headers=headers
                )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _copy(
    a: CouchServer, b: CouchServer, db: str, transport: httpx.AsyncBaseTransport, **kw: object
) -> object:
    rep = Replication.between(f"{a.auth_url}/{db}", f"{b.auth_url}/{db}", create_target=True, **kw)  # type: ignore[arg-type]
    return asyncio.run(replicate(rep, transport=transport))


def test_server_errors_and_throttling_are_retried(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    dataset = make_dataset(120, 6, seed=61)
    transport = Injected(
        [
            (r"POST /http5xx/_bulk_docs", [503, 500]),
            (r"POST /http5xx/_revs_diff", [429]),
            (r"GET /http5xx/_changes", [502]),
            (r"POST /http5xx/_bulk_get", [504]),
            (r"PUT /http5xx/_local/", [503]),
        ]
    )
    with a.client() as source, b.client() as target:
        load(source, "http5xx", dataset)
        progress = _copy(a, b, "http5xx", transport, batch_size=40, retry=FAST_RETRY)
        assert progress.state is State.COMPLETED  # type: ignore[attr-defined]
        assert progress.retries == len(transport.injected) == 6  # type: ignore[attr-defined]
        assert_same(snapshot(source, "http5xx"), snapshot(target, "http5xx"))


def test_source_without_bulk_get_is_read_with_open_revs(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    dataset = make_dataset(150, 10, seed=62, conflict_rate=0.2)
    transport = Injected([(r"POST /nobulk/_bulk_get", [405])], forever=True)
    with a.client() as source, b.client() as target:
        load(source, "nobulk", dataset)
        progress = _copy(a, b, "nobulk", transport, batch_size=50)
        assert progress.state is State.COMPLETED and progress.retries == 0  # type: ignore[attr-defined]
        assert len(transport.injected) == 1  # asked once, then remembered
        assert_same(snapshot(source, "nobulk"), snapshot(target, "nobulk"))


def test_too_large_bulk_docs_are_split(couch_pair: tuple[CouchServer, CouchServer]) -> None:
    a, b = couch_pair
    dataset = make_dataset(64, 0, seed=63)
    transport = Injected([(r"POST /split/_bulk_docs", [413, 413, 413])])
    with a.client() as source, b.client() as target:
        load(source, "split", dataset)
        progress = _copy(a, b, "split", transport, batch_size=100)
        assert progress.stats.doc_write_failures == 0 and progress.retries == 0  # type: ignore[attr-defined]
        assert_same(snapshot(source, "split"), snapshot(target, "split"))


def test_a_failure_that_never_ends_gives_up_with_one_line(
    couch_pair: tuple[CouchServer, CouchServer],
) -> None:
    a, b = couch_pair
    transport = Injected([(r"POST /down/_revs_diff", [503])], forever=True)
    with a.client() as source:
        source.put("/down")
        source.put("/down/x", json={})
        with pytest.raises(TransientError) as info:
            _copy(
                a,
                b,
                "down",
                transport,
                retry=RetryPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3),
            )
    assert len(transport.injected) == 4
    assert "\n" not in str(info.value) and "503" in str(info.value)
