"""``build_redis_engine``: shard configs → a started-on-demand broker + presence manager."""

from __future__ import annotations

from collections.abc import Sequence

from .broker import RedisBroker
from .cluster import ClusterShard
from .options import RedisShardConfig
from .presence import RedisPresenceManager
from .shard import Shard, StandaloneShard


def build_shard(config: RedisShardConfig) -> Shard:
    """A ``ClusterShard`` for cluster seeds, else a ``StandaloneShard`` (address or Sentinel)."""
    return ClusterShard(config) if config.cluster_addresses else StandaloneShard(config)


def build_redis_engine(
    *,
    shards: Sequence[RedisShardConfig],
    prefix: str = "centrifugo",
    presence_ttl: float = 60.0,
    ping_interval: float = 1.0,
    backoff_max: float = 2.0,
) -> tuple[RedisBroker, RedisPresenceManager]:
    """Build the Redis engine over ``shards`` (several → client-side sharding,
    docs/redis.md#sharding).

    Nothing connects until ``broker.start`` (PUB/SUB) or the first command.  The broker owns
    the shard connections: ``broker.close()`` closes them for both objects.
    ``prefix`` is Centrifugo's ``redis_prefix``; ``presence_ttl`` its ``presence_ttl`` (s).
    """
    if not shards:
        raise ValueError("at least one Redis shard is required")
    built = [build_shard(config) for config in shards]
    io_timeout = max(config.io_timeout for config in shards)
    start_timeout = max(config.connect_timeout + config.io_timeout for config in shards)
    broker = RedisBroker(
        shards=built,
        prefix=prefix,
        io_timeout=io_timeout,
        start_timeout=start_timeout,
        ping_interval=ping_interval,
        backoff_max=backoff_max,
    )
    presence = RedisPresenceManager(shards=built, prefix=prefix, presence_ttl=presence_ttl)
    return broker, presence
