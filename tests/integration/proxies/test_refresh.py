"""Server-side refresh edge cases, in-process (docs/proxy.md#server-side-refresh): a failed
call extends by 60 s, ``expire_at`` 0 ends a connection but frees a subscription, an error
answer counts as expired, and the connection's state follows each answer (the session is
inspected directly).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.core.client import ClientSession
from tests.integration.transports.harness import TIMEOUT, Harness, running, token, wait_for
from tests.proxy_backends import HttpBackend, Status


@pytest.fixture
async def backend() -> AsyncIterator[HttpBackend]:
    b = await HttpBackend().start()
    yield b
    await b.stop()


def session(h: Harness) -> ClientSession:
    [client] = h.server.node.hub.conns.values()
    return client


async def ws_client(h: Harness, tok: str = "") -> Any:
    ws = await h.http.ws_connect(h.base + "/connection/websocket")
    await ws.send_str(json.dumps({"id": 1, "connect": {"token": tok} if tok else {}}))
    reply = json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)
    assert "connect" in reply, reply
    return ws


async def next_message(ws: Any) -> Any:
    """The next message that is not a server ping (``{}``, answered with a pong)."""
    while True:
        msg = json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)
        if msg != {}:
            return msg
        await ws.send_str("{}")


async def closed_with(ws: Any) -> int:
    while True:
        msg = await asyncio.wait_for(ws.receive(), TIMEOUT)
        if msg.type.name in ("CLOSE", "CLOSED", "CLOSING"):
            return int(msg.data)


async def test_connection_refresh_answers(tmp_path: Path, backend: HttpBackend) -> None:
    answers = iter([Status(500), {"result": {"expire_at": 0}}])
    backend.answer(
        "connect", lambda call: {"result": {"user": "u", "expire_at": int(time.time()) + 1}}
    )
    backend.answer("refresh", lambda call: next(answers))
    cfg = {
        "proxy_connect_endpoint": backend.url("connect"),
        "proxy_refresh_endpoint": backend.url("refresh"),
    }
    async with running(tmp_path, **cfg) as h:
        ws = await ws_client(h)
        await backend.wait("refresh", 1)
        # a failure: 60 more seconds
        await wait_for(lambda: session(h).expire_at >= int(time.time()) + 55)
        assert not ws.closed
        # next answer: expire_at 0 keeps the reached expiry -> 3005 (as Centrifugo v4)
        client = session(h)
        client.expire_at = int(time.time())
        client.schedule_expiry_check()
        assert await closed_with(ws) == 3005
        await ws.close()


async def test_subscription_refresh_answers(tmp_path: Path, backend: HttpBackend) -> None:
    """sub_refresh: a failure extends by 60 s, ``expire_at`` 0 makes the subscription
    permanent, an error answer is expiry (2501)."""
    answers = iter(
        [Status(500), {"result": {"expire_at": 0}}, {"error": {"code": 1403, "message": "no"}}]
    )
    backend.answer("sub_refresh", lambda call: next(answers))
    ns = {"name": "sr", "proxy_sub_refresh": True}
    cfg = {
        "proxy_sub_refresh_endpoint": backend.url("sub_refresh"),
        "namespaces": [ns],
        "client_expired_sub_close_delay": "0s",
    }
    async with running(tmp_path, **cfg) as h:
        ws = await ws_client(h, token("u"))
        sub_tok = token("u", channel="sr:1", exp=int(time.time()) + 1)
        await ws.send_str(json.dumps({"id": 2, "subscribe": {"channel": "sr:1", "token": sub_tok}}))
        reply = await next_message(ws)
        assert reply == {"id": 2, "subscribe": {}}  # no expires: the server refreshes
        sub = session(h).subs["sr:1"]
        await backend.wait("sub_refresh", 1)
        await wait_for(lambda: sub.options.expire_at >= int(time.time()) + 55)
        client = session(h)
        sub.options.expire_at = int(time.time()) - 1
        client.schedule_sub_expiry_check(sub)
        await backend.wait("sub_refresh", 2)
        await wait_for(lambda: sub.options.expire_at == 0)  # never expires again
        sub.options.expire_at = int(time.time()) - 1
        client.schedule_sub_expiry_check(sub)
        push = await next_message(ws)
        assert push == {
            "push": {
                "channel": "sr:1",
                "unsubscribe": {"code": 2501, "reason": "subscription expired"},
            }
        }
        assert "sr:1" not in client.subs
        await ws.close()
