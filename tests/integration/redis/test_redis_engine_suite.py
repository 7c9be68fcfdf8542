"""The shared engine suite (``tests/engine_suite.py``) against every Redis topology:
standalone, client-side sharded over two servers, Sentinel and Cluster."""

from __future__ import annotations

import pytest

from service.core.engine import Broker, PresenceManager
from service.engines.redis import RedisShardConfig, build_redis_engine
from tests.engine_suite import EngineSuite, RecordingHandler
from tests.redis_fixtures import MASTER_NAME, RedisProcess, SentinelGroup


def _engine(*shards: RedisShardConfig) -> tuple[Broker, PresenceManager, RecordingHandler]:
    broker, presence = build_redis_engine(shards=shards, prefix="suite")
    return broker, presence, RecordingHandler()


class TestStandaloneRedisEngine(EngineSuite):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_server: RedisProcess) -> None:
        self.redis = redis_server

    async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
        return _engine(RedisShardConfig(address=self.redis.address))


class TestShardedRedisEngine(EngineSuite):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_pair: tuple[RedisProcess, RedisProcess]) -> None:
        self.pair = redis_pair

    async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
        return _engine(*(RedisShardConfig(address=f"redis://{p.address}/1") for p in self.pair))


class TestSentinelRedisEngine(EngineSuite):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_sentinel: SentinelGroup) -> None:
        self.group = redis_sentinel

    async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
        return _engine(
            RedisShardConfig(
                sentinel_addresses=(self.group.sentinel.address,),
                sentinel_master_name=MASTER_NAME,
            )
        )


class TestClusterRedisEngine(EngineSuite):
    @pytest.fixture(autouse=True)
    def _redis(self, redis_cluster: list[RedisProcess]) -> None:
        self.nodes = redis_cluster

    async def make_engine(self) -> tuple[Broker, PresenceManager, RecordingHandler]:
        return _engine(RedisShardConfig(cluster_addresses=(self.nodes[0].address,)))
