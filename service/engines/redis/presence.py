"""RedisPresenceManager: presence in Redis, compatible with Centrifugo v4
(docs/protocol.md#presence-and-joinleave, docs/redis.md#keys-and-scripts).

Per channel a HASH ``P.presence.data.<ch>`` (client ID → protobuf ``ClientInfo``) and a ZSET
``P.presence.expire.<ch>`` (client ID scored by expiry, unix seconds), both with
``EXPIRE presence_ttl``; every operation is one Lua script (atomic) on the channel's shard.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from service.core.engine import ClientInfo

from .broker import ttl_seconds
from .codec import Names, decode_info, encode_info
from .hashing import ShardRing
from .scripts import ADD_PRESENCE, PRESENCE, REMOVE_PRESENCE
from .shard import Shard


class RedisPresenceManager:
    """``PresenceManager`` over the broker's shards (the broker owns and closes them).

    * ``presence_ttl`` (> 0 s, Centrifugo default 60): an entry not refreshed by
      ``add_presence`` within that time is dropped by the next read.
    * ``clock``: unix seconds (as stored in the ZSET; inject a fake in tests).

    All methods raise ``EngineError`` when Redis fails or does not answer within io_timeout.
    """

    def __init__(
        self,
        *,
        shards: Sequence[Shard],
        prefix: str = "centrifugo",
        presence_ttl: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not presence_ttl > 0:
            raise ValueError(f"presence_ttl must be > 0, got {presence_ttl!r}")
        if not shards:
            raise ValueError("RedisPresenceManager needs at least one shard")
        self._shards = list(shards)
        self._ring = ShardRing(len(self._shards))
        self._names = [Names(prefix, shard.cluster) for shard in self._shards]
        self._ttl = ttl_seconds(presence_ttl)
        self._clock = clock

    def _route(self, channel: str) -> tuple[Shard, tuple[bytes, bytes]]:
        index = self._ring.index(channel)
        names = self._names[index]
        keys = (names.presence_expire_key(channel), names.presence_data_key(channel))
        return self._shards[index], keys

    async def add_presence(self, channel: str, client_id: str, info: ClientInfo) -> None:
        """ZADD expire-at + HSET info, EXPIRE both keys; also refreshes an existing entry."""
        shard, keys = self._route(channel)
        expire_at = int(self._clock()) + self._ttl
        await shard.script(ADD_PRESENCE, keys, (self._ttl, expire_at, client_id, encode_info(info)))

    async def remove_presence(self, channel: str, client_id: str) -> None:
        """HDEL + ZREM ``client_id`` (no error when absent)."""
        shard, keys = self._route(channel)
        await shard.script(REMOVE_PRESENCE, keys, (client_id,))

    async def presence(self, channel: str) -> dict[str, ClientInfo]:
        """Live entries, client ID → ClientInfo (expired ones are removed first)."""
        shard, keys = self._route(channel)
        flat = await shard.script(PRESENCE, keys, (int(self._clock()),))
        return {flat[i].decode(): decode_info(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}

    async def presence_stats(self, channel: str) -> tuple[int, int]:
        """(number of clients, number of distinct users; anonymous "" counts as one user)."""
        entries = await self.presence(channel)
        return len(entries), len({info.user for info in entries.values()})
