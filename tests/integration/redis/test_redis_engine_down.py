"""What clients see while Redis is down, beyond the broker's own failure tests
(test_redis_failures.py): a client leaving a channel is answered as done, as in v4."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.transports.harness import running, token
from tests.redis_fixtures import RedisFactory

NAMESPACE = {
    "name": "room",
    "allow_subscribe_for_client": True,
    "presence": True,
    "join_leave": True,
}


async def _command(ws: aiohttp.ClientWebSocketResponse, cmd: dict[str, Any]) -> dict[str, Any]:
    await ws.send_str(json.dumps(cmd))
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        for line in msg.data.split("\n"):
            reply: dict[str, Any] = json.loads(line)
            if reply.get("id") == cmd["id"]:
                return reply


async def test_unsubscribe_while_redis_is_down_is_answered_as_done(
    tmp_path: Path, redis_factory: RedisFactory
) -> None:
    """The presence entry cannot be removed and the leave cannot be published: v4 logs that
    and answers the unsubscribe; an error reply would make centrifuge-js drop the whole
    connection (its ``unsubscribe error`` reconnect)."""
    redis = redis_factory.server()
    async with (
        running(
            tmp_path,
            engine="redis",
            redis_address=[f"redis://{redis.address}"],
            redis_io_timeout="500ms",
            namespaces=[NAMESPACE],
        ) as h,
        h.http.ws_connect(f"ws://127.0.0.1:{h.port}/connection/websocket") as ws,
    ):
        assert "connect" in await _command(ws, {"id": 1, "connect": {"token": token("u1")}})
        assert "subscribe" in await _command(ws, {"id": 2, "subscribe": {"channel": "room:1"}})
        redis.stop()
        reply = await _command(ws, {"id": 3, "unsubscribe": {"channel": "room:1"}})
        assert reply == {"id": 3, "unsubscribe": {}}
        assert h.server.node.hub.num_subscribers("room:1") == 0
        assert not ws.closed
