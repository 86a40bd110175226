"""Fixtures for the HTTP integration suite: a client of the module's shared server and a
fresh database per test (so tests of one module never see each other's documents)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import CouchServer


@pytest.fixture
def client(shared_couch: CouchServer) -> Iterator[httpx.Client]:
    """The admin's client of the module's shared server."""
    with shared_couch.client() as http:
        yield http


@pytest.fixture
def db(client: httpx.Client) -> str:
    """A new, empty database on the shared server."""
    name = "db-" + uuid.uuid4().hex[:16]
    response = client.put(f"/{name}")
    assert response.status_code == 201, response.text
    return name
