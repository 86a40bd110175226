"""A running hall with two enrolled devices (bob and chelsea) for the upload tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fieldhall.field_app_api.client import DeviceClient
from tests.field_fixtures import Hall, running_hall

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    with running_hall(tmp_path_factory.mktemp("uploads") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def bob(hall: Hall, tmp_path_factory: pytest.TempPathFactory) -> DeviceClient:
    """Bob, a grid agent with an enrolled phone."""
    return hall.enroll("bob", tmp=tmp_path_factory.mktemp("bob"))


@pytest.fixture(scope="module")
def chelsea(hall: Hall, tmp_path_factory: pytest.TempPathFactory) -> DeviceClient:
    """Chelsea, another grid agent: none of bob's uploads are hers."""
    return hall.enroll("chelsea", tmp=tmp_path_factory.mktemp("chelsea"))


def tus_client(hall: Hall, device: DeviceClient | None) -> httpx.Client:
    headers = dict(TUS)
    if device is not None:
        headers["Authorization"] = f"Bearer {device.state.token}"
    return httpx.Client(base_url=hall.url, headers=headers, timeout=30.0)


def blob_bytes(data_dir: Path, sha256: str) -> bytes:
    return (data_dir / "blobs" / "sha256" / sha256[:2] / sha256[2:4] / sha256).read_bytes()
