"""One running hall per test module, and its people: bob, a grid agent of grid-a with two
devices; dora, a grid agent of grid-b."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldhall.field_app_api.client import DeviceClient
from tests.field.support import FieldHall, field_hall


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FieldHall]:
    with field_hall(tmp_path_factory.mktemp("hall")) as running:
        yield running


@pytest.fixture(scope="module")
def bob(hall: FieldHall) -> DeviceClient:
    return hall.enroll("王建国", grid="grid-a")


@pytest.fixture(scope="module")
def bob_tablet(hall: FieldHall, bob: DeviceClient) -> DeviceClient:
    """bob's second device."""
    return hall.enroll_again(bob.state.agent_id, "王建国的平板")


@pytest.fixture(scope="module")
def dora(hall: FieldHall) -> DeviceClient:
    return hall.enroll("李秀英", grid="grid-b")
