"""``client_connection_limit`` and ``client_connection_rate_limit`` (HTTP 503 when exceeded)."""

from __future__ import annotations

import time
from collections.abc import Callable


class ConnectionLimiter:
    """Checks a new client connection against the node-wide count and a per-second rate."""

    def __init__(
        self,
        *,
        limit: int,
        rate: int,
        count: Callable[[], int],
        on_limit: Callable[[], None] | None = None,
    ) -> None:
        self.on_limit = on_limit  # called when client_connection_limit refuses a connection
        self.limit = limit
        self.rate = rate
        self.count = count
        self._tokens = float(rate)
        self._last = time.monotonic()

    def allow(self) -> bool:
        if self.limit > 0 and self.count() >= self.limit:
            if self.on_limit is not None:
                self.on_limit()
            return False
        if self.rate > 0:
            now = time.monotonic()
            self._tokens = min(float(self.rate), self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
        return True
