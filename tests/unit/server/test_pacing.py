"""``IngestPacer``: background work waits for a quiet door, but never for long, and under a
sustained burst takes no more than its share of the time.

A fake clock and a fake stop event whose ``wait`` advances it, replaying device writes on
the way: no sleeping, and every wait is counted."""

from __future__ import annotations

import itertools

import pytest

from fieldhall.field_app_api.service import FIELD_DB
from fieldhall.server.pacing import IngestPacer
from fieldhall.sync.policy import Principal

QUIET, MAX_DEFER, SHARE = 0.5, 3.0, 0.2
DEVICE = Principal("device-1", context={"device": object()})


class Door:
    """The fake time, the device writes due at given instants, and the pacer's stop event."""

    def __init__(self, writes: list[float], stop_at: float | None = None) -> None:
        self.now = 0.0
        self.writes = sorted(writes)
        self.stop_at = stop_at
        self.waits: list[float] = []
        self.pacer = IngestPacer(
            quiet=QUIET, max_defer=MAX_DEFER, share=SHARE, clock=lambda: self.now
        )
        self._advance(0.0)

    def is_set(self) -> bool:
        return self.stop_at is not None and self.now >= self.stop_at

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None and timeout > 0
        self.waits.append(timeout)
        end = self.now + timeout
        if self.stop_at is not None:
            end = min(end, max(self.now, self.stop_at))
        self._advance(end)
        return self.is_set()

    def _advance(self, until: float) -> None:
        while self.writes and self.writes[0] <= until:
            self.now = self.writes.pop(0)
            self.pacer.device_wrote()
        self.now = until


def burst(start: float, stop: float, every: float = 0.1) -> list[float]:
    count = round((stop - start) / every)
    return [start + i * every for i in range(count + 1)]


def test_work_starts_at_once_when_no_device_writes() -> None:
    door = Door([])
    assert door.pacer.wait_turn(door) == 0.0
    assert door.waits == []
    assert not door.pacer.ingesting()


def test_work_waits_for_a_burst_to_end_and_the_quiet_period() -> None:
    door = Door(burst(0.0, 1.2))
    assert door.pacer.ingesting()
    waited = door.pacer.wait_turn(door)
    assert waited == pytest.approx(1.2 + QUIET)
    assert not door.pacer.ingesting()


def test_a_sustained_burst_defers_work_by_max_defer_only() -> None:
    door = Door(burst(0.0, 100.0))
    for turn in range(3):  # each batch of a pass waits at most MAX_DEFER
        start = door.now
        assert door.pacer.wait_turn(door) == pytest.approx(MAX_DEFER)
        assert door.now == pytest.approx(start + MAX_DEFER)
        assert door.pacer.ingesting(), turn
        door.wait(0.7)  # the batch runs meanwhile
    # The pacer sleeps until the quiet period would end, not in busy little steps.
    assert len(door.waits) < 3 * (MAX_DEFER / QUIET + 2)


def test_a_write_during_the_wait_extends_it_but_not_past_the_bound() -> None:
    door = Door([0.0, 0.4, 0.8, 2.9])
    assert door.pacer.wait_turn(door) == pytest.approx(0.8 + QUIET)
    door = Door([0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 2.95])
    assert door.pacer.wait_turn(door) == pytest.approx(MAX_DEFER)


def test_stopping_ends_the_wait() -> None:
    door = Door(burst(0.0, 10.0), stop_at=1.0)
    assert door.pacer.wait_turn(door) == pytest.approx(1.0)


@pytest.mark.parametrize(("since", "now", "expected"), [(0.0, 0.1, 0.4), (0.0, 2.9, 0.1)])
def test_delay_is_the_sooner_of_quiet_and_the_bound(
    since: float, now: float, expected: float
) -> None:
    clock = [now - 0.1]
    pacer = IngestPacer(quiet=QUIET, max_defer=MAX_DEFER, clock=lambda: clock[0])
    pacer.device_wrote()  # a tenth of a second ago
    clock[0] = now
    assert pacer.delay(since) == pytest.approx(expected)


def _turns(door: Door, lengths: list[float]) -> list[tuple[float, float]]:
    """Run turns of the given lengths (the work advances the fake clock); their spans."""
    spans = []
    for length in lengths:
        with door.pacer.turn(door):
            start = door.now
            door.wait(length)
        spans.append((start, door.now))
    return spans


def test_under_a_sustained_burst_turns_take_their_share_of_the_time() -> None:
    door = Door(burst(0.0, 200.0))
    spans = _turns(door, [2.0] * 5)
    assert spans[0][0] == pytest.approx(MAX_DEFER)  # the first waits for the bound only
    rest = 2.0 * (1 - SHARE) / SHARE  # 8 s after each 2-second turn
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start - end == pytest.approx(rest)
    worked = sum(end - start for start, end in spans)
    cycle = spans[-1][1] + rest - spans[0][0]  # each turn and its rest
    assert worked / cycle == pytest.approx(SHARE)


def test_a_short_turn_is_followed_by_the_bound_not_by_less() -> None:
    door = Door(burst(0.0, 200.0))
    spans = _turns(door, [0.1, 0.1])  # a rest of 0.4 s: shorter than MAX_DEFER
    assert spans[1][0] - spans[0][1] == pytest.approx(MAX_DEFER)


def test_the_rest_ends_when_the_door_goes_quiet() -> None:
    door = Door(burst(0.0, 6.0))
    first, second = _turns(door, [2.0, 1.0])
    assert first == (pytest.approx(MAX_DEFER), pytest.approx(MAX_DEFER + 2.0))
    assert second[0] == pytest.approx(6.0 + QUIET)  # not after the 8-second rest
    assert not door.pacer.ingesting()


def test_a_device_write_in_flight_keeps_the_door_busy_however_long_it_takes() -> None:
    clock = [0.0]
    pacer = IngestPacer(quiet=QUIET, max_defer=MAX_DEFER, clock=lambda: clock[0])
    pacer.on_write(FIELD_DB, DEVICE, True)
    clock[0] = 20.0  # a slow batch: no write has ended for 20 s
    assert pacer.ingesting()
    assert pacer.delay(clock[0]) == pytest.approx(QUIET)  # re-checked a quiet period later
    assert pacer.delay(clock[0] - MAX_DEFER) == 0.0  # but the bound holds
    pacer.on_write(FIELD_DB, DEVICE, False)
    clock[0] += QUIET
    assert not pacer.ingesting()


def test_overlapping_writes_keep_the_door_busy_until_the_last_ends() -> None:
    clock = [0.0]
    pacer = IngestPacer(quiet=QUIET, max_defer=MAX_DEFER, clock=lambda: clock[0])
    pacer.on_write(FIELD_DB, DEVICE, True)
    pacer.on_write(FIELD_DB, DEVICE, True)
    pacer.on_write(FIELD_DB, DEVICE, False)
    clock[0] = 10.0
    assert pacer.ingesting()
    pacer.on_write(FIELD_DB, DEVICE, False)
    clock[0] = 10.0 + QUIET
    assert not pacer.ingesting()


@pytest.mark.parametrize("share", [0.0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        IngestPacer(share=share)
