"""Exponential backoff with equal jitter; Retry-After honoured; a bounded or endless budget."""

from __future__ import annotations

import random

import pytest

from fieldhall.sync.replicator import RetryPolicy
from fieldhall.sync.replicator.backoff import retry_delay


def test_delays_double_within_half_and_full_step() -> None:
    policy = RetryPolicy(initial_delay=1.0, multiplier=2.0, max_delay=100.0)
    for failures, step in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0)]:
        assert retry_delay(policy, failures, 0.0) == step / 2
        assert retry_delay(policy, failures, 0.999999) == pytest.approx(step, rel=1e-5)


def test_capped_and_no_overflow() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=30.0)
    assert retry_delay(policy, 10, 1.0) == 30.0
    assert retry_delay(policy, 10_000, 0.5) == 22.5


def test_jitter_spreads_clients_that_failed_together() -> None:
    policy = RetryPolicy(initial_delay=1.0)
    rng = random.Random(1)
    delays = {round(retry_delay(policy, 4, rng.random()), 3) for _ in range(50)}
    assert len(delays) > 40 and min(delays) >= 4.0 and max(delays) <= 8.0


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_delay=0.1, max_delay=10.0)
    assert retry_delay(policy, 1, 0.0, retry_after=3.0) == 3.0
    assert retry_delay(policy, 1, 0.0, retry_after=3600.0) == 10.0
    assert retry_delay(policy, 5, 0.0, retry_after=0.0) == 0.8


def test_attempt_budget() -> None:
    bounded = RetryPolicy(max_attempts=3)
    assert [bounded.gives_up(n) for n in (1, 2, 3, 4)] == [False, False, False, True]
    assert not RetryPolicy(max_attempts=None).gives_up(10**9)
    assert RetryPolicy(max_attempts=0).gives_up(1)


def test_invalid_policies() -> None:
    for kwargs in ({"initial_delay": -1}, {"multiplier": 0.5}, {"max_attempts": -1}):
        with pytest.raises(ValueError):
            RetryPolicy(**kwargs)  # type: ignore[arg-type]
