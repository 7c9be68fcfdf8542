"""Redis engine: ``RedisBroker`` + ``RedisPresenceManager`` sharing a Redis with Centrifugo v4
nodes (docs/redis.md): standalone, client-side sharded, Sentinel or Cluster.

Build it with ``build_redis_engine(shards=shard_configs(...), prefix=..., presence_ttl=...)``.
"""

from ..tls import TLSOptions
from .broker import RedisBroker
from .factory import build_redis_engine, build_shard
from .options import Address, RedisShardConfig, parse_address, shard_configs
from .presence import RedisPresenceManager

__all__ = [
    "Address",
    "RedisBroker",
    "RedisPresenceManager",
    "RedisShardConfig",
    "TLSOptions",
    "build_redis_engine",
    "build_shard",
    "parse_address",
    "shard_configs",
]
