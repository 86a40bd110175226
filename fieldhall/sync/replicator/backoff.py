"""When to retry after a transient failure, and how long to wait first.

Exponential backoff with *equal jitter*: the n-th consecutive failure waits between half and
all of ``initial_delay * multiplier**(n-1)`` (capped at ``max_delay``). The fixed half keeps the
delay growing, so a struggling peer gets room; the random half spreads replicators that failed
together (a server restart drops every client at once) so they do not return in lockstep.
A peer's ``Retry-After`` (429, 503) is honoured when it asks for longer.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy", "retry_delay"]

_MAX_EXPONENT = 62  # 2.0**62 is finite; beyond that every delay is max_delay anyway


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_delay: float = 0.5
    """Seconds before the first retry (half of it guaranteed, half jitter)."""
    multiplier: float = 2.0
    max_delay: float = 60.0
    """Cap on one wait: a peer that has been down for an hour is retried every minute."""
    max_attempts: int | None = 10
    """Consecutive failed attempts before giving up (about three minutes with the defaults);
    ``None`` retries forever, as a continuous replication should. A batch that makes progress
    resets the count."""

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("delays must be >= 0 and the multiplier >= 1")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 or None")

    def gives_up(self, failures: int) -> bool:
        """Whether ``failures`` consecutive failures exhaust the policy."""
        return self.max_attempts is not None and failures > self.max_attempts

    def step(self, failures: int) -> float:
        """The full exponential step for the ``failures``-th consecutive failure (>= 1)."""
        exponent = min(max(failures - 1, 0), _MAX_EXPONENT)
        return min(self.max_delay, self.initial_delay * self.multiplier**exponent)


def retry_delay(
    policy: RetryPolicy, failures: int, jitter: float, retry_after: float | None = None
) -> float:
    """Seconds to wait after the ``failures``-th consecutive failure; ``jitter`` in [0, 1)."""
    step = policy.step(failures)
    delay = step / 2 + min(max(jitter, 0.0), 1.0) * step / 2
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_delay))
    return delay
