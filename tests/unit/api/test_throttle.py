"""KeyedRateLimit: per-key buckets, refill, bounded memory."""

from __future__ import annotations

from service.api.throttle import KeyedRateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_per_key() -> None:
    clock = Clock()
    lim = KeyedRateLimit(rate=0.5, burst=2, clock=clock)
    assert [lim.allow("a") for _ in range(3)] == [True, True, False]
    assert lim.allow("b")  # another key has its own bucket
    clock.now += 2.0  # one token back
    assert lim.allow("a") and not lim.allow("a")


def test_memory_is_bounded_and_seen_keys_keep_their_budget() -> None:
    clock = Clock()
    lim = KeyedRateLimit(rate=1.0, burst=1, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        assert lim.allow(key)
    assert not lim.allow("d")  # full of keys whose buckets are still empty: refused
    assert not lim.allow("a")  # and a flood does not reset "a"
    clock.now += 5.0  # every bucket refilled: forgotten to make room
    assert lim.allow("d")
    assert len(lim._buckets) <= 3
