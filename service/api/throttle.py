"""A token bucket per key (a client address) with bounded memory: ``/admin/auth`` attempts."""

from __future__ import annotations

import time
from collections.abc import Callable


class KeyedRateLimit:
    """At most ``burst`` events at once per key, refilled at ``rate`` per second.

    At most ``max_keys`` keys are remembered: when full, keys whose bucket has refilled are
    forgotten; if none has, a new key is refused (so a flood from many addresses cannot grow
    memory, and cannot reset the budget of the addresses already seen).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_keys: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def allow(self, key: str) -> bool:
        """Take one token of ``key``'s bucket; False when it is empty."""
        now = self._clock()
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            full = [k for k in self._buckets if self._tokens(k, now) >= self.burst]
            for k in full:
                del self._buckets[k]
            if len(self._buckets) >= self.max_keys:
                return False
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True
