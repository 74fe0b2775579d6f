"""The relay's reconnect backoff (backends.jmap.push_relay): doubling from
BACKOFF_FIRST_SECONDS, bounded by BACKOFF_MAX_SECONDS, each wait drawn from the
upper half of its step so that relays of many accounts do not retry in step."""
from __future__ import annotations

from backends.jmap.push_relay import BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS, backoff_next, backoff_wait


def test_steps_double_up_to_the_bound() -> None:
    steps = [BACKOFF_FIRST_SECONDS]
    for _ in range(20):
        steps.append(backoff_next(steps[-1]))
    assert steps[:4] == [BACKOFF_FIRST_SECONDS * factor for factor in (1, 2, 4, 8)]
    assert max(steps) == BACKOFF_MAX_SECONDS and steps[-1] == BACKOFF_MAX_SECONDS


def test_waits_are_jittered_within_the_upper_half_of_the_step() -> None:
    waits = [backoff_wait(8.0) for _ in range(200)]
    assert all(4.0 <= wait <= 8.0 for wait in waits)
    assert len(set(waits)) > 1
