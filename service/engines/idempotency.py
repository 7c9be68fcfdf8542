"""Results of idempotent publishes kept in process memory (the memory engine; the NATS broker
per node): ``(channel, idempotency_key) -> result`` for ``idempotent_result_ttl`` seconds
(docs/beyond_v4.md#idempotent-publish).

The caller makes check-and-publish atomic: ``lookup`` then, when it missed, ``remember``
before anything awaits (and ``forget`` when the publish then fails).  Expired entries are
dropped on lookup and swept every ``_SWEEP_EVERY`` new entries, so memory stays bounded by the
keys of one window.
"""

from __future__ import annotations

from collections.abc import Callable

from service.core.engine import StreamPosition

__all__ = ["IdempotentResults"]

_SWEEP_EVERY = 1024


class IdempotentResults:
    """Remembered publish results; ``clock`` gives monotonic seconds."""

    __slots__ = ("_added", "_clock", "_entries")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, StreamPosition | None]] = {}
        self._added = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, channel: str, key: str) -> tuple[bool, StreamPosition | None]:
        """``(True, result)`` when a live result is remembered for (``channel``, ``key``),
        else ``(False, None)``."""
        entry = self._entries.get((channel, key))
        if entry is None:
            return False, None
        if entry[0] <= self._clock():
            del self._entries[(channel, key)]
            return False, None
        return True, entry[1]

    def remember(self, channel: str, key: str, result: StreamPosition | None, ttl: float) -> None:
        self._entries[(channel, key)] = (self._clock() + ttl, result)
        self._added += 1
        if self._added % _SWEEP_EVERY == 0:
            self.sweep()

    def forget(self, channel: str, key: str) -> None:
        """Drop what is remembered for (``channel``, ``key``): its publish failed."""
        self._entries.pop((channel, key), None)

    def sweep(self) -> int:
        """Drop expired entries; returns how many."""
        now = self._clock()
        expired = [k for k, (expires_at, _) in self._entries.items() if expires_at <= now]
        for k in expired:
            del self._entries[k]
        return len(expired)
