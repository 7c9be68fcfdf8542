"""On the Redis engine too, closed connections leave nothing behind, in the node or in Redis.

The churn of tests/integration/transports/test_nothing_left_behind.py (day-long tokens and
subscription expiries, every close cause) on a private Redis: afterwards the node's
registries and objects are back to their size before, and so are Redis's PUB/SUB
subscriptions of client channels and the presence entries of the channels used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.transports.clients import TRANSPORTS, leftovers_after_churn
from tests.integration.transports.harness import running
from tests.redis_fixtures import RedisFactory, RedisProcess


def redis_sizes(server: RedisProcess) -> dict[str, int]:
    channels = server.command("PUBSUB", "CHANNELS", "centrifugo.client.*")
    keys = server.command("KEYS", "centrifugo.presence.data.*")
    entries = sum(int(server.command("HLEN", k)) for k in keys)
    return {"redis.pubsub_channels": len(channels), "redis.presence_entries": entries}


@pytest.mark.parametrize("name", ["websocket", "sse", "uni_http_stream"])
async def test_redis_engine_leaves_nothing_behind(
    tmp_path: Path, redis_factory: RedisFactory, name: str
) -> None:
    redis = redis_factory.server()
    async with running(
        tmp_path, engine="redis", redis_address=[f"redis://{redis.address}"], prometheus=True
    ) as h:
        assert await leftovers_after_churn(h, TRANSPORTS[name], lambda: redis_sizes(redis)) == {}
