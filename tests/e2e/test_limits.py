"""Connection/channel limits and the origin check."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from centrifuge import ClientState

from .conftest import server_fixture
from .helpers import RawWS, SubEvents, token, uid
from .server import base_config

CONFIG = base_config(
    client_user_connection_limit=2,
    client_channel_limit=3,
    allowed_origins=["http://good.example", "https://*.trusted.example"],
    namespaces=[{"name": "chat", "allow_subscribe_for_client": True}],
)
server = server_fixture(CONFIG, "limits")


async def test_user_connection_limit_3504(server: Any, clients: Any) -> None:
    user = uid()
    first, _ = clients(server, user)
    second, _ = clients(server, user)
    await first.connect()
    await first.ready()
    await second.connect()
    await second.ready()
    third, ev = clients(server, user)
    await third.connect()
    ctx = await ev.wait("disconnected")
    assert (ctx.code, ctx.reason) == (3504, "connection limit")
    assert first.state == second.state == ClientState.CONNECTED
    # another user is not affected
    other, _ = clients(server, uid())
    await other.connect()
    await other.ready()


async def test_server_side_channel_limit_3505(server: Any, clients: Any) -> None:
    user = uid()
    channels = [f"chat:{i}" for i in range(4)]
    c, ev = clients(server, user, token=token(user, channels=channels))
    await c.connect()
    ctx = await ev.wait("disconnected")
    assert (ctx.code, ctx.reason) == (3505, "channel limit")

    ok, ev_ok = clients(server, uid(), token=token(uid(), channels=channels[:3]))
    await ok.connect()
    await ok.ready()
    assert {s.channel for s in await _all_subscribed(ev_ok, 3)} == set(channels[:3])


async def _all_subscribed(ev: Any, n: int) -> list[Any]:
    await ev.wait("subscribed", n=n)
    return ev.of("subscribed")  # type: ignore[no-any-return]


async def test_client_channel_limit_106(server: Any, clients: Any) -> None:
    c, _ = clients(server, uid())
    await c.connect()
    for i in range(3):
        sub = c.new_subscription(f"chat:{uid()}-{i}")
        await sub.subscribe()
        await sub.ready()
    ev = SubEvents()
    sub = c.new_subscription(f"chat:{uid()}-4", events=ev)
    await sub.subscribe()
    ctx = await ev.wait("unsubscribed")
    assert (ctx.code, ctx.reason) == (106, "limit exceeded")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://good.example", True),
        ("https://app.trusted.example", True),
        ("HTTP://GOOD.EXAMPLE", True),
        ("http://evil.example", False),
        ("https://trusted.example.evil.com", False),
    ],
)
async def test_origin_check(server: Any, origin: str | None, allowed: bool) -> None:
    headers = {"Origin": origin} if origin else {}
    if allowed:
        ws = await RawWS.open(server.ws_url, headers=headers)
        try:
            assert "client" in await ws.connect(token(uid()))
        finally:
            await ws.close()
    else:
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await s.ws_connect(server.ws_url, headers=headers)
            assert e.value.status == 403


async def test_sdk_with_forbidden_origin_never_connects(server: Any, clients: Any) -> None:
    c, ev = clients(server, uid(), headers={"Origin": "http://evil.example"})
    await c.connect()
    err = await ev.wait("error")
    assert "403" in str(err.error)
    assert c.state == ClientState.CONNECTING and ev.of("connected") == []
