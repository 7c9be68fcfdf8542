"""MemoryPresenceManager: in-process presence with per-entry TTL
(docs/protocol.md#presence-and-joinleave, docs/redis.md#keys-and-scripts).

Same semantics as the Redis presence (HASH + ZSET of expiry times): an entry lives
``presence_ttl`` seconds after its last ``add_presence``; reads drop expired entries first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from service.core.engine import ClientInfo


class MemoryPresenceManager:
    """``PresenceManager`` keeping channel → {client_id: (ClientInfo, expires_at)} in memory.

    * ``presence_ttl`` (> 0 seconds, Centrifugo default 60): an entry not refreshed by
      ``add_presence`` within that time is gone (expired when ``now >= added + ttl``).
    * ``clock``: monotonic seconds (inject a fake in tests).

    Expiry is checked lazily on ``presence``/``presence_stats``; in addition ``add_presence``
    purges every channel at most once per ``presence_ttl`` (amortised O(1)) so channels that are
    never read do not keep stale entries forever.  No task or timer is used.  Returned
    ``ClientInfo`` objects are the stored ones: treat them as read-only.
    """

    __slots__ = ("_channels", "_clock", "_next_purge", "_ttl")

    def __init__(
        self, *, presence_ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not presence_ttl > 0:
            raise ValueError(f"presence_ttl must be > 0, got {presence_ttl!r}")
        self._ttl = presence_ttl
        self._clock = clock
        self._channels: dict[str, dict[str, tuple[ClientInfo, float]]] = {}
        self._next_purge = clock() + presence_ttl

    async def presence(self, channel: str) -> dict[str, ClientInfo]:
        """Live entries of ``channel`` as a new dict client_id → ClientInfo ({} if none)."""
        entries = self._live(channel, self._clock())
        if entries is None:
            return {}
        return {client_id: info for client_id, (info, _) in entries.items()}

    async def presence_stats(self, channel: str) -> tuple[int, int]:
        """(number of live clients, number of distinct ``user`` values, anonymous "" included)."""
        entries = self._live(channel, self._clock())
        if entries is None:
            return 0, 0
        return len(entries), len({info.user for info, _ in entries.values()})

    async def add_presence(self, channel: str, client_id: str, info: ClientInfo) -> None:
        """Insert or replace ``client_id``'s entry and restart its TTL."""
        now = self._clock()
        entries = self._channels.get(channel)
        if entries is None:
            entries = self._channels[channel] = {}
        entries[client_id] = (info, now + self._ttl)
        if now >= self._next_purge:
            self.purge_expired()

    async def remove_presence(self, channel: str, client_id: str) -> None:
        """Remove ``client_id``'s entry; unknown channels or clients are ignored."""
        entries = self._channels.get(channel)
        if entries is None:
            return
        entries.pop(client_id, None)
        if not entries:
            del self._channels[channel]

    def num_entries(self) -> int:
        """Entries held (expired ones included until purged or read)."""
        return sum(len(entries) for entries in self._channels.values())

    def purge_expired(self) -> int:
        """Drop expired entries of every channel now; return how many were dropped."""
        now = self._clock()
        self._next_purge = now + self._ttl
        dropped = 0
        for channel in list(self._channels):
            before = len(self._channels[channel])
            remaining = self._live(channel, now)
            dropped += before - (len(remaining) if remaining is not None else 0)
        return dropped

    def _live(self, channel: str, now: float) -> dict[str, tuple[ClientInfo, float]] | None:
        """The channel's entries after dropping expired ones; None (and removed) when empty."""
        entries = self._channels.get(channel)
        if entries is None:
            return None
        expired = [cid for cid, (_, expires_at) in entries.items() if now >= expires_at]
        for client_id in expired:
            del entries[client_id]
        if not entries:
            del self._channels[channel]
            return None
        return entries
