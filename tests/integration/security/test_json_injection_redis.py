"""Issue 13.1 with the Redis engine: publications read back from Redis (history, PUB/SUB
intake) are checked there, where they enter, and never reach a JSON client raw."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from tests.integration.transports.harness import running, token

from .test_json_injection import FORGED, pb_publisher
from .wsclients import JsonWS


async def test_history_and_live_from_redis(tmp_path: Path, redis_server: Any) -> None:
    redis = {
        "engine": "redis",
        "redis_address": [redis_server.address],
        "redis_prefix": f"sec{uuid.uuid4().hex[:8]}",
    }
    async with running(tmp_path, **redis) as h:
        live = await JsonWS.connected(h.http, h.base, token("bob"))
        await live.command(subscribe={"channel": "news:redis"})
        pb = await pb_publisher(h)
        await pb.publish("news:redis", FORGED)
        assert await live.closed() == 3506  # PUB/SUB intake
        js = await JsonWS.connected(h.http, h.base, token("alice"))
        await js.ws.send_str(
            json.dumps({"id": 7, "history": {"channel": "news:redis", "limit": 5}})
        )
        assert await js.closed() == 3506  # history read from Redis
        assert not any("admin" in f for f in js.frames + live.frames)
